import { describe, expect, it } from '@jest/globals';
import { NodeShares } from '../../../lib/cluster/redis/node-shares.js';

describe('NodeShares (what a node writes back to Redis after an outage)', () => {
  it('keeps connections per room, and forgets a room at zero', () => {
    const shares = new NodeShares();
    shares.roomChanged('lobby', 1);
    shares.roomChanged('lobby', 1);
    shares.roomChanged('news', 1);
    shares.roomChanged('news', -1);
    expect(shares.roomCounts()).toEqual({ lobby: '2' });
  });
});
