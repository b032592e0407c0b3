import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { OnMessageMetadata } from '../decorators/on-message.decorator.js';
import { ON_MESSAGE_METADATA } from '../realtime.constants.js';

/** Typed reads of the metadata our decorators record. */
@Injectable()
export class RealtimeMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getMessageHandlers(method: (...args: unknown[]) => unknown): readonly OnMessageMetadata[] | undefined {
    return this.reflector.get<OnMessageMetadata[] | undefined>(ON_MESSAGE_METADATA, method);
  }
}
