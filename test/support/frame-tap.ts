import type WebSocket from 'ws';

/** A server frame as it crossed the wire: its RSV1 bit (compressed), opcode and payload length. */
export interface WireFrame {
  compressed: boolean;
  opcode: number;
  length: number;
}

/**
 * Reads the frames a `ws` client receives off its TCP socket, before `ws` inflates them, so a
 * test can tell a compressed frame (RSV1) from an uncompressed one. Server frames are unmasked.
 * Attach it once the client is open; it sees every frame after that.
 */
export class FrameTap {
  readonly frames: WireFrame[] = [];
  private pending = Buffer.alloc(0);

  constructor(socket: WebSocket) {
    const raw = (socket as unknown as { _socket: NodeJS.EventEmitter })._socket;
    raw.on('data', (chunk: Buffer) => this.read(chunk));
  }

  /** The frames of text messages (opcode 1), in order. */
  get texts(): WireFrame[] {
    return this.frames.filter((frame) => frame.opcode === 1);
  }

  private read(chunk: Buffer): void {
    let buffer = Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (buffer.length < 2) break;
      let length = buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) break;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) break;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) break;
      this.frames.push({ compressed: (buffer[0] & 0x40) !== 0, opcode: buffer[0] & 0x0f, length });
      buffer = buffer.subarray(offset + length);
    }
    this.pending = buffer;
  }
}
