import { Controller, Get, Header, type OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../project-root.js';
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

  onModuleInit(): void {
    const root = projectRoot();
    const page = (file: string) => readFileSync(join(root, 'sample/chat-page/public', file), 'utf8');
    this.html = page('index.html');
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
