import { type CanActivate, Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeException, RealtimeForbiddenException } from '../errors/realtime.exception.js';
import { instantiateGuard, realtimeContext, runGuard } from '../guards/guard-runner.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { RoomJoinPolicy } from './room-join.policy.js';

/** `getHandler()` of a join guard's context. */
function joinRoom(): void {}

/**
 * The guards every join goes through: the `RoomJoinPolicy` first, then `joinGuards`. Their
 * context is a `'ws'` one: `getClient()` is the connection (and its `user`), `getData()` is
 * `{ room_id }`, `getPattern()` is `'join_room'`.
 */
@Injectable()
export class JoinPipeline implements OnModuleInit {
  private readonly logger = new Logger('RealtimeRooms');
  private guards: CanActivate[] = [];

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly policy: RoomJoinPolicy,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    this.guards = await Promise.all(this.options.joinGuards.map((guard) => instantiateGuard(this.moduleRef, guard)));
  }

  /** Resolves when `connection` may join `roomId`; rejects with `FORBIDDEN` (or the guard's own error) otherwise. */
  async authorize(connection: RealtimeConnection, roomId: string): Promise<void> {
    if (!(await this.policy.canJoin(connection.isAuthenticated() ? connection.user : undefined, roomId, connection))) {
      throw new RealtimeForbiddenException(`not allowed to join room "${roomId}"`);
    }
    if (this.guards.length === 0) return;
    const data = { room_id: roomId };
    for (const guard of this.guards) {
      let allowed: boolean;
      try {
        allowed = await runGuard(
          guard,
          realtimeContext([connection, data, { type: 'join_room', data }, 'join_room'], JoinPipeline, joinRoom),
        );
      } catch (error) {
        if (error instanceof RealtimeException) throw error;
        this.logger.debug(`join guard refused ${roomId}: ${error instanceof Error ? error.message : String(error)}`);
        throw new RealtimeForbiddenException(`not allowed to join room "${roomId}"`);
      }
      if (!allowed) throw new RealtimeForbiddenException(`not allowed to join room "${roomId}"`);
    }
  }
}
