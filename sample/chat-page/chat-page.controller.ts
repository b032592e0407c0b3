import { Controller, Get, Header, Inject, type OnModuleInit, Optional } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../project-root.js';
import { DEV_LOGIN_SECRET } from '../dev/dev-login.controller.js';
import { BROWSER_BUNDLE_FILE, buildClientBundle } from './client-bundle.js';

/**
 * `GET /`: the browser chat page, plain HTML/CSS/JS on top of the project's own client. The
 * files are read and the client bundled once at start-up, then served from memory.
 */
@Controller()
export class ChatPageController implements OnModuleInit {
  private html = '';
  private script = '';
  private styles = '';
  private bundle = '';

  /** The dev login's secret is provided exactly when `POST /dev/token` is mounted. */
  constructor(@Optional() @Inject(DEV_LOGIN_SECRET) private readonly devLoginSecret?: string) {}

  onModuleInit(): void {
    const root = projectRoot();
    const page = (file: string) => readFileSync(join(root, 'sample/chat-page/public', file), 'utf8');
    // The page shows the name login or, without the dev login, how to log in with a token.
    const devLogin = this.devLoginSecret === undefined ? 'off' : 'on';
    this.html = page('index.html').replace('<body>', `<body data-dev-login="${devLogin}">`);
    this.script = page('chat.js');
    this.styles = page('chat.css');
    this.bundle = buildClientBundle(root);
  }

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return this.html;
  }

  @Get('chat.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  pageScript(): string {
    return this.script;
  }

  @Get('chat.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  pageStyles(): string {
    return this.styles;
  }

  @Get(BROWSER_BUNDLE_FILE)
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  clientBundle(): string {
    return this.bundle;
  }
}
