import { describe, expect, it } from '@jest/globals';
import { constants, inflateRawSync } from 'node:zlib';

/** Inflates as a permessage-deflate receiver does: the tail appended, no final block expected. */
const inflate = (data: Buffer): Buffer => inflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
import { deflateMessage } from '../../../lib/utils/raw-deflate.js';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

describe('deflateMessage (RFC 7692 §7.2.1)', () => {
  const message = Buffer.from(JSON.stringify({ type: 'chat_message', data: { content: 'hello there '.repeat(200) } }));

  it('ends without the sync-flush tail, which the receiver appends before inflating', () => {
    const deflated = deflateMessage(message, 6);
    expect(deflated.subarray(-4).equals(TAIL)).toBe(false);
    expect(deflated.length).toBeLessThan(message.length / 5);
    expect(inflate(Buffer.concat([deflated, TAIL])).equals(message)).toBe(true);
  });

  it('compresses each message on its own (no context takeover): the same bytes every time', () => {
    const first = deflateMessage(message, 6);
    expect(deflateMessage(Buffer.from('something else entirely'), 6).length).toBeGreaterThan(0);
    expect(deflateMessage(message, 6).equals(first)).toBe(true);
  });

  it('takes the level: 9 is never larger than 1', () => {
    expect(deflateMessage(message, 9).length).toBeLessThanOrEqual(deflateMessage(message, 1).length);
  });

  it('handles an empty message', () => {
    expect(inflate(Buffer.concat([deflateMessage(Buffer.alloc(0), 6), TAIL])).length).toBe(0);
  });
});
