import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_METADATA } from '../realtime.constants.js';

/**
 * Lets unauthenticated connections use a message handler (or every handler of a class). The
 * built-in `auth` and `ping` are public.
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC_METADATA, true);
Public.KEY = IS_PUBLIC_METADATA;
