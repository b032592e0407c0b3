import {
  type ArgumentsHost,
  BadRequestException,
  type CallHandler,
  type CanActivate,
  Catch,
  type ExceptionFilter,
  type ExecutionContext,
  HttpException,
  Injectable,
  type NestInterceptor,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { MessageBody, ConnectedSocket, WsException } from '@nestjs/websockets';
import { IsInt, IsString, Max, MinLength } from 'class-validator';
import { map, of, type Observable } from 'rxjs';
import {
  Connection,
  Message,
  MessageData,
  OnMessage,
  RealtimeConnection,
  RealtimeException,
  Reply,
  type Envelope,
} from '../../lib/index.js';

export class CreateNoteDto {
  @IsString()
  @MinLength(3)
  title!: string;

  @IsInt()
  @Max(10)
  priority!: number;
}

/** Lets a message through only when its data says `{ allow: true }`. */
@Injectable()
export class AllowFlagGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ws = context.switchToWs();
    // The client is our connection object, the data the message payload, the pattern its type.
    if (!(ws.getClient() instanceof RealtimeConnection) || ws.getPattern() !== 'guarded') return false;
    return (ws.getData() as { allow?: boolean } | undefined)?.allow === true;
  }
}

/** Wraps a handler's result: `{ wrapped: result, contextType }`. */
@Injectable()
export class WrapInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const type = context.getType();
    return next.handle().pipe(map((result) => ({ wrapped: result, contextType: type })));
  }
}

export class DomainError extends Error {}

/** Maps DomainError to a custom reply frame instead of an error. */
@Catch(DomainError)
export class DomainErrorFilter implements ExceptionFilter {
  catch(exception: DomainError, host: ArgumentsHost): Reply {
    const client = host.switchToWs().getClient<RealtimeConnection>();
    return new Reply('domain_error', { reason: exception.message, client: client.id });
  }
}

/** A plain provider, not a gateway: handlers live in any injectable. */
@Injectable()
export class NotesService {
  readonly notes: CreateNoteDto[] = [];

  @OnMessage('guarded', { reply: 'guarded_ok' })
  @UseGuards(AllowFlagGuard)
  guarded(): string {
    return 'passed';
  }

  @OnMessage('wrapped')
  @UseInterceptors(WrapInterceptor)
  wrapped(@MessageData('value') value: number): number {
    return value * 2;
  }

  @OnMessage('note.create', { reply: 'note.created' })
  @UsePipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }))
  create(@MessageData() dto: CreateNoteDto): { count: number; isDto: boolean } {
    this.notes.push(dto);
    return { count: this.notes.length, isDto: dto instanceof CreateNoteDto };
  }

  @OnMessage('domain')
  @UseFilters(DomainErrorFilter)
  domain(): never {
    throw new DomainError('quota exceeded');
  }

  @OnMessage('boom')
  boom(): never {
    throw new Error('secret internals: db password is hunter2');
  }

  @OnMessage('boom.async')
  async boomAsync(): Promise<never> {
    await Promise.resolve();
    throw new TypeError('async secret internals');
  }

  @OnMessage('ws.exception')
  wsException(): never {
    throw new WsException({ code: 'NOT_IN_ROOM', message: 'join the room first' });
  }

  @OnMessage('http.exception')
  httpException(): never {
    throw new BadRequestException('content is required');
  }

  /** Throws `new HttpException(message, status)` for `{ status }`, called directly. */
  @OnMessage('http.status')
  httpStatus(@MessageData('status') status: number): never {
    throw new HttpException(`status ${status}`, status);
  }

  /** The same through Nest's pipeline (an interceptor applies). */
  @OnMessage('http.status.piped')
  @UseInterceptors(WrapInterceptor)
  httpStatusPiped(@MessageData('status') status: number): never {
    throw new HttpException(`status ${status}`, status);
  }

  @OnMessage('realtime.exception')
  realtimeException(): never {
    throw new RealtimeException('CUSTOM_CODE', 'custom failure', { hint: 1 });
  }

  @OnMessage('async.value', { reply: 'async.value' })
  async asyncValue(@MessageData() data: number): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return data + 1;
  }

  @OnMessage('observable.value', { reply: 'observable.value' })
  observableValue(): Observable<string> {
    return of('first', 'last');
  }

  /** Replies synchronously, then something else sends a frame on the next microtask. */
  @OnMessage('order.probe', { reply: 'order.reply' })
  orderProbe(@Connection() connection: RealtimeConnection): string {
    queueMicrotask(() => connection.send({ type: 'order.later' }));
    return 'first';
  }

  @OnMessage('silent')
  silent(): void {}

  @OnMessage('whoami', { reply: 'whoami' })
  @OnMessage('whoami.alias', { reply: 'whoami' })
  whoami(@Connection() connection: RealtimeConnection, @Message() message: Envelope): object {
    return { id: connection.id, type: message.type, metadata: message.metadata ?? null };
  }

  @OnMessage('nest.decorators', { reply: 'nest.decorators' })
  nestDecorators(@MessageBody() body: unknown, @ConnectedSocket() socket: RealtimeConnection): object {
    return { body, isConnection: socket instanceof RealtimeConnection };
  }

  @OnMessage('positional', { reply: 'positional' })
  positional(connection: RealtimeConnection, data: unknown, message: Envelope, type: string): object {
    return { isConnection: connection instanceof RealtimeConnection, data, id: message.id, type };
  }
}
