import { describe, expect, it } from '@jest/globals';
import type { WebSocket } from 'ws';
import { ConnectionManager } from '../../../lib/connections/connection.manager.js';
import { RealtimeConnection } from '../../../lib/connections/realtime-connection.js';

const connection = (id: string): RealtimeConnection =>
  new RealtimeConnection(id, `s-${id}`, { readyState: 1 } as WebSocket, '127.0.0.1', 0);

describe('ConnectionManager', () => {
  it('indexes connections by id and by user, through one, several and back to one connection', () => {
    const manager = new ConnectionManager();
    const [a, b, c] = [connection('a'), connection('b'), connection('c')];
    [a, b, c].forEach((x) => manager.add(x));
    manager.setUser(a, 'u');
    expect(manager.getByUser('u')).toEqual([a]);
    manager.setUser(b, 'u');
    manager.setUser(c, 'u');
    expect(manager.countByUser('u')).toBe(3);
    expect([...manager.getByUser('u')].map((x) => x.id).sort()).toEqual(['a', 'b', 'c']);
    manager.remove(b);
    manager.remove(a);
    expect(manager.getByUser('u')).toEqual([c]);
    expect(manager.countByUser('u')).toBe(1);
    manager.setUser(c, 'v');
    expect(manager.countByUser('u')).toBe(0);
    expect([...manager.userIds()]).toEqual(['v']);
    manager.remove(c);
    expect(manager.count).toBe(0);
    expect(manager.userCount).toBe(0);
  });

  it('is idempotent: removing twice or setting the same user twice changes nothing', () => {
    const manager = new ConnectionManager();
    const a = connection('a');
    manager.add(a);
    manager.setUser(a, 'u');
    manager.setUser(a, 'u');
    expect(manager.countByUser('u')).toBe(1);
    expect(manager.remove(a)).toBe(true);
    expect(manager.remove(a)).toBe(false);
    expect(manager.userCount).toBe(0);
  });

  it('binds a user to a connection that is not registered without indexing it', () => {
    const manager = new ConnectionManager();
    const a = connection('a');
    manager.setUser(a, 'u');
    expect(a.userId).toBe('u');
    expect(manager.countByUser('u')).toBe(0);
    manager.add(a);
    expect(manager.getByUser('u')).toEqual([a]);
  });

  it('creates a connection room set only on the first join and drops it when empty', () => {
    const a = connection('a');
    expect(a.rooms.size).toBe(0);
    a.addRoom('r1');
    a.addRoom('r2');
    expect([...a.rooms]).toEqual(['r1', 'r2']);
    expect(a.removeRoom('r1')).toBe(true);
    expect(a.removeRoom('r1')).toBe(false);
    a.removeRoom('r2');
    expect(a.rooms.size).toBe(0);
    expect(connection('b').rooms).toBe(a.rooms); // the shared empty set
  });
});
