// Runs the benchmarks: each scenario against a raw `ws` server and the sample app, in one run,
// each server in its own process, and prints the figures and the ratios (sample / raw).
//   npm run bench                 # echo and idle
//   npm run bench -- echo         # one scenario
// Environment: BENCH_DURATION_MS (echo, default 5000), BENCH_IDLE (idle connections, 10000).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runEcho } from './echo.mjs';
import { runIdle } from './idle.mjs';
import { fmt, table } from './lib/stats.mjs';
import { ServerProcess } from './lib/server-process.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const scenarios = process.argv.slice(2).length ? process.argv.slice(2) : ['echo', 'idle'];
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5000);
const idleConnections = Number(process.env.BENCH_IDLE ?? 10_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.sample.json`], {
  stdio: 'inherit',
});

const servers = {
  raw: (port) => new ServerProcess('raw ws', `${root}/bench/servers/raw-ws.mjs`, port),
  sample: (port) =>
    new ServerProcess('nest-realtime sample', `${root}/dist-sample/sample/main.js`, port, {
      LOG_LEVEL: 'warn',
      MAX_CONNECTIONS: String(idleConnections + 1000),
    }),
};

async function measure(kind, port, run) {
  const server = servers[kind](port);
  try {
    await server.ready();
    return await run(server);
  } finally {
    await server.stop();
  }
}

/** Median of each numeric field over the rounds' results. */
function median(list) {
  const out = {};
  for (const key of Object.keys(list[0])) {
    const values = list.map((r) => r[key]).sort((a, b) => a - b);
    out[key] = values[Math.floor(values.length / 2)];
  }
  return out;
}

/**
 * Runs a scenario `rounds` times against both servers, alternating which goes first (the load
 * generator shares the machine and warms up too), and returns the median of each figure.
 */
async function compare(run) {
  const raw = [];
  const sample = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['raw', 'sample'] : ['sample', 'raw'];
    for (const kind of order) {
      const result = await measure(kind, port++, run);
      (kind === 'raw' ? raw : sample).push(result);
    }
  }
  return { raw: median(raw), sample: median(sample), rounds: { raw, sample } };
}

const results = {};
let port = 3100 + (process.pid % 500);
if (rounds < 1) throw new Error('BENCH_ROUNDS must be at least 1');

if (scenarios.includes('echo')) {
  const { raw, sample, rounds: all } = await compare((s) => runEcho(s, { durationMs }));
  results.echo = { raw, sample, rounds: all };
  console.log(`\nEcho, closed loop, 100 connections (median of ${rounds} rounds)`);
  table(
    [
      ['raw ws', raw],
      ['nest-realtime', sample],
    ].map(([name, r]) => ({
      server: name,
      'round trips/s': fmt(r.roundTripsPerSec, 0),
      'p50 ms': fmt(r.p50Ms),
      'p99 ms': fmt(r.p99Ms),
      'server CPU µs/rt': fmt(r.cpuUsPerRoundTrip),
    })),
  );
  console.log(
    `ratio (nest-realtime / raw): CPU per round trip ${fmt(sample.cpuUsPerRoundTrip / raw.cpuUsPerRoundTrip)}×, ` +
      `throughput ${fmt(sample.roundTripsPerSec / raw.roundTripsPerSec)}×, p99 ${fmt(sample.p99Ms / raw.p99Ms)}×`,
  );
}

if (scenarios.includes('idle')) {
  const { raw, sample, rounds: all } = await compare((s) => runIdle(s, { connections: idleConnections }));
  results.idle = { raw, sample, rounds: all };
  console.log(`\nIdle, ${idleConnections} connections (median of ${rounds} rounds)`);
  table(
    [
      ['raw ws', raw],
      ['nest-realtime', sample],
    ].map(([name, r]) => ({
      server: name,
      'RSS B/conn': fmt(r.rssPerConnection, 0),
      'heap B/conn': fmt(r.heapPerConnection, 0),
    })),
  );
  console.log(
    `ratio (nest-realtime / raw): RSS per connection ${fmt(sample.rssPerConnection / raw.rssPerConnection)}×, ` +
      `heap per connection ${fmt(sample.heapPerConnection / raw.heapPerConnection)}×`,
  );
}

mkdirSync(`${root}/bench/results`, { recursive: true });
writeFileSync(
  `${root}/bench/results/latest.json`,
  JSON.stringify({ date: new Date().toISOString(), results }, null, 2),
);
