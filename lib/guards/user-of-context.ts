import type { ExecutionContext } from '@nestjs/common';
import type { RealtimeUser } from '../interfaces/realtime-user.interface.js';
import { RealtimeConnection } from '../connections/realtime-connection.js';

/**
 * The authenticated user behind any execution context our guards see: a message (the client is
 * a {@link RealtimeConnection}), a handshake or an HTTP request (`request.user`).
 */
export function userOfContext(context: ExecutionContext): RealtimeUser | undefined {
  const first: unknown = context.getArgByIndex(0);
  if (first instanceof RealtimeConnection) return first.isAuthenticated() ? first.user : undefined;
  return (first as { user?: RealtimeUser } | undefined)?.user;
}

/** True when the context is a WebSocket one (a message or a handshake). */
export function isRealtimeContext(context: ExecutionContext): boolean {
  return context.getType() === 'ws';
}
