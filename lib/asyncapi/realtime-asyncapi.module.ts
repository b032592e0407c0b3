import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { MessageHandlerExplorer } from '../discovery/message-handler.explorer.js';
import { selectHandlers } from '../discovery/select-handlers.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import type { AsyncApiDocument, AsyncApiDocumentOptions } from './asyncapi-document.js';
import { Texts } from './asyncapi.messages.js';
import { buildAsyncApiDocument } from './document-builder.js';
import { documentToJson, documentToYaml } from './document-text.js';

/**
 * The AsyncAPI 3.0 document of an application's WebSocket API, the way `@nestjs/swagger`'s
 * `SwaggerModule` does OpenAPI for its REST routes:
 *
 * ```ts
 * const app = await NestFactory.create(AppModule);
 * const document = RealtimeAsyncApiModule.createDocument(app, { title: 'Chat', version: '1.0.0' });
 * RealtimeAsyncApiModule.setup('asyncapi', app, document); // GET /asyncapi.json, GET /asyncapi.yaml
 * await app.listen(3000);
 * ```
 */
export class RealtimeAsyncApiModule {
  /**
   * Builds the document from the handlers the application routes to — every `@OnMessage`
   * handler, the enabled built-ins included — with their payload DTOs and `@MessageDoc()`s.
   * Works on a created application, before `init()`/`listen()`, and on an application context.
   */
  static createDocument(app: INestApplicationContext, options: AsyncApiDocumentOptions = {}): AsyncApiDocument {
    let resolved: ResolvedRealtimeOptions;
    try {
      resolved = app.get<ResolvedRealtimeOptions>(RESOLVED_REALTIME_OPTIONS, { strict: false });
    } catch {
      throw new Error(Texts.noRealtimeModule());
    }
    const handlers = selectHandlers(app.get(MessageHandlerExplorer, { strict: false }).explore(), resolved.builtins);
    const auth = resolved.auth && { required: resolved.auth.required };
    return buildAsyncApiDocument(handlers, { path: resolved.path, auth }, options);
  }

  /**
   * Serves `document` at `<path>.json` and `<path>.yaml` on the application's HTTP server, Express
   * or Fastify (through Nest's HTTP adapter). Call it before `app.listen()` (or `init()`), like
   * `SwaggerModule.setup`: routes added after start-up are not served. The texts are made once.
   * The routes are public: guard them, or leave them out in production, if the API is private.
   */
  static setup(path: string, app: INestApplication, document: AsyncApiDocument): void {
    const base = `/${path.replace(/^\/+|\/+$/g, '')}`;
    if (base === '/' || /\.(json|ya?ml)$/.test(base)) throw new Error(Texts.badSetupPath(path));
    const adapter = app.getHttpAdapter();
    const serve = (route: string, contentType: string, text: string) =>
      adapter.get(route, (_request: unknown, response: unknown) => {
        adapter.setHeader(response, 'Content-Type', contentType);
        adapter.reply(response, text, 200);
      });
    serve(`${base}.json`, 'application/json; charset=utf-8', documentToJson(document));
    serve(`${base}.yaml`, 'application/yaml; charset=utf-8', documentToYaml(document));
  }
}
