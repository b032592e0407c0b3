/**
 * What a batch needs of a connection: the stream its frames are written to, and a mark that it
 * is held. A structural type rather than `RealtimeConnection`, which calls the batch itself.
 */
export interface BatchedWriter {
  /** The TCP (or TLS) socket under the WebSocket; `undefined`: its writes are not batched. */
  readonly transport: CorkableStream | undefined;
  /** True while the batch holds the transport corked. */
  writesHeld: boolean;
}

/** The part of a `net.Socket` (a Writable) a batch uses. */
export interface CorkableStream {
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
}

/**
 * Past this many unsent bytes (or half of `writeBufferSize`, if less) a held connection's writes
 * go out at once and the batch goes on. A batch gains nothing from larger writes (one syscall
 * already carries many frames), and the bytes it holds count in `bufferedAmount`: a fast
 * reader's own burst must not look like the backlog of a slow consumer, nor sit in memory.
 */
export const MAX_HELD_BYTES = 64 * 1024;

/**
 * Writes out what the batch holds for `writer` now (it stays in the batch). For a wait on the
 * reader (a replay pacing itself on `bufferedAmount`): it must not wait on bytes we hold.
 */
export function writeHeldNow(writer: BatchedWriter): void {
  if (!writer.writesHeld) return;
  writer.transport!.uncork();
  writer.transport!.cork();
}

/**
 * Write coalescing: the frames written to one connection within a turn of the event loop (a
 * burst of broadcasts, a broadcast and a reply, a replay) leave in one socket write — one
 * `writev` syscall instead of one per frame — still one WebSocket frame per message.
 *
 * The first write to a connection corks its TCP socket and registers it here; one `setImmediate`
 * per turn (after every I/O callback of the turn, so after every read that caused a write)
 * uncorks them all, and each flushes what it holds in one `writev`. With a `delay`, one timer
 * does it after `delay` ms instead: a busy node then batches across turns, trading up to `delay`
 * of latency for fewer writes (Centrifugo's write delay).
 *
 * Order is untouched: every write of a connection — pre-framed broadcasts, `ws`'s own `send()`,
 * pings, close frames — goes into the same socket in call order; corking only delays when the
 * kernel gets them. `ws`'s `bufferedAmount` counts the held bytes (it reads the socket's
 * `writableLength`), so slow-consumer checks see them; {@link MAX_HELD_BYTES} bounds them.
 */
export class WriteBatch {
  private held: BatchedWriter[] = [];
  /** The other list: swapped in at each flush, so a flush allocates nothing. */
  private spare: BatchedWriter[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushNow = (): void => this.flush();

  /** Held bytes past which a connection's writes go out at once (see {@link MAX_HELD_BYTES}). */
  readonly maxHeldBytes: number;

  constructor(
    /** Milliseconds a batch stays open; 0: until the end of the turn. */
    readonly delay: number,
    /** The connections' `writeBufferSize`. */
    writeBufferSize = Number.POSITIVE_INFINITY,
  ) {
    this.maxHeldBytes = Math.min(MAX_HELD_BYTES, Math.floor(writeBufferSize / 2));
  }

  /** Called before every write to `writer`: holds its writes until the batch is flushed. */
  hold(writer: BatchedWriter): void {
    const transport = writer.transport;
    if (transport === undefined) return;
    if (writer.writesHeld) {
      if (transport.writableLength >= this.maxHeldBytes) {
        transport.uncork();
        transport.cork();
      }
      return;
    }
    writer.writesHeld = true;
    transport.cork();
    this.held.push(writer);
    if (this.immediate === undefined && this.timer === undefined) {
      if (this.delay === 0) this.immediate = setImmediate(this.flushNow);
      else this.timer = setTimeout(this.flushNow, this.delay);
    }
  }

  /** Connections held now (for tests). */
  get size(): number {
    return this.held.length;
  }

  /** Writes out everything held. */
  flush(): void {
    const held = this.held;
    this.held = this.spare;
    this.immediate = this.timer = undefined;
    // A write made while uncorking (none today: write callbacks run on the next tick) starts the
    // next batch, in the other list.
    for (let i = 0; i < held.length; i++) {
      const writer = held[i];
      writer.writesHeld = false;
      writer.transport!.uncork();
    }
    held.length = 0;
    this.spare = held;
  }

  /** Flushes and cancels the pending flush (at shutdown). */
  stop(): void {
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    clearTimeout(this.timer);
    this.flush();
  }
}
