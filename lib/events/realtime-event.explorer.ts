import { Injectable, Logger } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { scanMethods } from '../utils/scan-methods.js';
import { Messages } from '../realtime.messages.js';
import { EventPublisher } from './event.publisher.js';
import { ON_REALTIME_EVENT_METADATA } from '../realtime.constants.js';
import type { RealtimeEventName } from './realtime-event.types.js';

/** Finds `@OnRealtimeEvent` methods at bootstrap and registers them with the {@link EventPublisher}. */
@Injectable()
export class RealtimeEventExplorer {
  private readonly logger = new Logger('RealtimeModule');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly publisher: EventPublisher,
  ) {}

  explore(): void {
    this.publisher.clearListeners();
    let count = 0;
    scanMethods(this.discovery, this.scanner, ({ wrapper, instance, method, label }) => {
      const events = this.reflector.get<RealtimeEventName[] | undefined>(ON_REALTIME_EVENT_METADATA, method);
      if (!events?.length) return;
      if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient)
        throw new Error(Messages.requestScopedHandler(label));
      for (const event of events) {
        this.publisher.addListener(event, (payload) => method.call(instance, payload));
        count++;
      }
    });
    this.logger.debug(`Discovered ${count} realtime event listener(s)`);
  }
}
