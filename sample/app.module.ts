import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { RealtimeModule } from '../lib/index.js';
import { RedisClusterAdapter } from '../lib/redis/index.js';
import { HealthModule } from './health.module.js';
import { HTTP_HEADERS_TIMEOUT, HttpDeadlines } from './http-deadlines.js';
import { MetricsModule } from './metrics.module.js';
import { RoomsController } from './chat/rooms.controller.js';
import { RoomAccessModule } from './chat/room-access.module.js';
import { RoleRoomJoinPolicy } from './chat/role-room-join.policy.js';
import { ReactionHandlers } from './chat/reactions.handler.js';
import { ChatPageController } from './chat-page/chat-page.controller.js';
import { DEV_LOGIN_SECRET, DevLoginController } from './dev/dev-login.controller.js';
import { loadSampleConfig, randomDevelopmentSecret, type SampleConfig } from './sample.config.js';

/** The sample chat application: what a user of the module writes. */
@Module({})
export class AppModule {
  static register(config: SampleConfig = loadSampleConfig()): DynamicModule {
    // Also for a config built by hand rather than by loadSampleConfig().
    if (process.env.NODE_ENV === 'production' && (!config.jwtSecret || config.devLogin)) {
      throw new Error('NODE_ENV=production: the sample needs JWT_SECRET and no dev login');
    }
    if (!config.jwtSecret) {
      new Logger('Sample').warn(
        'JWT_SECRET is not set: using a random secret made for this process (tokens come only from its dev login). Set JWT_SECRET in production.',
      );
    }
    const secret = config.jwtSecret ?? randomDevelopmentSecret();
    const roomAccess = RoomAccessModule.register(config.adminRoomPrefixes);
    return {
      module: AppModule,
      imports: [
        roomAccess,
        MetricsModule.register(),
        HealthModule.register(config.eventLoopMaxDelayMs),
        // REST posts per user per minute (UserThrottlerGuard on the route); in memory, so per node.
        ThrottlerModule.forRoot({
          throttlers: [{ ttl: 60_000, limit: config.restRateLimit }],
          skipIf: () => config.restRateLimit === 0,
        }),
        RealtimeModule.forRoot({
          // The same RoomAccess rule as the REST posts; built inside the RealtimeModule, hence
          // the roomAccess module in its imports.
          joinPolicy: RoleRoomJoinPolicy,
          imports: [roomAccess],
          nodeId: config.nodeId,
          allowedOrigins: config.allowedOrigins,
          maxConnections: config.maxConnections,
          maxConnectionsPerAddress: config.maxConnectionsPerAddress,
          trustProxy: config.trustProxy,
          authTimeout: config.authTimeoutMs,
          drainDelay: config.drainDelayMs,
          drainSpread: config.drainSpreadMs,
          // A node whose loop runs this late is not ready (health.module.ts) and takes no new
          // connections: a herd of reconnects is spread instead of queued until clients give up.
          maxEventLoopDelay: config.eventLoopMaxDelayMs,
          // WS_COMPRESSION=on: permessage-deflate, a room broadcast deflated once for all its members.
          compression: config.compression,
          // HISTORY_SIZE / HISTORY_TTL_MS: what a client back from a dropped connection can resume.
          rooms: { historySize: config.historySize, historyTtl: config.historyTtlMs },
          auth: { secret },
          rateLimit: { messagesPerSecond: config.rateLimitPerSec, burst: config.rateLimitBurst },
          // REDIS_URL (or REDIS_CLUSTER_NODES) set on several processes makes them one cluster;
          // unset: one node.
          cluster: config.redisClusterNodes
            ? new RedisClusterAdapter({
                cluster: { nodes: config.redisClusterNodes },
                handOverGrace: config.handOverGraceMs,
              })
            : config.redisUrl
              ? new RedisClusterAdapter({ url: config.redisUrl, handOverGrace: config.handOverGraceMs })
              : undefined,
        }),
      ],
      controllers: [ChatPageController, RoomsController, ...(config.devLogin ? [DevLoginController] : [])],
      providers: [
        ReactionHandlers,
        { provide: HTTP_HEADERS_TIMEOUT, useValue: config.httpHeadersTimeoutMs },
        HttpDeadlines,
        ...(config.devLogin ? [{ provide: DEV_LOGIN_SECRET, useValue: secret }] : []),
      ],
    };
  }
}
