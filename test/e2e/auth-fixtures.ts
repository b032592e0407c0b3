import { type CanActivate, type ExecutionContext, Injectable, Module } from '@nestjs/common';
import {
  Connection,
  OnMessage,
  Public,
  RealtimeConnection,
  RequireRoles,
  type RealtimeUser,
  type TokenClaims,
  UserProvider,
  TokenValidator,
  type HandshakeRequest,
} from '../../lib/index.js';

@Injectable()
export class AuthFixtureHandlers {
  @OnMessage('open.door', { reply: 'door.opened' })
  @Public()
  openDoor(@Connection() connection: RealtimeConnection): object {
    return { anonymous: connection.user === undefined };
  }

  @OnMessage('me', { reply: 'me' })
  me(@Connection() connection: RealtimeConnection): object {
    return { id: connection.user!.id, username: connection.user!.username, roles: connection.user!.roles };
  }

  @OnMessage('moderate', { reply: 'moderated' })
  @RequireRoles('moderator', 'editor')
  moderate(): string {
    return 'ok';
  }
}

/** Every handler of this class needs role `billing`. */
@Injectable()
@RequireRoles('billing')
export class BillingHandlers {
  @OnMessage('invoice.list', { reply: 'invoices' })
  list(): string[] {
    return ['inv-1'];
  }
}

/** A "database-backed" provider: users come from a table, not from the token. */
@Injectable()
export class UsersTable {
  readonly rows = new Map<string, RealtimeUser>([['u-1', { id: 'u-1', username: 'Ada (db)', roles: ['editor'] }]]);
}

@Module({ providers: [UsersTable], exports: [UsersTable] })
export class UsersModule {}

@Injectable()
export class DbUserProvider extends UserProvider {
  constructor(private readonly table: UsersTable) {
    super();
  }

  findUser(userId: string, _claims: TokenClaims): RealtimeUser | undefined {
    return this.table.rows.get(userId);
  }
}

/** A validator that never answers, to exercise the handshake timeout. */
@Injectable()
export class HangingValidator extends TokenValidator {
  validate(): Promise<TokenClaims> {
    return new Promise(() => undefined);
  }
}

/** A connection guard that refuses upgrades whose query says `?deny=1`. */
@Injectable()
export class DenyQueryGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToWs().getClient<HandshakeRequest>();
    return !(request.url ?? '').includes('deny=1');
  }
}
