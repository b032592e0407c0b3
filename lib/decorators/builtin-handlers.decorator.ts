import { SetMetadata } from '@nestjs/common';
import { BUILTIN_HANDLERS_METADATA } from '../realtime.constants.js';

/**
 * Marks a class of the module's own message handlers (internal; not exported): they yield to an
 * application handler of the same type and take part in the connection's order whatever their
 * `@OnMessage` options say. The explorer reads this mark instead of importing every built-in
 * class, so discovery/ does not depend on the handlers it discovers.
 */
export const BuiltinHandlers = (): ClassDecorator => SetMetadata(BUILTIN_HANDLERS_METADATA, true);
