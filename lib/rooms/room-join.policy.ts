import { Injectable } from '@nestjs/common';
import type { RealtimeUser } from '../interfaces/realtime-user.interface.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';

/**
 * Decides who may join which room. Replace the default (everyone may join) with
 * `RealtimeModule.forRoot({ joinPolicy: MyPolicy })`; refused joins get `FORBIDDEN`. The policy
 * runs as the first guard of the join pipeline (see `joinGuards`), also when a re-authenticated
 * connection's rooms are re-checked.
 */
export abstract class RoomJoinPolicy {
  abstract canJoin(
    user: RealtimeUser | undefined,
    roomId: string,
    connection: RealtimeConnection,
  ): boolean | Promise<boolean>;
}

/** The default {@link RoomJoinPolicy}: every connection may join every room. */
@Injectable()
export class AllowAllJoinPolicy extends RoomJoinPolicy {
  canJoin(): boolean {
    return true;
  }
}
