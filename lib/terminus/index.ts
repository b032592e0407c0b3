/**
 * `nest-realtime/terminus`: health indicators for `@nestjs/terminus` (an optional peer
 * dependency, needed only here; the main entry never loads it).
 */
export {
  RealtimeHealthIndicator,
  type CapacityCheckOptions,
  type EventLoopCheckOptions,
  type RedisCheckOptions,
} from './realtime-health.indicator.js';
