import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  decodeEnvelope,
  encodeEnvelope,
  isValidMessageType,
  MalformedMessageError,
} from '../../../lib/protocol/codec.js';

describe('codec', () => {
  it('decodes a full envelope unchanged', () => {
    const envelope = {
      type: 'chat',
      id: 'c-17',
      to: 'u1',
      room: 'general',
      data: { content: 'hi' },
      timestamp: '2026-01-01T00:00:00.000Z',
      metadata: { trace: 'x' },
    };
    expect(decodeEnvelope(JSON.stringify(envelope))).toEqual(envelope);
  });

  it.each([
    ['a', true],
    ['chat_message', true],
    ['ns:event.v2-b', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['', false],
    ['a b', false],
    ['é', false],
    ['a/b', false],
  ])('type %j valid: %s', (type, valid) => {
    expect(isValidMessageType(type)).toBe(valid);
  });

  it.each([
    ['{', 'message is not valid JSON', undefined],
    ['1', 'message must be a JSON object', undefined],
    ['[]', 'message must be a JSON object', undefined],
    ['{"type":1}', '"type" must be 1..64 characters of [A-Za-z0-9_.:-]', undefined],
    ['{"type":"a","id":{}}', '"id" must be a string of at most 128 characters or an integer', undefined],
    ['{"type":"a","id":1.5}', '"id" must be a string of at most 128 characters or an integer', undefined],
    ['{"id":"k","type":"a","to":1}', '"to" must be a string', 'k'],
    ['{"id":3,"type":"a","metadata":null}', '"metadata" must be an object', 3],
  ])('rejects %s: %s', (raw, message, requestId) => {
    let thrown: unknown;
    try {
      decodeEnvelope(raw);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MalformedMessageError);
    expect((thrown as MalformedMessageError).message).toBe(message);
    expect((thrown as MalformedMessageError).requestId).toBe(requestId);
  });

  it('never throws anything but MalformedMessageError, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          try {
            const envelope = decodeEnvelope(text);
            expect(isValidMessageType(envelope.type)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(MalformedMessageError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('round-trips any valid envelope through encode and decode', () => {
    const envelope = fc.record(
      {
        type: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
        id: fc.oneof(fc.string({ maxLength: 128 }), fc.integer()),
        room: fc.string(),
        data: fc.jsonValue(),
        metadata: fc.dictionary(fc.string(), fc.jsonValue()),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(envelope, (value) => {
        const decoded = decodeEnvelope(encodeEnvelope(value));
        expect(decoded).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });
});
