import type { Envelope } from '../protocol/envelope.js';
import { ErrorFrameType } from '../protocol/error-codes.js';
import { ConnectionLostError, RealtimeRequestError, RequestTimeoutError } from './client-errors.js';
import { isRecord } from './parse-frame.js';
import { PatientTimer } from './patient-timer.js';

const ERROR_FRAME_TYPES: ReadonlySet<string> = new Set(Object.values(ErrorFrameType));

/**
 * Frames a request causes on its way to its reply: they carry the request's id (PROTOCOL.md) but
 * do not answer it — `resume` sends `resume_failed`, `room_left` (a refused room) and
 * `room_joined` (a re-join) before `resumed`.
 */
const ON_THE_WAY: Readonly<Record<string, ReadonlySet<string>>> = {
  resume: new Set(['resume_failed', 'room_left', 'room_joined']),
};

/**
 * Built-in types that always get a reply or an error carrying their id, and are never handled
 * concurrently (PROTOCOL.md, "Ordering"): while one sent before a `chat` is unanswered, the
 * server has not handled that `chat` yet. An app's own types may be concurrent and
 * `private_message` has no reply, so neither tells where the server is.
 */
const ANSWERED_IN_ORDER: ReadonlySet<string> = new Set([
  'auth',
  'echo',
  'ping',
  'join_room',
  'leave_room',
  'presence',
  'resume',
]);

/** What a `chat` request said, to recognise the sender's own copy of its broadcast. */
export interface ChatRequestData {
  room_id: string;
  content: string;
}

/** A request to write again on the next connection when the one it was written to is lost. */
export interface ResentRequest {
  id: string;
  type: string;
  text: string;
}

interface PendingRequest {
  id: string;
  type: string;
  resolve: (reply: Envelope) => void;
  reject: (error: Error) => void;
  /** The request's timeout: patient, so a reply left unread by a stall is not timed out. */
  timer: PatientTimer;
  /** True once written to a socket; false while it waits in the offline queue. */
  onTheWire: boolean;
  /** For a `chat`: what its echo looks like. */
  chat: ChatRequestData | undefined;
  /** For an idempotent request (`leave_room`): the frame, written again after a lost connection. */
  resend: string | undefined;
  /** The room a `leave_room` leaves. */
  leaves: string | undefined;
}

/** Extra knowledge about one request (see {@link RequestTracker.track}). */
export interface TrackOptions {
  chat?: ChatRequestData;
  /** An idempotent request: its frame, to write again on the next connection instead of failing. */
  resend?: string;
  /** The room a `leave_room` leaves: not restored on the next connection while the leave waits. */
  leaves?: string;
}

/**
 * Requests waiting for their reply: one entry per id, each with its own timeout, removed on
 * every outcome (reply, error frame, timeout, lost connection, client closed). A timeout that
 * fires late after a stall first lets the frames that arrived meanwhile be read
 * ({@link PatientTimer}): an `auth`, `resume` or `join_room` answered during a stall of the
 * client's own does not fail the handshake.
 *
 * It also answers a `chat`, which has no reply of its own: PROTOCOL.md says the server handles a
 * connection's messages one at a time, a message's broadcasts and replies before the next
 * message, and only an error repeats a chat's `id` — the sender's own copy of the broadcast is
 * not a reply. So, in the order requests went on the wire, a `chat` is accepted
 * - when the sender's copy arrives (same room, content and user) while that `chat` is the oldest
 *   request on the wire that the server answers in order (every earlier one is answered), or
 * - when a request written after it, of a type answered in order, is answered: the server is past
 *   the `chat`, and an error for it would have come first.
 */
export class RequestTracker {
  private readonly pending = new Map<string, PendingRequest>();
  /** Requests on the wire whose types are answered in order, oldest first (`chat` included). */
  private readonly inOrder: PendingRequest[] = [];
  private counter = 0;

