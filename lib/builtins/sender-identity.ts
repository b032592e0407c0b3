import type { RealtimeConnection } from '../connections/realtime-connection.js';

/**
 * Who sent a message, as written into outgoing frames: always the connection's authenticated
 * user, never fields of the message. An anonymous connection (auth not required) is named by its
 * connection id.
 */
export function senderOf(connection: RealtimeConnection): { id: string; username: string } {
  const user = connection.isAuthenticated() ? connection.user : undefined;
  return user ? { id: user.id, username: user.username } : { id: connection.id, username: 'anonymous' };
}
