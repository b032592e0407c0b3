import { describe, expect, it } from '@jest/globals';
import * as ws from 'ws';
import { frameBytes, prepareFrame } from '../../../lib/broadcast/outbound-frame.js';

/** ws exports its frame parser; its typings do not declare it. */
const { Receiver } = ws as unknown as {
  Receiver: new (options: { isServer: boolean }) => {
    on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void;
    write(chunk: Buffer): void;
  };
};

describe('prepareFrame', () => {
  it.each([7, 200, 70_000])('frames a %i-byte payload once into a valid unmasked text frame', (size) => {
    const payload = Buffer.from(JSON.stringify({ type: 'x', data: 'a'.repeat(size) }));
    const frame = prepareFrame(payload);
    // Pre-framing must be active with the installed ws, or every fan-out pays a header per recipient.
    expect(frame.wire).toBeInstanceOf(Buffer);
    expect(frame.wire!.subarray(frame.wire!.length - payload.length).equals(payload)).toBe(true);
    const messages: string[] = [];
    const receiver = new Receiver({ isServer: false });
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      expect(isBinary).toBe(false);
      messages.push(data.toString());
    });
    receiver.write(frame.wire!);
    expect(messages).toEqual([payload.toString()]);
  });

  it.each([7, 200, 70_000])('holds a %i-byte payload once: the payload is a view into the framed buffer', (size) => {
    const payload = Buffer.from(JSON.stringify({ type: 'x', data: 'a'.repeat(size) }));
    const frame = prepareFrame(payload);
    // Same memory, not a second copy: what a history entry or a conflated frame costs is its wire size.
    expect(frame.payload.buffer).toBe(frame.wire!.buffer);
    expect(frame.payload.byteOffset).toBe(frame.wire!.byteOffset + frame.wire!.length - payload.length);
    expect(frame.payload.equals(payload)).toBe(true);
    expect(frameBytes(frame)).toBe(frame.wire!.length);
  });
});
