// Every metadata key the module's decorators write, in one place: the decorators (which record)
// and the explorers, accessor and guards (which read) import them from here, so neither side
// imports the other.

/** Metadata key written by `@OnMessage` on a method. */
export const ON_MESSAGE_METADATA = 'nest-realtime:on_message';

/** Metadata key written by `@MessageDoc` on a method (read by the AsyncAPI document builder). */
export const MESSAGE_DOC_METADATA = 'nest-realtime:message_doc';

/** Metadata key written by `@OnRealtimeEvent` on a method. */
export const ON_REALTIME_EVENT_METADATA = 'nest-realtime:on_event';

/** Metadata key written by `@Public()` on a method or class. */
export const IS_PUBLIC_METADATA = 'nest-realtime:public';

/** Metadata key written by `@RequireRoles()` on a method or class (read by `RealtimeRolesGuard`). */
export const REQUIRED_ROLES_METADATA = 'nest-realtime:roles';

/**
 * Metadata key marking a class of the module's own message handlers (`@BuiltinHandlers()`): its
 * handlers yield to an application handler of the same type and always run in order.
 */
export const BUILTIN_HANDLERS_METADATA = 'nest-realtime:builtin';

/** Injection token of the resolved (defaults applied, validated) options. */
export const RESOLVED_REALTIME_OPTIONS = Symbol('RESOLVED_REALTIME_OPTIONS');

/** Context type of every message handler's `ExecutionContext` (`context.getType() === 'ws'`). */
export const REALTIME_CONTEXT_TYPE = 'ws';
