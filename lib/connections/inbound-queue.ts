/**
 * The frames of one connection that arrived while one of its messages was still being handled
 * (PROTOCOL.md, "Ordering"). A plain FIFO over an array with a moving head: `shift()` on a long
 * array copies it, and a pipelining client can queue thousands of small frames.
 */
export class InboundQueue {
  private frames: Buffer[] = [];
  private head = 0;

  get length(): number {
    return this.frames.length - this.head;
  }

  push(frame: Buffer): void {
    this.frames.push(frame);
  }

  /** The oldest frame, or `undefined` when empty. */
  shift(): Buffer | undefined {
    if (this.head === this.frames.length) return undefined;
    const frame = this.frames[this.head];
    this.frames[this.head++] = EMPTY;
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.frames.length) {
      // Compact now and then so a queue that never empties does not keep its whole past.
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return frame;
  }

  clear(): void {
    this.frames = [];
    this.head = 0;
  }
}

const EMPTY = Buffer.alloc(0);
