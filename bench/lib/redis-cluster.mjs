import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../cluster-fanout.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A Redis Cluster of the benchmark's own: `masters` redis-server processes in cluster mode on free
 * loopback ports, joined by `redis-cli --cluster create` without replicas, stopped by pid.
 */
export async function startRedisCluster(masters = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
  const ports = [];
  while (ports.length < masters) {
    const port = await freePort();
    // The cluster bus listens on port + 10000.
    if (port + 10_000 < 65_536 && !ports.includes(port)) ports.push(port);
  }
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir],
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = async () => {
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null
          ? undefined
          : new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGKILL'))),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await waitForRedis(port);
    await new Promise((resolve, reject) => {
      const create = spawn(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
        { stdio: 'ignore' },
      );
      create.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create: ${code}`)),
      );
    });
    const deadline = Date.now() + 20_000;
    while (!(await Promise.all(ports.map(clusterOk))).every(Boolean)) {
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok');
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, seeds: ports.map((p) => `127.0.0.1:${p}`).join(','), stop };
}

async function waitForRedis(port) {
  for (let i = 0; i < 200; i++) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    try {
      await probe.connect();
      return;
    } catch {
      await sleep(50);
    } finally {
      probe.disconnect();
    }
  }
  throw new Error(`redis-server on ${port} did not start`);
}

async function clusterOk(port) {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
  try {
    await client.connect();
    return String(await client.cluster('INFO')).includes('cluster_state:ok');
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * CPU seconds and command counts of a set of redis-servers (one standalone, or a cluster's
 * masters), each read over a connection of the benchmark's own: `INFO cpu` and
 * `INFO commandstats`, summed over the servers.
 */
export function redisStats(ports) {
  const admins = ports.map((port) => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 }));
  return {
    async read() {
      const result = { cpuSeconds: 0, calls: {}, usec: {} };
      for (const admin of admins) {
        const [cpu, commands] = await Promise.all([admin.info('cpu'), admin.info('commandstats')]);
        const field = (name) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
        result.cpuSeconds += field('used_cpu_user') + field('used_cpu_sys');
        for (const [, name, calls, usec] of commands.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
          result.calls[name] = (result.calls[name] ?? 0) + Number(calls);
          result.usec[name] = (result.usec[name] ?? 0) + Number(usec);
        }
      }
      return result;
    },
    close: () => admins.forEach((admin) => admin.disconnect()),
  };
}

/** `b - a` of two {@link redisStats} readings: CPU, and calls and µs (INFO commandstats) per command. */
export function redisDelta(a, b) {
  const calls = {};
  const usec = {};
  for (const [name, n] of Object.entries(b.calls)) {
    if (n - (a.calls[name] ?? 0) > 0) {
      calls[name] = n - (a.calls[name] ?? 0);
      usec[name] = b.usec[name] - (a.usec[name] ?? 0);
    }
  }
  return {
    cpuSeconds: b.cpuSeconds - a.cpuSeconds,
    calls,
    usec,
    total: Object.values(calls).reduce((x, y) => x + y, 0),
  };
}
