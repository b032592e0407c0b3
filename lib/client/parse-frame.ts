import type { Envelope } from '../protocol/envelope.js';
import { MalformedFrameError } from './client-errors.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a frame from the server into an envelope, or says why it is not one. The server is
 * trusted to follow PROTOCOL.md, but a proxy, a bug or another server on the URL may not: the
 * client checks the one field it dispatches on and leaves the payload to typed readers.
 */
export function parseFrame(raw: unknown): Envelope | MalformedFrameError {
  if (typeof raw !== 'string') return new MalformedFrameError('not a text frame');
  let frame: unknown;
  try {
    frame = JSON.parse(raw);
  } catch {
    return new MalformedFrameError('not JSON');
  }
  if (!isRecord(frame) || typeof frame.type !== 'string') {
    return new MalformedFrameError('not an envelope with a "type"');
  }
  return frame as unknown as Envelope;
}

/** A room position read from `room_joined` / `resume_failed` data; fields of the wrong type are unknown. */
export function readPosition(data: Record<string, unknown>): { seq: number | undefined; epoch: string | undefined } {
  return {
    seq: Number.isSafeInteger(data.seq) ? (data.seq as number) : undefined,
    epoch: typeof data.epoch === 'string' ? data.epoch : undefined,
  };
}
