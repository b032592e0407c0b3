import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { MessageDocOptions } from '../decorators/message-doc.decorator.js';
import type { OnMessageMetadata } from '../decorators/on-message.decorator.js';
import { BUILTIN_HANDLERS_METADATA, MESSAGE_DOC_METADATA, ON_MESSAGE_METADATA } from '../realtime.constants.js';

/** Typed reads of the metadata our decorators record. */
@Injectable()
export class RealtimeMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getMessageHandlers(method: (...args: unknown[]) => unknown): readonly OnMessageMetadata[] | undefined {
    return this.reflector.get<OnMessageMetadata[] | undefined>(ON_MESSAGE_METADATA, method);
  }

  /** What `@MessageDoc()` says about a handler method, if anything. */
  getMessageDoc(method: (...args: unknown[]) => unknown): MessageDocOptions | undefined {
    return this.reflector.get<MessageDocOptions | undefined>(MESSAGE_DOC_METADATA, method);
  }

  /** Whether `type` is one of the module's own handler classes (`@BuiltinHandlers()`). */
  isBuiltin(type: object): boolean {
    return this.reflector.get<boolean | undefined>(BUILTIN_HANDLERS_METADATA, type as never) === true;
  }
}
