import type { Envelope } from '../protocol/envelope.js';
import { ErrorFrameType } from '../protocol/error-codes.js';
import { ConnectionLostError, RealtimeRequestError, RequestTimeoutError } from './client-errors.js';

const ERROR_FRAME_TYPES: ReadonlySet<string> = new Set(Object.values(ErrorFrameType));

/**
 * Frames a request causes on its way to its reply: they carry the request's id (PROTOCOL.md) but
 * do not answer it — `resume` sends `resume_failed`, `room_left` (a refused room) and
 * `room_joined` (a re-join) before `resumed`.
 */
const ON_THE_WAY: Readonly<Record<string, ReadonlySet<string>>> = {
  resume: new Set(['resume_failed', 'room_left', 'room_joined']),
};

interface PendingRequest {
  type: string;
  resolve: (reply: Envelope) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  /** True once written to a socket; false while it waits in the offline queue. */
  onTheWire: boolean;
}

/**
 * Requests waiting for their reply: one entry per id, each with its own timeout, removed on
 * every outcome (reply, error frame, timeout, lost connection, client closed).
 */
export class RequestTracker {
  private readonly pending = new Map<string, PendingRequest>();
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
  track(id: string, type: string, timeoutMs: number): Promise<Envelope> {
    return new Promise<Envelope>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.onTimeout(id);
        reject(new RequestTimeoutError(type, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { type, resolve, reject, timer, onTheWire: false });
    });
  }

  /** Rejects request `id` at once (it could not even be queued). */
  fail(id: string, error: Error): void {
    const request = this.pending.get(id);
    if (!request) return;
    this.pending.delete(id);
    clearTimeout(request.timer);
    request.reject(error);
  }

  markSent(id: string): void {
    const request = this.pending.get(id);
    if (request) request.onTheWire = true;
  }

  /**
   * Settles the request a frame answers, if any: resolved by a reply, rejected by an error
   * frame. Returns true when the frame was such an answer.
   */
  settle(frame: Envelope): boolean {
    const id = frame.id;
    if (typeof id !== 'string') return false;
    const request = this.pending.get(id);
    if (!request || ON_THE_WAY[request.type]?.has(frame.type)) return false;
    this.pending.delete(id);
    clearTimeout(request.timer);
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

  /** The socket closed: requests written to it will never be answered on a new one. */
  rejectOnTheWire(): void {
    for (const [id, request] of this.pending) {
      if (!request.onTheWire) continue;
      this.pending.delete(id);
      clearTimeout(request.timer);
      request.reject(new ConnectionLostError(request.type));
    }
  }

  /** Rejects every pending request with `error(type)` (the client is closing for good). */
  rejectAll(error: (type: string) => Error): void {
    for (const request of this.pending.values()) {
      clearTimeout(request.timer);
      request.reject(error(request.type));
    }
    this.pending.clear();
  }
}
