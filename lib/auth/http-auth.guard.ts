import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Authenticator } from './authenticator.js';
import type { RealtimeUser } from '../interfaces/realtime-user.interface.js';

/**
 * An HTTP guard that accepts the same tokens as the WebSocket endpoint (`Authorization: Bearer
 * <jwt>`, validated by the module's `TokenValidator` and `UserProvider`) and sets `request.user`.
 * For REST routes that act on the real-time side, e.g. `POST /rooms/:id/messages`.
 */
@Injectable()
export class RealtimeHttpAuthGuard implements CanActivate {
  constructor(private readonly authenticator: Authenticator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown>; user?: RealtimeUser }>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new UnauthorizedException('a Bearer token is required');
    try {
      request.user = (await this.authenticator.authenticate(match[1])).user;
    } catch {
      throw new UnauthorizedException('invalid token');
    }
    return true;
  }
}
