import type { RealtimeConnection } from '../connections/realtime-connection.js';

/**
 * What the `auth` handler needs when a connection re-authenticates as another user: each room it
 * is in asks its join policy again for the new identity, and presence moves to it. The rooms
 * layer provides it (`RoomManager`, bound with `useExisting` in realtime.providers.ts), so auth/
 * does not import rooms/.
 *
 * A port rather than an `EventPublisher` event on purpose: the recheck is asynchronous (join
 * guards may be) and must finish before `auth_success` is sent and before the connection's next
 * message is handled (PROTOCOL.md's per-connection order); the events are synchronous
 * notifications that nobody awaits.
 */
export abstract class MembershipRecheck {
  abstract recheckMemberships(connection: RealtimeConnection, previousUserId: string | undefined): Promise<void>;
}
