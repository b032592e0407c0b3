import { type Envelope, MAX_ID_LENGTH } from './envelope.js';
import { exceedsJsonDepth } from './json-depth.js';

/** A valid envelope `type` (PROTOCOL.md): 1..64 characters of `[A-Za-z0-9_.:-]`. */
export const MESSAGE_TYPE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Thrown by {@link decodeEnvelope}; its message is safe to send back to the client. */
export class MalformedMessageError extends Error {
  constructor(
    message: string,
    /** The request id, when it could be read before the message was found malformed. */
    readonly requestId?: string | number,
  ) {
    super(message);
    this.name = 'MalformedMessageError';
  }
}

/** True for a valid envelope `type`: 1..64 characters of `[A-Za-z0-9_.:-]`. */
export function isValidMessageType(type: unknown): type is string {
  return typeof type === 'string' && MESSAGE_TYPE_PATTERN.test(type);
}

function isValidRequestId(id: unknown): id is string | number {
  return typeof id === 'string' ? id.length <= MAX_ID_LENGTH : Number.isSafeInteger(id);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses one text frame into an envelope and checks its shape (PROTOCOL.md, "Envelope").
 * Throws {@link MalformedMessageError} for anything that is not a valid envelope, or that nests
 * objects/arrays deeper than `maxDepth` (the envelope itself is depth 1); the caller answers
 * `BAD_MESSAGE`. The parsed object is returned as-is (no copy) to keep the hot path
 * allocation-free beyond `JSON.parse` itself.
 */
export function decodeEnvelope(text: string, maxDepth = Number.POSITIVE_INFINITY): Envelope {
  if (exceedsJsonDepth(text, maxDepth)) {
    throw new MalformedMessageError(`message nests deeper than ${maxDepth} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MalformedMessageError('message is not valid JSON');
  }
  if (!isPlainObject(parsed)) {
    throw new MalformedMessageError('message must be a JSON object');
  }
  const id = parsed.id;
  if (id !== undefined && !isValidRequestId(id)) {
    throw new MalformedMessageError(`"id" must be a string of at most ${MAX_ID_LENGTH} characters or an integer`);
  }
  if (!isValidMessageType(parsed.type)) {
    throw new MalformedMessageError('"type" must be 1..64 characters of [A-Za-z0-9_.:-]', id);
  }
  if (parsed.room !== undefined && typeof parsed.room !== 'string') {
    throw new MalformedMessageError('"room" must be a string', id);
  }
  if (parsed.to !== undefined && typeof parsed.to !== 'string') {
    throw new MalformedMessageError('"to" must be a string', id);
  }
  if (parsed.metadata !== undefined && !isPlainObject(parsed.metadata)) {
    throw new MalformedMessageError('"metadata" must be an object', id);
  }
  return parsed as unknown as Envelope;
}

/** Serializes an outgoing envelope into the text of one frame. */
export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}
