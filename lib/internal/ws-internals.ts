/**
 * Every use of `ws`'s undocumented internals, in one place: pre-framing, which frames a
 * broadcast once and writes the same buffer to every recipient instead of letting `ws` build a
 * header (and an options object) per recipient.
 *
 * What it relies on, all stable through ws 8 but not public API (package.json pins `ws` to a
 * tilde range that `test/unit/internal/ws-internals.spec.ts` covers):
 * - `Sender` (exported by `ws`, absent from its typings) and its static `Sender.frame()`;
 * - a socket's `_sender` and the sender's `sendFrame()`, which writes a framed buffer as is;
 * - the sender's `_state`: 0 while idle; non-zero while it compresses or reads a Blob, when a
 *   frame written around it would overtake the queued ones;
 * - a socket's `_socket`, the TCP socket under it, whose 'drain' paces a replay (ws emits no
 *   event when `bufferedAmount` falls) and which the write batch corks for a turn
 *   (connections/write-batch.ts), and the fact that `bufferedAmount` counts that socket's
 *   `writableLength` (so bytes held by the batch count for the slow-consumer checks).
 *
 * If any of it changes, the start-up self-check (or the first socket that does not fit) turns
 * pre-framing off and logs once: every frame then goes through `WebSocket#send()`, which is
 * correct, only slower on large fan-outs.
 */
import { Logger } from '@nestjs/common';
import * as ws from 'ws';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

interface SenderInternals {
  _state?: unknown;
  sendFrame?(list: Buffer[], cb?: () => void): void;
}

interface SenderClass {
  new (socket: object): SenderInternals;
  frame?(data: Buffer, options: object): Buffer[];
  prototype: SenderInternals;
}

/** `ws`'s `Sender` state while nothing is queued (`DEFAULT` in lib/sender.js). */
const SENDER_IDLE = 0;
/** `WebSocket.OPEN`. */
const OPEN = 1;
/** An unmasked, uncompressed, final text frame. */
const TEXT_FRAME_OPTIONS = Object.freeze({ fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false });
const SELF_CHECK_PAYLOAD = Buffer.from('{"type":"self-check"}');

const logger = new Logger('RealtimeServer');
const Sender = (ws as unknown as { Sender?: SenderClass }).Sender;

/**
 * Checks, once, the shape pre-framing relies on: `Sender.frame()` yields a valid unmasked text
 * frame header (FIN + text opcode, 7-bit length) followed by the payload; a new `Sender` is idle
 * with state 0 and its `sendFrame()` writes the given buffer unchanged to its socket; a
 * `WebSocket` has a `_sender` field. Returns what is wrong, or `undefined`.
 */
export function checkWsInternals(): string | undefined {
  if (typeof Sender !== 'function') return 'ws no longer exports Sender';
  if (typeof Sender.frame !== 'function') return 'Sender.frame() is missing';
  if (typeof Sender.prototype.sendFrame !== 'function') return 'Sender#sendFrame() is missing';
  const list = Sender.frame(SELF_CHECK_PAYLOAD, TEXT_FRAME_OPTIONS);
  const wire = Array.isArray(list) && list.every((part) => Buffer.isBuffer(part)) ? Buffer.concat(list) : undefined;
  if (
    wire?.length !== SELF_CHECK_PAYLOAD.length + 2 ||
    wire[0] !== 0x81 ||
    wire[1] !== SELF_CHECK_PAYLOAD.length ||
    !wire.subarray(2).equals(SELF_CHECK_PAYLOAD)
  ) {
    return 'Sender.frame() no longer returns [header, payload] of an unmasked text frame';
  }
  const written: Buffer[] = [];
  const socket = { cork() {}, uncork() {}, write: (chunk: Buffer) => written.push(chunk) };
  const sender = new Sender(socket);
  if (sender._state !== SENDER_IDLE) return 'a new Sender is not in state 0';
  sender.sendFrame!([wire]);
  if (written.length !== 1 || written[0] !== wire) return 'Sender#sendFrame() does not write the frame as is';
  // A server-side WebSocket before its upgrade completes, built the way WebSocketServer does.
  const unattached = new (
    ws.WebSocket as unknown as new (address: null, protocols: undefined, options: object) => object
  )(null, undefined, {});
  if (!Object.hasOwn(unattached, '_sender')) return 'WebSocket has no _sender field';
  return undefined;
}

let preframing: boolean | undefined;

function disable(reason: string): void {
  preframing = false;
  logger.warn(`ws internals changed (${reason}): broadcasts are framed per recipient by WebSocket#send()`);
}

/** Whether pre-framing is on: the self-check runs at the first call and may turn it off. */
export function preframingEnabled(): boolean {
  if (preframing === undefined) {
    const problem = checkWsInternals();
    preframing = true;
    if (problem !== undefined) disable(problem);
  }
  return preframing;
}

/** The complete text frame of `payload` (header and payload), as `[header, payload]` or `[frame]`. */
export function frameText(payload: Buffer): Buffer[] {
  return Sender!.frame!(payload, TEXT_FRAME_OPTIONS);
}

/**
 * Writes a complete frame (from {@link frameText}) to an open socket if its sender is idle and
 * returns true; returns false when the caller must use `socket.send()` instead: the sender is
 * busy (frames must keep their order), or the socket does not have the expected shape, which
 * turns pre-framing off for good.
 */
export function writeWholeFrame(socket: WebSocket, wire: Buffer): boolean {
  const sender = (socket as unknown as { _sender?: SenderInternals | null })._sender;
  if (sender?._state === SENDER_IDLE) {
    sender.sendFrame!([wire]);
    return true;
  }
  // Only an open socket says something about the shape: before the upgrade completes `_sender` is null.
  if (
    preframing &&
    socket.readyState === OPEN &&
    (typeof sender?._state !== 'number' || typeof sender.sendFrame !== 'function')
  ) {
    disable('an open socket has no _sender with a numeric _state and sendFrame()');
  }
  return false;
}

/**
 * The TCP socket under a WebSocket, or `undefined` (then a caller waiting for it to drain treats
 * the socket as drained: a replay is then paced by `writeTimeout` alone, never stuck; and the
 * connection's writes are not batched).
 */
export function underlyingSocket(socket: WebSocket): Duplex | undefined {
  const raw = (socket as unknown as { _socket?: Duplex | null })._socket;
  return typeof raw?.on === 'function' ? raw : undefined;
}
