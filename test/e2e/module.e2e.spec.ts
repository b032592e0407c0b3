import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from '@jest/globals';
import {
  ConnectionManager,
  RealtimeModule,
  RESOLVED_REALTIME_OPTIONS,
  type ResolvedRealtimeOptions,
} from '../../lib/index.js';
import { TestClient } from '../support/test-client.js';

@Injectable()
class RealtimeConfig {
  readonly path = '/live';
  readonly nodeId = 'from-config';
}

@Module({ providers: [RealtimeConfig], exports: [RealtimeConfig] })
class ConfigModule {}

/** A feature module that injects ConnectionManager without importing RealtimeModule. */
@Injectable()
class Consumer {
  constructor(readonly connections: ConnectionManager) {}
}

@Module({ providers: [Consumer], exports: [Consumer] })
class FeatureModule {}

describe('RealtimeModule.forRoot / forRootAsync', () => {
  it('takes options from an async factory with injected dependencies', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        RealtimeModule.forRootAsync({
          imports: [ConfigModule],
          inject: [RealtimeConfig],
          useFactory: async (config: RealtimeConfig) => ({ path: config.path, nodeId: config.nodeId }),
        }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    expect(app.get<ResolvedRealtimeOptions>(RESOLVED_REALTIME_OPTIONS).path).toBe('/live');
    const client = await TestClient.connect(`ws://127.0.0.1:${port}/live`);
    expect((await client.next('connected')).data.node_id).toBe('from-config');
    await client.close();
    await app.close();
  });

  it('fails start-up on an invalid option, naming it', async () => {
    const attempt = Test.createTestingModule({
      imports: [RealtimeModule.forRootAsync({ useFactory: () => ({ pingInterval: 70_000, pongTimeout: 60_000 }) })],
    }).compile();
    await expect(attempt).rejects.toThrow('RealtimeModule option "pingInterval" must be below pongTimeout');
  });

  it('makes its services injectable everywhere with isGlobal', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RealtimeModule.forRoot({ isGlobal: true }), FeatureModule],
    }).compile();
    expect(moduleRef.get(Consumer).connections).toBe(moduleRef.get(ConnectionManager));
    await moduleRef.close();
  });

  it('is not global unless asked', async () => {
    const attempt = Test.createTestingModule({ imports: [RealtimeModule.forRoot({}), FeatureModule] }).compile();
    await expect(attempt).rejects.toThrow(/ConnectionManager/);
  });
});
