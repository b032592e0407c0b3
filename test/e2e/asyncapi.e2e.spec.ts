import 'reflect-metadata';
import { Injectable, type INestApplication, UsePipes, ValidationPipe } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from '@jest/globals';
import { IsIn, IsOptional, IsString, Length } from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { RealtimeAsyncApiModule, type AsyncApiDocument } from '../../lib/asyncapi/index.js';
import {
  MessageData,
  MessageDoc,
  OnMessage,
  RealtimeModule,
  type RealtimeModuleOptions,
  RequireRoles,
} from '../../lib/index.js';
import { describeDiagnostic, validateAsyncApi } from '../support/asyncapi.js';
import { useCleanup } from '../support/cleanup.js';
import { TEST_SECRET } from '../support/tokens.js';

class NoteDto {
  @IsString()
  @Length(1, 200)
  text!: string;

  @IsOptional()
  @IsIn(['low', 'high'])
  priority?: string;
}

class NoteAddedDto {
  @IsString()
  id!: string;

  @IsString()
  text!: string;
}

class EchoDto {
  @IsString()
  said!: string;
}

@Injectable()
class Notes {
  @OnMessage('note.add', { reply: 'note.added' })
  @MessageDoc({ summary: 'Adds a note.', example: { text: 'milk' }, replyType: NoteAddedDto })
  @UsePipes(new ValidationPipe({ transform: true }))
  add(@MessageData() note: NoteDto) {
    return { id: 'n1', text: note.text };
  }

  @OnMessage('note:pin')
  @RequireRoles('editor')
  pin(@MessageData('note_id') _noteId: string, @MessageData('until') _until: number): void {}

  /** Replaces the built-in `echo`; its reply's schema comes from the declared return type. */
  @OnMessage('echo', { reply: 'echoed' })
  echo(@MessageData() data: EchoDto): EchoDto {
    return data;
  }
}

type Platform = 'express' | 'fastify';

/** An app of `Notes`, its document made and served before `listen()`, as a user's main.ts does. */
async function startApp(platform: Platform, options: RealtimeModuleOptions) {
  const moduleRef = await Test.createTestingModule({
    imports: [RealtimeModule.forRoot(options)],
    providers: [Notes],
  }).compile();
  const app: INestApplication =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  const document = RealtimeAsyncApiModule.createDocument(app, { title: 'Notes', version: '2.1.0' });
  RealtimeAsyncApiModule.setup('/docs/asyncapi/', app, document);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, document, http: `http://127.0.0.1:${port}`, close: () => app.close() };
}

async function fetchText(url: string): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The `name`s (message types) of the document's messages of one direction (`client` or `server`). */
const messageNames = (document: AsyncApiDocument, direction: 'client' | 'server') =>
  Object.entries(document.components.messages)
    .filter(([key]) => key.startsWith(`${direction}.`))
    .map(([, message]) => message.name);

