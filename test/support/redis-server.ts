import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { Redis } from 'ioredis';

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** A loopback redis-server on `port` that keeps nothing on disk. */
function serverArgs(port: number): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
}

/** Resolves once a redis-server accepts TCP on `port` (10 s at most). */
async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`redis-server did not start on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A `redis-server` of the test's own, on a free loopback port, with no persistence; stopped by
 * pid. Tests never touch a Redis that happens to run on 6379.
 */
export class TestRedis {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(port?: number): Promise<TestRedis> {
    const redis = new TestRedis(port ?? (await freePort()));
    await redis.spawn();
    return redis;
  }

  /** (Re)starts the server on the same port, empty. */
  async spawn(): Promise<void> {
    this.process = spawn('redis-server', [...serverArgs(this.port), '--protected-mode', 'no'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    // Wait for the port with plain TCP first: a refused ioredis connect leaves timers behind.
    await waitForPort(this.port);
    for (;;) {
      const client = new Redis({
        port: this.port,
        host: '127.0.0.1',
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      try {
        await client.connect();
        if ((await client.ping()) === 'PONG') {
          client.disconnect();
          return;
        }
      } catch {
        client.disconnect();
      }
      if (Date.now() > deadline) throw new Error(`redis-server did not start on ${this.port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Stops the server by pid (SIGKILL: as abrupt as a crash). */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.process = undefined;
  }
}

/**
 * A Redis Cluster of the test's own: `masters` redis-server processes in cluster mode on free
 * loopback ports, joined with `redis-cli --cluster create`, no replicas; stopped by pid.
 */
export class TestRedisCluster {
  private constructor(
    readonly ports: number[],
    private readonly processes: ChildProcess[],
    private readonly dir: string,
  ) {}

  get nodes(): { host: string; port: number }[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

  /**
   * Tried up to three times on fresh ports: a free port is only free when asked, and the cluster
   * bus needs port + 10000 too, which another process (another test file's Redis, an outgoing
   * connection) may hold — under a loaded suite `redis-cli --cluster create` then failed.
   */
  static async start(masters = 3): Promise<TestRedisCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await TestRedisCluster.startOnce(masters);
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  private static async startOnce(masters: number): Promise<TestRedisCluster> {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rt-cluster-'));
    const ports: number[] = [];
    while (ports.length < masters) {
      const port = await freePort();
      // Cluster bus ports are port + 10000: keep them clear of each other.
      if (port + 10_000 < 65_536 && !ports.includes(port)) ports.push(port);
    }
    const processes = ports.map((port) =>
      spawn(
        'redis-server',
        [
          ...serverArgs(port),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '2000',
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      ),
    );
    const cluster = new TestRedisCluster(ports, processes, dir);
    try {
      for (const port of ports) await waitForPort(port);
      await new Promise<void>((resolve, reject) => {
        const create = spawn(
          'redis-cli',
          ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let output = '';
        const keep = (chunk: Buffer): void => {
          output = (output + chunk.toString()).slice(-2000);
        };
        create.stdout.on('data', keep);
        create.stderr.on('data', keep);
        create.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create exited ${code}: ${output.trim()}`)),
        );
      });
      await cluster.waitUntilOk();
    } catch (error) {
      // Nobody else holds the processes yet: a failed start must not leave them running.
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private async waitUntilOk(): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const states = await Promise.all(
        this.ports.map(async (port) => {
          const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
          try {
            await client.connect();
            return String(await client.cluster('INFO')).includes('cluster_state:ok');
          } catch {
            return false;
          } finally {
            client.disconnect();
          }
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve(undefined);
            child.once('exit', resolve);
            child.kill('SIGKILL');
          }),
      ),
    );
    const { rmSync } = await import('node:fs');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
