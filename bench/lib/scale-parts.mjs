// Small parts of the scale benchmark (bench/scale.mjs) shared by its main process and workers
// (the seeded PRNG also by bench/subscriptions.mjs).

import { readFileSync } from 'node:fs';

/** A seeded PRNG (mulberry32): the same room layout and traffic choices in every run. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The mixed room of each client: 1 000 rooms of five sizes, shuffled (seeded) over the clients. */
export function mixedRooms(clients, rooms, random = mulberry32(15)) {
  const shape = [
    [0.4, 1],
    [0.3, 3],
    [0.2, 6],
    [0.09, 40 / 3],
    [0.01, 30],
  ];
  const weight = shape.reduce((total, [share, w]) => total + share * rooms * w, 0);
  const slots = [];
  let room = 0;
  for (const [share, w] of shape) {
    const count = Math.round(share * rooms);
    const size = Math.max(1, Math.round((w * clients) / weight));
    for (let r = 0; r < count; r++, room++) for (let k = 0; k < size; k++) slots.push(room);
  }
  // Rounding: fill up or cut to exactly `clients`, the extra ones in random rooms.
  while (slots.length < clients) slots.push(Math.floor(random() * room));
  slots.length = clients;
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [slots[i], slots[j]] = [slots[j], slots[i]];
  }
  return slots;
}

const BUCKET_MS = 0.1;
const BUCKETS = 600_001; // 0.1 ms steps up to 60 s; later ones land in the last

/**
 * Delivery latencies in 0.1 ms buckets: every delivery is recorded (no sampling) at the cost of
 * an array increment, and percentiles come out exact to the bucket.
 */
export class Histogram {
  constructor() {
    this.counts = new Uint32Array(BUCKETS);
    this.count = 0;
    this.max = 0;
  }

  record(ms) {
    const value = ms < 0 ? 0 : ms;
    this.counts[Math.min(BUCKETS - 1, Math.floor(value / BUCKET_MS))]++;
    this.count++;
    if (value > this.max) this.max = value;
  }

  /** For IPC: the non-empty buckets only. */
  toJSON() {
    const buckets = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i] > 0) buckets.push([i, this.counts[i]]);
    return { buckets, count: this.count, max: this.max };
  }

  static merge(parts) {
    const merged = new Histogram();
    for (const part of parts) {
      for (const [i, n] of part.buckets) merged.counts[i] += n;
      merged.count += part.count;
      merged.max = Math.max(merged.max, part.max);
    }
    return merged;
  }

  percentile(p) {
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return (i + 1) * BUCKET_MS;
    }
    return NaN;
  }

  summary() {
    return {
      count: this.count,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.max,
    };
  }
}

/**
 * The machine's CPU time so far, from the first line of `/proc/stat` (Linux; jiffies, all cores):
 * idle (idle + iowait) and total. With everything on one machine, the busy share over a phase
 * says whether the phase had any CPU to spare: a drain on a machine that was already saturated
 * measures the machine. `undefined` where the file does not exist.
 */
export function machineCpu(read = (path) => readFileSync(path, 'utf8')) {
  try {
    const fields = read('/proc/stat').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: fields[3] + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** The share of all cores' time that was busy between two machineCpu readings, in %. */
export function machineBusyPct(before, after) {
  if (!before || !after || after.total <= before.total) return undefined;
  return (1 - (after.idle - before.idle) / (after.total - before.total)) * 100;
}

/**
 * The kernel's TCP counters that tell a herd's packets were dropped (Linux, `/proc/net/netstat`
 * and `/proc/net/snmp`, machine-wide): accept queues that overflowed, and segments retransmitted.
 * On loopback nothing is lost otherwise, so any of these means a client waited out a retransmission
 * timeout (1, 2, 4... s). `undefined` where the files do not exist.
 */
export function tcpCounters(read = (path) => readFileSync(path, 'utf8')) {
  const counters = {};
  try {
    for (const path of ['/proc/net/netstat', '/proc/net/snmp']) {
      const lines = read(path).trim().split('\n');
      for (let i = 0; i + 1 < lines.length; i += 2) {
        const names = lines[i].split(/\s+/);
        const values = lines[i + 1].split(/\s+/);
        for (let k = 1; k < names.length; k++) counters[`${names[0]}${names[k]}`] = Number(values[k]);
      }
    }
  } catch {
    return undefined;
  }
  return {
    listenOverflows: counters['TcpExt:ListenOverflows'] ?? 0,
    retransmittedSegments: counters['Tcp:RetransSegs'] ?? 0,
    retransmitTimeouts: counters['TcpExt:TCPTimeouts'] ?? 0,
  };
}

/** `after - before`, field by field (`undefined` if either is). */
export function tcpDelta(before, after) {
  if (!before || !after) return undefined;
  return Object.fromEntries(Object.keys(after).map((key) => [key, after[key] - before[key]]));
}