describe.each<Platform>(['express', 'fastify'])('the AsyncAPI document of an app, on %s (e2e)', (platform) => {
  const cleanup = useCleanup();

  it('is served as JSON and YAML that the official parser validates with no error', async () => {
    const t = cleanup.track(await startApp(platform, { builtins: { chat: false, admin_message: false } }));
    const json = await fetchText(`${t.http}/docs/asyncapi.json`);
    const yaml = await fetchText(`${t.http}/docs/asyncapi.yaml`);
    expect([json.status, json.type]).toEqual([200, 'application/json; charset=utf-8']);
    expect([yaml.status, yaml.type]).toEqual([200, 'application/yaml; charset=utf-8']);
    expect(JSON.parse(json.text)).toEqual(t.document);
    expect(parseYaml(yaml.text)).toEqual(t.document);

    for (const text of [json.text, yaml.text]) {
      const { document, errors, warnings } = await validateAsyncApi(text);
      expect(errors.map(describeDiagnostic)).toEqual([]);
      expect(warnings.map(describeDiagnostic)).toEqual([]);
      expect(document?.version()).toBe('3.0.0');
      expect(document?.info().title()).toBe('Notes');
      expect(document?.info().version()).toBe('2.1.0');
      // The parsed model sees the app's operations with their messages and replies.
      const add = document?.operations().get('receive.note.add');
      expect(add?.action()).toBe('receive');
      expect(
        add
          ?.messages()
          .all()
          .map((message) => message.name()),
      ).toEqual(['note.add']);
      expect(
        add
          ?.reply()
          ?.messages()
          .all()
          .map((message) => message.name()),
      ).toEqual(['note.added', 'error']);
    }
  });

  it("documents every handler with its DTO's fields, its reply type and its errors", async () => {
    const t = cleanup.track(await startApp(platform, { builtins: { chat: false, admin_message: false } }));
    const { operations, components } = t.document;

    // An application handler: its payload is the envelope around its DTO.
    expect(components.messages['client.note.add']).toMatchObject({
      name: 'note.add',
      summary: 'Adds a note.',
      payload: {
        required: ['type', 'data'],
        properties: { type: { const: 'note.add' }, data: { $ref: '#/components/schemas/NoteDto' } },
      },
      examples: [{ payload: { type: 'note.add', data: { text: 'milk' } } }],
    });
    expect(components.schemas.NoteDto).toEqual({
      type: 'object',
      properties: {
        text: { type: 'string', minLength: 1, maxLength: 200 },
        priority: { type: 'string', enum: ['low', 'high'] },
      },
      required: ['text'],
    });
    expect(components.messages['server.note.added']?.payload).toMatchObject({
      required: ['type', 'data', 'timestamp'],
      properties: { type: { const: 'note.added' }, data: { $ref: '#/components/schemas/NoteAddedDto' } },
    });
    expect(Object.keys(components.schemas.NoteAddedDto?.properties ?? {})).toEqual(['id', 'text']);
    expect(operations['send.note.added']?.description).toBe('Answers `note.add`, repeating its `id`.');

    // Properties read one by one; a type with ':' under a key components accept; a role guard.
    expect(components.messages['client.note_pin']).toMatchObject({
      name: 'note:pin',
      payload: {
        properties: {
          data: { type: 'object', properties: { note_id: { type: 'string' }, until: { type: 'number' } } },
        },
      },
    });
    expect(operations['receive.note_pin']?.description).toContain('Needs one of the roles `editor`');
    expect(operations['receive.note_pin']?.reply?.messages).toEqual([
      { $ref: '#/channels/realtime/messages/server.note_pin_response' },
      { $ref: '#/channels/realtime/messages/server.error' },
      { $ref: '#/channels/realtime/messages/server.authorization_error' },
    ]);

    // The application's `echo` replaces the built-in one, with its own reply type and schema.
    expect(components.messages['client.echo']).toMatchObject({
      payload: { properties: { data: { $ref: '#/components/schemas/EchoDto' } } },
    });
    expect(components.messages['client.echo']?.tags).toBeUndefined();
    expect(components.messages['server.echoed']?.payload.properties?.data).toEqual({
      $ref: '#/components/schemas/EchoDto',
    });
    expect(components.messages['server.echo_response']).toBeUndefined();

    // Built-ins: those on are documented, with the frames they cause; those off are not.
    const receives = Object.keys(operations).filter((key) => key.startsWith('receive.'));
    expect(receives).toEqual([
      'receive.auth',
      'receive.ping',
      'receive.join_room',
      'receive.leave_room',
      'receive.presence',
      'receive.private_message',
      'receive.resume',
      'receive.echo',
      'receive.note.add',
      'receive.note_pin',
    ]);
    expect(messageNames(t.document, 'server')).toEqual(
      expect.arrayContaining(['connected', 'pong', 'room_joined', 'presence_diff', 'resumed', 'resume_failed']),
    );
    expect(messageNames(t.document, 'server')).not.toContain('chat_message');
    expect(messageNames(t.document, 'server')).not.toContain('announcement');
    expect(components.messages['server.error']?.description).toContain('`NOT_IN_ROOM`');

    // Without `auth`: no security schemes, and no note about authentication.
    expect(components.securitySchemes).toBeUndefined();
    expect(t.document.servers.local?.security).toBeUndefined();
    expect(operations['receive.note.add']?.description).toBeUndefined();
  });

  it('documents authentication when the module has it, and room broadcasts with room, seq and epoch', async () => {
    const t = cleanup.track(await startApp(platform, { auth: { secret: TEST_SECRET } }));
    const { operations, components, servers, channels } = t.document;
    expect(Object.keys(components.securitySchemes ?? {})).toEqual(['bearerToken', 'queryToken']);
    expect(servers.local?.security).toHaveLength(2);
    expect(channels.realtime?.address).toBe('/ws');
    expect(channels.realtime?.bindings?.ws).toMatchObject({ query: { properties: { token: { type: 'string' } } } });
    expect(operations['send.auth_success']?.description).toContain('when a handshake token authenticated');
    expect(operations['receive.note.add']?.description).toContain('Needs an authenticated connection');
    expect(operations['receive.ping']?.description).toBeUndefined();
    expect(components.messages['server.chat_message']?.payload.required).toEqual([
      'type',
      'room',
      'seq',
      'epoch',
      'data',
      'timestamp',
    ]);
    expect(operations['send.chat_message']?.description).toContain('Caused by `chat`');
    // A reply repeats the request's `id`; a broadcast, even the sender's own copy, does not.
    expect(components.messages['server.room_joined']?.payload.properties?.id).toEqual({
      $ref: '#/components/schemas/realtime.RequestId',
    });
    expect(components.messages['server.room_joined']?.correlationId).toBeDefined();
    expect(components.messages['server.chat_message']?.payload.properties?.id).toBeUndefined();
    const { errors } = await validateAsyncApi(JSON.stringify(t.document));
    expect(errors.map(describeDiagnostic)).toEqual([]);
  });
});

describe('RealtimeAsyncApiModule', () => {
  it('refuses an application without the RealtimeModule, and a path with an extension', async () => {
    const moduleRef = await Test.createTestingModule({}).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    expect(() => RealtimeAsyncApiModule.createDocument(app)).toThrow('the application has no RealtimeModule');
    expect(() => RealtimeAsyncApiModule.setup('asyncapi.json', app, {} as AsyncApiDocument)).toThrow(
      "'asyncapi' serves /asyncapi.json and /asyncapi.yaml",
    );
    await app.close();
  });
});
