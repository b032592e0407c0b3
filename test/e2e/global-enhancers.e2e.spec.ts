import {
  Catch,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type INestApplication,
  Injectable,
  type NestInterceptor,
  type PipeTransform,
  type Provider,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { afterEach, describe, expect, it } from '@jest/globals';
import { map, type Observable } from 'rxjs';
import { MessageData, OnMessage } from '../../lib/index.js';
import { MessageHandlerRegistry } from '../../lib/discovery/message-handler.registry.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';

/**
 * Handlers with nothing attached take the direct path, which skips Nest's pipeline. That is only
 * safe while we know there is no global enhancer: these tests register each kind of global
 * enhancer in every way Nest offers and check, over a real socket, that it still runs.
 */
@Injectable()
class PlainHandlers {
  @OnMessage('plain')
  plain(@MessageData() data: unknown): unknown {
    return data;
  }

  @OnMessage('fails')
  fails(): never {
    throw new Error('handler failed');
  }
}

@Injectable()
class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Injectable()
class MarkInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((value) => ({ intercepted: value })));
  }
}

@Injectable()
class MarkPipe implements PipeTransform {
  transform(value: unknown): unknown {
    return value !== null && typeof value === 'object' && 'text' in value ? { ...value, piped: true } : value;
  }
}

@Catch()
class ReplyFilter implements ExceptionFilter {
  catch(): unknown {
    return { filtered: true };
  }
}

interface EnhancerKind {
  name: string;
  token: string;
  enhancer: new () => object;
  useGlobal(app: INestApplication, instance: object): void;
  /** The request and the answer that proves the enhancer ran. */
  type: string;
  expected: object;
}

const KINDS: EnhancerKind[] = [
  {
    name: 'guard',
    token: APP_GUARD,
    enhancer: DenyGuard,
    useGlobal: (app, guard) => app.useGlobalGuards(guard as CanActivate),
    type: 'plain',
    expected: { type: 'error', data: { code: 'FORBIDDEN', message: 'Forbidden resource' } },
  },
  {
    name: 'interceptor',
    token: APP_INTERCEPTOR,
    enhancer: MarkInterceptor,
    useGlobal: (app, interceptor) => app.useGlobalInterceptors(interceptor as NestInterceptor),
    type: 'plain',
    expected: { type: 'plain_response', data: { intercepted: { text: 'hi' } } },
  },
  {
    name: 'pipe',
    token: APP_PIPE,
    enhancer: MarkPipe,
    useGlobal: (app, pipe) => app.useGlobalPipes(pipe as PipeTransform),
    type: 'plain',
    expected: { type: 'plain_response', data: { text: 'hi', piped: true } },
  },
  {
    name: 'filter',
    token: APP_FILTER,
    enhancer: ReplyFilter,
    useGlobal: (app, filter) => app.useGlobalFilters(filter as ExceptionFilter),
    type: 'fails',
    expected: { type: 'fails_response', data: { filtered: true } },
  },
];

interface Registration {
  name: string;
  providers(kind: EnhancerKind): Provider[];
  configure?(app: INestApplication, kind: EnhancerKind): void;
}

const REGISTRATIONS: Registration[] = [
  { name: 'APP_* useClass', providers: (kind) => [{ provide: kind.token, useClass: kind.enhancer }] },
  { name: 'APP_* useValue', providers: (kind) => [{ provide: kind.token, useValue: new kind.enhancer() }] },
  {
    name: 'APP_* useFactory',
    providers: (kind) => [{ provide: kind.token, useFactory: () => new kind.enhancer() }],
  },
  {
    name: 'APP_* useExisting',
    providers: (kind) => [kind.enhancer, { provide: kind.token, useExisting: kind.enhancer }],
  },
  {
    name: 'app.useGlobal*()',
    providers: () => [],
    configure: (app, kind) => kind.useGlobal(app, new kind.enhancer()),
  },
];

describe('global enhancers run on handlers that would take the direct path (e2e)', () => {
  let t: TestApp | undefined;
  let client: TestClient | undefined;

  afterEach(async () => {
    await client?.close();
    await t?.close();
    client = undefined;
    t = undefined;
  });

  async function boot(providers: Provider[], configure?: (app: INestApplication) => void): Promise<TestClient> {
    t = await createTestApp({}, { providers: [PlainHandlers, ...providers] }, configure);
    client = await TestClient.connect(t.url);
    await client.next('connected');
    return client;
  }

  it('without a global enhancer the handlers are called directly (the control)', async () => {
    const socket = await boot([]);
    const registry = t!.app.get(MessageHandlerRegistry);
    expect(registry.get('plain')?.direct).toBe(true);
    expect(registry.get('fails')?.direct).toBe(true);
    expect(await socket.request({ type: 'plain', id: 'p', data: { text: 'hi' } })).toMatchObject({
      type: 'plain_response',
      data: { text: 'hi' },
    });
    expect(await socket.request({ type: 'fails', id: 'f', data: null })).toMatchObject({
      type: 'error',
      data: { code: 'INTERNAL' },
    });
  });

  for (const kind of KINDS) {
    for (const registration of REGISTRATIONS) {
      it(`runs a global ${kind.name} registered with ${registration.name}`, async () => {
        const socket = await boot(
          registration.providers(kind),
          registration.configure && ((app) => registration.configure!(app, kind)),
        );
        expect(t!.app.get(MessageHandlerRegistry).get(kind.type)?.direct).toBe(false);
        expect(await socket.request({ type: kind.type, id: 'r1', data: { text: 'hi' } })).toMatchObject({
          id: 'r1',
          ...kind.expected,
        });
      });
    }
  }
});
