import type { TestRedis } from '../support/redis-server.js';
import type { FaultProxy } from './fault-proxy.js';
import type { SampleNode } from './sample-node.js';

/** One fault of the schedule, `at` seconds into its cycle. */
export interface Fault {
  at: number;
  name: string;
  inject: () => Promise<void>;
}

/** What the schedule acts on: nodes[i] reaches Redis through proxies[i]. */
export interface FaultTargets {
  redis: TestRedis;
  nodes: SampleNode[];
  proxies: FaultProxy[];
  /** Waits `ms` of the run (so a fault that takes a while keeps the schedule honest). */
  sleep: (ms: number) => Promise<void>;
}

/** Length of one cycle of {@link faultCycle}: a run repeats it until its time is up. */
export const CYCLE_SECONDS = 60;

/**
 * One minute of faults, each on a different node so that the others carry the traffic, with
 * quiet time after each for clients to reconnect and resume before the next one:
 * added latency (node 0 ↔ Redis), a crash and restart (node 1), a stalled Redis connection
 * (node 2: bytes held, nothing closed, shorter than the adapter's command timeout), a deploy
 * (node 0 drained with 1012, then restarted), a Redis restart (empty: every room's history
 * and epoch are gone, which clients must be told about), and in longer runs a stall longer than
 * the adapter's command timeout (node 1).
 */
export function faultCycle({ redis, nodes, proxies, sleep }: FaultTargets): Fault[] {
  return [
    {
      at: 3,
      name: `latency 60 ms between ${nodes[0].id} and Redis for 6 s`,
      inject: async () => {
        proxies[0].setLatency(60);
        await sleep(6000);
        proxies[0].setLatency(0);
      },
    },
    {
      at: 11,
      name: `SIGKILL ${nodes[1].id}, restart after 2 s`,
      inject: async () => {
        await nodes[1].kill();
        await sleep(2000);
        await nodes[1].start();
      },
    },
    {
      at: 23,
      name: `stall the connections between ${nodes[2].id} and Redis for 3 s`,
      inject: async () => {
        proxies[2].stall();
        await sleep(3000);
        proxies[2].resume();
      },
    },
    {
      at: 31,
      name: `drain ${nodes[0].id} (SIGTERM, 1012), restart`,
      inject: async () => {
        await nodes[0].drain();
        await nodes[0].start();
      },
    },
    {
      at: 43,
      name: 'restart Redis (SIGKILL, empty)',
      inject: async () => {
        await redis.stop();
        await sleep(1000);
        await redis.spawn();
      },
    },
    {
      // Past the adapter's 5 s command timeout: publishes fail over to local delivery while the
      // stalled bytes (and the echoes of what Redis did sequence) are still on their way. Only
      // in runs longer than one cycle (it needs the next cycle's first seconds to play out).
      at: 52,
      name: `stall the connections between ${nodes[1].id} and Redis for 7 s`,
      inject: async () => {
        proxies[1].stall();
        await sleep(7000);
        proxies[1].resume();
      },
    },
  ];
}