  constructor(
    /** Told when a request times out, so a copy still in the offline queue is dropped. */
    private readonly onTimeout: (id: string) => void,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** A new id, unique for this client. */
  nextId(): string {
    return `r${++this.counter}`;
  }

  /** Registers request `id`; the promise settles with its reply or an error. */
  track(id: string, type: string, timeoutMs: number, options: TrackOptions = {}): Promise<Envelope> {
    return new Promise<Envelope>((resolve, reject) => {
      const timer = new PatientTimer(() => {
        this.remove(id);
        this.onTimeout(id);
        reject(new RequestTimeoutError(type, timeoutMs));
      });
      timer.start(timeoutMs);
      this.pending.set(id, {
        id,
        type,
        resolve,
        reject,
        timer,
        onTheWire: false,
        chat: options.chat,
        resend: options.resend,
        leaves: options.leaves,
      });
    });
  }

  /** Rejects request `id` at once (it could not even be queued). */
  fail(id: string, error: Error): void {
    const request = this.remove(id);
    if (request) request.reject(error);
  }

  /** Request `id` was written to the socket: call in the order of the writes. */
  markSent(id: string): void {
    const request = this.pending.get(id);
    if (!request || request.onTheWire) return;
    request.onTheWire = true;
    if (request.chat || ANSWERED_IN_ORDER.has(request.type)) this.inOrder.push(request);
  }

  /**
   * Settles the request a frame answers, if any: resolved by a reply, rejected by an error
   * frame; a `chat_message` may be the sender's copy of a pending `chat` (see the class).
   * `userId` is who this connection is authenticated as, when known. Returns true when the
   * frame was such an answer.
   */
  settle(frame: Envelope, userId?: string): boolean {
    const id = frame.id;
    if (typeof id !== 'string') return frame.type === 'chat_message' && this.settleEcho(frame, userId);
    const request = this.pending.get(id);
    if (!request || ON_THE_WAY[request.type]?.has(frame.type)) return false;
    this.acceptChatsBefore(request);
    this.remove(id);
    if (ERROR_FRAME_TYPES.has(frame.type)) {
      const data = (frame.data ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
      request.reject(
        new RealtimeRequestError(
          typeof data.code === 'string' ? data.code : 'UNKNOWN',
          typeof data.message === 'string' ? data.message : `${frame.type} in reply to "${request.type}"`,
          frame.type,
          data.details,
        ),
      );
    } else {
      request.resolve(frame);
    }
    return true;
  }

  /**
   * The socket closed: requests written to it will never be answered on it. Idempotent ones
   * (see {@link TrackOptions.resend}) wait for the next connection and are returned, oldest
   * first, to be written again ahead of the offline queue; the others are rejected with
   * {@link ConnectionLostError} (they may or may not have been handled).
   */
  rejectOnTheWire(): ResentRequest[] {
    this.inOrder.length = 0;
    const resent: ResentRequest[] = [];
    for (const [id, request] of this.pending) {
      if (!request.onTheWire) continue;
      if (request.resend !== undefined) {
        request.onTheWire = false;
        resent.push({ id, type: request.type, text: request.resend });
        continue;
      }
      this.remove(id);
      request.reject(new ConnectionLostError(request.type));
    }
    return resent;
  }

  /** Rooms that pending `leave_room` requests leave. */
  roomsBeingLeft(): string[] {
    const rooms: string[] = [];
    for (const request of this.pending.values()) if (request.leaves !== undefined) rooms.push(request.leaves);
    return rooms;
  }

  /** Rejects every pending request with `error(type)` (the client is closing for good). */
  rejectAll(error: (type: string) => Error): void {
    const requests = [...this.pending.values()];
    this.pending.clear();
    this.inOrder.length = 0;
    for (const request of requests) {
      request.timer.cancel();
      request.reject(error(request.type));
    }
  }

  private settleEcho(frame: Envelope, userId: string | undefined): boolean {
    const head = this.inOrder[0];
    const data = frame.data;
    if (head?.chat === undefined || !isRecord(data)) return false;
    if (data.room_id !== head.chat.room_id || data.content !== head.chat.content) return false;
    // Another connection of the same user may say the same thing in the same room; its copy can
    // only be taken for this one when it comes between this chat's turn and its own copy.
    if (userId !== undefined && data.user_id !== userId) return false;
    this.remove(head.id);
    head.resolve(frame);
    return true;
  }

  /** `answered` was written after the chats ahead of it in {@link inOrder}: they were accepted. */
  private acceptChatsBefore(answered: PendingRequest): void {
    if (!this.inOrder.includes(answered)) return;
    while (this.inOrder.length > 0 && this.inOrder[0] !== answered) {
      const request = this.inOrder[0];
      if (request.chat === undefined) {
        // An earlier request answered in order, still unanswered: only a server breaking the
        // Ordering contract gets here; leave it (and the chats behind it) alone.
        return;
      }
      this.remove(request.id);
      request.resolve({ type: 'chat', id: request.id });
    }
  }

  private remove(id: string): PendingRequest | undefined {
    const request = this.pending.get(id);
    if (!request) return undefined;
    this.pending.delete(id);
    request.timer.cancel();
    const index = this.inOrder.indexOf(request);
    if (index !== -1) this.inOrder.splice(index, 1);
    return request;
  }
}
