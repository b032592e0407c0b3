/** Metadata key written by `@OnMessage` on a method. */
export const ON_MESSAGE_METADATA = 'nest-realtime:on_message';

/** Injection token of the resolved (defaults applied, validated) options. */
export const RESOLVED_REALTIME_OPTIONS = Symbol('RESOLVED_REALTIME_OPTIONS');

/** Context type of every message handler's `ExecutionContext` (`context.getType() === 'ws'`). */
export const REALTIME_CONTEXT_TYPE = 'ws';
