import { SetMetadata } from '@nestjs/common';
import { ON_REALTIME_EVENT_METADATA } from '../realtime.constants.js';
import { REALTIME_EVENT_NAMES, type RealtimeEventName } from './realtime-event.types.js';

/**
 * Calls the decorated method with the payload of every `event` (see `RealtimeEventMap`), on any
 * singleton provider. Listeners run synchronously after the fact they report; an exception in
 * one is logged and does not affect the connection or other listeners. Stackable.
 */
export function OnRealtimeEvent(event: RealtimeEventName): MethodDecorator {
  if (!REALTIME_EVENT_NAMES.includes(event)) {
    throw new TypeError(
      `@OnRealtimeEvent('${String(event)}'): unknown event; one of ${REALTIME_EVENT_NAMES.join(', ')}`,
    );
  }
  return (target, key, descriptor) => {
    const method = descriptor.value as object;
    const existing: RealtimeEventName[] = Reflect.getMetadata(ON_REALTIME_EVENT_METADATA, method) ?? [];
    return SetMetadata(ON_REALTIME_EVENT_METADATA, [...existing, event])(target, key, descriptor);
  };
}
OnRealtimeEvent.KEY = ON_REALTIME_EVENT_METADATA;
