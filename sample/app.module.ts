import { type DynamicModule, Module } from '@nestjs/common';
import { RealtimeModule } from '../lib/index.js';
import { HealthController } from './health.controller.js';
import { loadSampleConfig, type SampleConfig } from './sample.config.js';

/** The sample chat application: what a user of the module writes. */
@Module({})
export class AppModule {
  static register(config: SampleConfig = loadSampleConfig()): DynamicModule {
    return {
      module: AppModule,
      imports: [
        RealtimeModule.forRoot({
          isGlobal: true,
          nodeId: config.nodeId,
          allowedOrigins: config.allowedOrigins,
          maxConnections: config.maxConnections,
        }),
      ],
      controllers: [HealthController],
    };
  }
}
