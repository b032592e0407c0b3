import { describe, expect, it } from '@jest/globals';
import { ConnectionManager, RoomManager } from '../../lib/index.js';
import { GatedMembers, ResumableRooms } from '../../lib/history/history-rooms.js';
import { RoomHistoryService } from '../../lib/history/room-history.service.js';
import { RoomPresence } from '../../lib/presence/room-presence.js';
import { RoomBroadcaster } from '../../lib/rooms/room-broadcaster.js';
import { RoomGates } from '../../lib/rooms/room-gates.js';
import { RoomRegistry } from '../../lib/rooms/room-registry.js';
import { useCleanup } from '../support/cleanup.js';
import { createTestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

/*
 * The rooms layer's helpers are Nest providers, and history reaches the rooms through the two
 * tokens it declares. Each must be the one instance the rest of the module uses: a second
 * RoomManager or RoomGates (a `useClass` where `useExisting` belongs) would keep rooms of its own,
 * and a resume or a gated join would then look at rooms nobody is in.
 */
describe('rooms and history providers (e2e)', () => {
  const cleanup = useCleanup();

  it('binds history’s tokens to the rooms layer’s own instances, which share one registry', async () => {
    const t = cleanup.track(await createTestApp({ auth: { secret: TEST_SECRET }, rateLimit: false }));
    const { app } = t;
    expect(app.get(ResumableRooms)).toBe(app.get(RoomManager));
    expect(app.get(GatedMembers)).toBe(app.get(RoomGates));

    const client = cleanup.track(await TestClient.connect(`${t.url}?token=${hsToken({ user_id: 'ann' })}`));
    await client.next('auth_success');
    const joined = await client.request({ type: 'join_room', id: 'j1', data: { room_id: 'lobby' } });
    expect(joined).toMatchObject({ type: 'room_joined', data: { room_id: 'lobby', client_count: 1, seq: 0 } });

    // The member RoomManager added is the one history's view of the rooms and the broadcaster see.
    expect(app.get(RoomRegistry).get('lobby')?.size).toBe(1);
    expect(app.get(GatedMembers).clientCount('lobby')).toBe(1);
    expect(app.get(RoomPresence).state('lobby')).toEqual([{ user_id: 'ann', username: 'ann', connections: 1 }]);
    const sent = await app.get(RoomBroadcaster).broadcast('lobby', 'note', { n: 1 }, {});
    expect(sent).toMatchObject({ room_id: 'lobby', seq: 1, delivered: 1 });
    expect(await client.next('note')).toMatchObject({ room: 'lobby', seq: 1, epoch: joined.data!.epoch });
    // Numbered by history's one sequencer, the one RoomManager exposes.
    expect(app.get(RoomManager).sequencer).toBe(app.get(RoomHistoryService).sequencer);
    expect(app.get(RoomHistoryService).sequencer.peek('lobby')?.seq).toBe(1);

    await client.close();
    await until(() => app.get(ConnectionManager).count === 0);
    expect(app.get(GatedMembers).clientCount('lobby')).toBe(0);
  });
});
