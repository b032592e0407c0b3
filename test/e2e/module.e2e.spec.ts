import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from '@jest/globals';
import { ClusterAdapter, ConnectionManager, RealtimeHealth, RealtimeModule, RoomManager } from '../../lib/index.js';
import { InMemoryClusterAdapter } from '../../lib/cluster/in-memory-cluster.adapter.js';
import { RESOLVED_REALTIME_OPTIONS } from '../../lib/realtime.constants.js';
import { type ResolvedRealtimeOptions } from '../../lib/interfaces/realtime-options.interface.js';
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

/** A feature module's service broadcasting to rooms, again without importing RealtimeModule. */
@Injectable()
class RoomsConsumer {
  constructor(readonly rooms: RoomManager) {}
}

@Module({ providers: [Consumer, RoomsConsumer], exports: [Consumer, RoomsConsumer] })
class FeatureModule {}

/** The mistake: importing the class itself (not forRoot) in a feature module. */
@Module({ imports: [RealtimeModule], providers: [RoomsConsumer] })
class BareImportModule {}

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
      imports: [RealtimeModule.forRootAsync({ useFactory: () => ({ pingInterval: 30_000, readTimeout: 20_000 }) })],
    }).compile();
    await expect(attempt).rejects.toThrow('RealtimeModule option "readTimeout" must be 0 (off) or above pingInterval');
  });

  it('runs as one node without a cluster adapter, uses the one given, and refuses what is not one', async () => {
    const single = await Test.createTestingModule({ imports: [RealtimeModule.forRoot({})] }).compile();
    expect(single.get(ClusterAdapter)).toBeInstanceOf(InMemoryClusterAdapter);
    expect(single.get(RealtimeHealth).snapshot().redis).toBe('off');
    await single.close();

    const given = new InMemoryClusterAdapter();
    const withGiven = await Test.createTestingModule({
      imports: [RealtimeModule.forRoot({ cluster: given })],
    }).compile();
    expect(withGiven.get(ClusterAdapter)).toBe(given);
    await withGiven.close();

    // The options type takes anything with an adapter's lifecycle; only a ClusterAdapter works.
    const lookalike = { status: 'off' as const, start: async () => {}, stop: async () => {} };
    const attempt = Test.createTestingModule({ imports: [RealtimeModule.forRoot({ cluster: lookalike })] }).compile();
    await expect(attempt).rejects.toThrow('RealtimeModule option "cluster" must be a ClusterAdapter instance');
  });

  it('is global by default: a feature module injects its services without importing anything', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RealtimeModule.forRoot({}), FeatureModule],
    }).compile();
    expect(moduleRef.get(Consumer).connections).toBe(moduleRef.get(ConnectionManager));
    expect(moduleRef.get(RoomsConsumer).rooms).toBe(moduleRef.get(RoomManager));
    await moduleRef.close();
  });

  it('is global with forRootAsync too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RealtimeModule.forRootAsync({ useFactory: () => ({}) }), FeatureModule],
    }).compile();
    expect(moduleRef.get(RoomsConsumer).rooms).toBe(moduleRef.get(RoomManager));
    await moduleRef.close();
  });

  it('is not global with isGlobal: false', async () => {
    const attempt = Test.createTestingModule({
      imports: [RealtimeModule.forRoot({ isGlobal: false }), FeatureModule],
    }).compile();
    await expect(attempt).rejects.toThrow(/ConnectionManager/);
  });

  it('explains what to do when a feature module imports the bare class', async () => {
    const attempt = Test.createTestingModule({
      imports: [RealtimeModule.forRoot({}), BareImportModule],
    }).compile();
    await expect(attempt).rejects.toThrow(
      'RealtimeModule was imported without options (the bare class, e.g. in a feature module). ' +
        'Import RealtimeModule.forRoot() or forRootAsync() once, in the root module',
    );
    await expect(attempt).rejects.not.toThrow(/can't resolve|RESOLVED_REALTIME_OPTIONS/i);
  });
});
