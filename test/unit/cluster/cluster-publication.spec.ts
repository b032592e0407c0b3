import { describe, expect, it } from '@jest/globals';
import { parsePublication, roomHeader } from '../../../lib/cluster/cluster-publication.js';

/**
 * `parsePublication` as nodes released before traces have it (lib/cluster/cluster-publication.ts
 * at commit 1b0517e), verbatim: during a rolling upgrade, old nodes read what new nodes publish.
 */
function parsePublicationBeforeTraces(message: string) {
  const SEPARATOR = '\n';
  const parts = message.split(SEPARATOR);
  const kind = message[0];
  if (kind === 'R' || kind === 'P') {
    return { kind, origin: parts[1], except: parts[2] || undefined, frame: parts.slice(3).join(SEPARATOR) };
  }
  return { kind, origin: parts[1], except: undefined, frame: parts.slice(2).join(SEPARATOR) };
}

const FRAME = '{"type":"chat_message","room":"lobby","seq":4,"epoch":"e1","data":{"content":"a\\nb"}}';
const TRACE = JSON.stringify({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });

describe('cluster publication format: the trace context of a room frame', () => {
  it('writes nothing for an untraced frame: the header is byte for byte the one without traces', () => {
    expect(roomHeader('R', 'node-a', 'conn-1')).toBe('R\nnode-a\nconn-1\n');
    expect(roomHeader('R', 'node-a', undefined, undefined)).toBe('R\nnode-a\n\n');
  });

  it('puts the context right after the kind letter, and reads it back with the other fields intact', () => {
    const message = roomHeader('R', 'node-a', 'conn-1', TRACE) + FRAME;
    expect(message.startsWith(`R${TRACE}\nnode-a\nconn-1\n`)).toBe(true);
    expect(parsePublication(message)).toEqual({
      kind: 'R',
      origin: 'node-a',
      except: 'conn-1',
      trace: TRACE,
      frame: FRAME,
    });
    expect(parsePublication(roomHeader('R', 'node-a', undefined) + FRAME).trace).toBeUndefined();
  });

  it('is read by a node of the previous version as the same frame, the context ignored (rolling upgrade)', () => {
    for (const except of ['conn-1', undefined]) {
      const traced = roomHeader('R', 'node-a', except, TRACE) + FRAME;
      const untraced = roomHeader('R', 'node-a', except) + FRAME;
      expect(parsePublicationBeforeTraces(traced)).toEqual(parsePublicationBeforeTraces(untraced));
      expect(parsePublicationBeforeTraces(traced)).toEqual({ kind: 'R', origin: 'node-a', except, frame: FRAME });
    }
  });

  it('reads what a node of the previous version publishes: no context', () => {
    const old = 'R\nnode-old\n\n' + FRAME;
    expect(parsePublication(old)).toEqual({
      kind: 'R',
      origin: 'node-old',
      except: undefined,
      trace: undefined,
      frame: FRAME,
    });
    expect(parsePublication('U\nnode-old\n{"type":"dm"}').trace).toBeUndefined();
  });
});
