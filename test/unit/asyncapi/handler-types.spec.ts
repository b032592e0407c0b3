import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { MessageBody } from '@nestjs/websockets';
import { IsString } from 'class-validator';
import { handlerTypes } from '../../../lib/asyncapi/handler-types.js';
import { Connection, CurrentUser, Message, MessageData } from '../../../lib/index.js';

class NoteDto {
  @IsString()
  text!: string;
}

class Reply {
  @IsString()
  id!: string;
}

class Handlers {
  whole(@Connection() _connection: unknown, @MessageData() _note: NoteDto): Reply {
    return new Reply();
  }

  properties(@MessageData('text') _text: string, @CurrentUser() _user: unknown, @MessageData('count') _count: number) {}

  nestBody(@MessageBody() _note: NoteDto): Promise<void> {
    return Promise.resolve();
  }

  envelope(@Message() _message: unknown) {}
}

// What the document reads of a handler: the same parameter metadata Nest's pipes see.
describe('handlerTypes', () => {
  const instance = new Handlers();

  it('finds the parameter that takes the whole data, and the return type', () => {
    const types = handlerTypes(instance, 'whole');
    expect(types.data).toBe(NoteDto);
    expect(types.properties.size).toBe(0);
    expect(types.returns).toBe(Reply);
  });

  it('finds the parameters that take one property of the data each', () => {
    const types = handlerTypes(instance, 'properties');
    expect(types.data).toBeUndefined();
    expect([...types.properties]).toEqual([
      ['text', String],
      ['count', Number],
    ]);
  });

  it("reads @nestjs/websockets' @MessageBody() like @MessageData()", () => {
    expect(handlerTypes(instance, 'nestBody')).toMatchObject({ data: NoteDto, returns: Promise });
  });

  it('finds no data where the handler reads only the envelope', () => {
    const types = handlerTypes(instance, 'envelope');
    expect(types.data).toBeUndefined();
    expect(types.properties.size).toBe(0);
  });
});
