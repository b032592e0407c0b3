import { describe, expect, it } from '@jest/globals';
import { NodeShares } from '../../../lib/redis/node-shares.js';

describe('NodeShares (what a node writes back to Redis after an outage)', () => {
  it('keeps connections per room, and forgets a room at zero', () => {
    const shares = new NodeShares();
    shares.roomChanged('lobby', 1);
    shares.roomChanged('lobby', 1);
    shares.roomChanged('news', 1);
    shares.roomChanged('news', -1);
    expect(shares.roomCounts()).toEqual({ lobby: '2' });
  });

  it('keeps each user’s share of a room’s presence, with the latest name, and forgets it at zero', () => {
    const shares = new NodeShares();
    shares.presenceChanged('lobby', 'u1', 'ann', 1);
    shares.presenceChanged('lobby', 'u1', 'Ann', 1);
    shares.presenceChanged('lobby', 'u2', 'bob', 1);
    shares.presenceChanged('lobby', 'u2', 'bob', -1);
    expect(shares.presenceFields()).toEqual([NodeShares.field('lobby', 'u1')]);
    expect(shares.presenceShare(NodeShares.field('lobby', 'u1'))).toEqual({
      roomId: 'lobby',
      userId: 'u1',
      username: 'Ann',
      count: 2,
    });
  });

  it('reads back a field whose room id holds the characters a room id may have', () => {
    const field = NodeShares.field('org:42/team#dev', 'u\u00001');
    expect(NodeShares.parseField(field)).toEqual({ roomId: 'org:42/team#dev', userId: 'u\u00001' });
  });
});
