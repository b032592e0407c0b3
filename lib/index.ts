export { RealtimeModule } from './realtime.module.js';
export { REALTIME_MODULE_OPTIONS } from './realtime.module-definition.js';
export { RESOLVED_REALTIME_OPTIONS } from './realtime.constants.js';
export type {
  OriginPredicate,
  RealtimeModuleOptions,
  ResolvedRealtimeOptions,
} from './interfaces/realtime-options.interface.js';
export { InvalidRealtimeOptionError, resolveRealtimeOptions, DEFAULT_OPTIONS } from './options/resolve-options.js';
export { OnMessage, type OnMessageOptions } from './decorators/on-message.decorator.js';
export { Connection, Message, MessageData } from './decorators/param.decorators.js';
export { Reply } from './dispatch/reply.js';
export { ConnectionManager } from './connections/connection.manager.js';
export { RealtimeConnection } from './connections/realtime-connection.js';
export { RealtimeStats, type UpgradeRejection } from './connections/realtime-stats.js';
export { MessageHandlerRegistry } from './discovery/message-handler.registry.js';
export {
  RealtimeBadRequestException,
  RealtimeException,
  RealtimeForbiddenException,
} from './errors/realtime.exception.js';
export * from './protocol/index.js';
