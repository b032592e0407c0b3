import { type DynamicModule, Module } from '@nestjs/common';
import { RoomAccess } from './room-access.js';

/**
 * Provides the one {@link RoomAccess} of the app, to the RealtimeModule (whose `joinPolicy` is
 * built inside it, so it is given this module in its `imports`) and to the REST controllers.
 */
@Module({})
export class RoomAccessModule {
  static register(restrictedPrefixes: readonly string[]): DynamicModule {
    return {
      module: RoomAccessModule,
      providers: [{ provide: RoomAccess, useValue: new RoomAccess(restrictedPrefixes) }],
      exports: [RoomAccess],
    };
  }
}
