// A generator process of bench/scale.mjs: holds its share of the SDK clients and is driven over
// IPC, one reply per command. Every client counts what an app would see of its rooms: the `seq`
// after its join, each once and in order, through drains and reconnects.
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { hs256Sign } from './hs256.mjs';
import { Histogram, mulberry32 } from './scale-parts.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// `timeOrigin` read once: the getter is not free, and `now()` runs for every delivery.
const timeOrigin = performance.timeOrigin;
const now = () => timeOrigin + performance.now();
const BIG_ROOM = 'scale-big';
/** The keys of `afterDrain.stayerDiffUsers`: `<room kind> <mover|stayer> <joins|leaves>`. */
const DIFF_KEYS = Object.fromEntries(
  ['mixed', 'big'].map((kind) => [
    kind,
    Object.fromEntries(
      ['joins', 'leaves'].map((change) => [
        change,
        { mover: `${kind} mover ${change}`, stayer: `${kind} stayer ${change}` },
      ]),
    ),
  ]),
);
// Chat content after the timestamp: about the size of a chat line.
const FILLER = '|' + 'a chat line of about the length people type in a busy room, '.repeat(2);

export async function worker(secret) {
  const { RealtimeClient } = await import(`${root}/dist-sample/lib/client/index.js`);
  const { WebSocket: PlainWebSocket } = await import('ws');
  // The SDK swallows socket errors (a refused upgrade, a reset) and reports a 1006 close: after
  // the drain began, count them by code or message to tell those 1006s apart.
  class WebSocket extends PlainWebSocket {
    constructor(...args) {
      super(...args);
      if (drainAt !== undefined) this.on('error', countSocketError);
    }
  }
  const countSocketError = (error) => {
    const key = error.code ?? error.message;
    afterDrain.socketErrors[key] = (afterDrain.socketErrors[key] ?? 0) + 1;
  };
  const states = [];
  const random = mulberry32(process.pid);
  let urls = [];
  const down = new Set();
  let latency = new Histogram();
  let delivered = 0;
  let chatsSent = 0;
  let refused = 0;
  let drainAt;
  let cpuMark = process.cpuUsage();
  // This process's own event-loop delay: a late reader inflates the latencies it records.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let traffic;
  const reasons = {};
  // Garbage collection since the drain began: is a long stall of this process its GC?
  const gc = { count: 0, totalMs: 0, maxMs: 0, maxHeapMiB: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    if (drainAt === undefined) return;
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.totalMs += entry.duration;
      if (entry.duration > gc.maxMs) gc.maxMs = entry.duration;
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  // After the drain began: frames received by type, and the staying clients' lost connections by
  // 10 s bucket since the drain — who is flooded with what, and when the old nodes cut whom.
  // And the users the staying clients' presence_diffs name, by room kind and whether the user
  // was on the drained node (`user-<i>` first connected to node i % nodes): who churns presence.
  const afterDrain = { moverFrames: {}, stayerFrames: {}, stayerLostAt: {}, stayerDiffUsers: {}, socketErrors: {} };
  // After the drain began, each connection attempt's handshake as its client saw it: from the
  // `connected` frame to `auth_success`, and from there to `resumed` (ms), and the attempts
  // that got no further than `connected` or `auth_success` before the next one began (given up
  // on, or cut): where a herd's attempts stall, the server's auth or its resume.
  const handshake = { toAuth: new Histogram(), toResumed: new Histogram(), stuckAfterConnected: 0, stuckAfterAuth: 0 };
  let leavingNode;
  let initialNodes = 0;

  const alive = () => {
    const live = urls.filter((_, i) => !down.has(i));
    return live[Math.floor(random() * live.length)];
  };

  /**
   * What a client receives after the drain began, by frame type, and for the staying clients the
   * users their presence_diffs name (see `afterDrain`). Registered at the drain, not with the
   * client: until then it would run on every frame for nothing.
   */
  function countAfterDrain(s) {
    s.client.onEvent('connecting', () => {
      s.attemptsSinceDrain++;
      s.lastAttemptAt = Date.now();
    });
    s.client.onAny((data, envelope) => {
      const frames = s.onLeaving ? afterDrain.moverFrames : afterDrain.stayerFrames;
      const type = envelope.type;
      frames[type] = (frames[type] ?? 0) + 1;
      if (type === 'connected' || type === 'auth_success' || type === 'resumed') countHandshake(s, type);
      if (type !== 'presence_diff' || s.onLeaving) return;
      // The clients' rooms are their mixed room `scale-<n>` and BIG_ROOM.
      const keys = data.room_id === BIG_ROOM ? DIFF_KEYS.big : DIFF_KEYS.mixed;
      countDiffUsers(data.joins, keys.joins);
      countDiffUsers(data.leaves, keys.leaves);
    });
  }

  /** One step of a client's handshake (see `handshake`). */
  function countHandshake(s, type) {
    const at = now();
    if (type === 'connected') {
      if (s.stage === 'connected') handshake.stuckAfterConnected++;
      else if (s.stage === 'auth') handshake.stuckAfterAuth++;
      s.stage = 'connected';
    } else if (type === 'auth_success' && s.stage === 'connected') {
      handshake.toAuth.record(at - s.stageAt);
      s.stage = 'auth';
    } else if (type === 'resumed' && s.stage === 'auth') {
      handshake.toResumed.record(at - s.stageAt);
      s.stage = 'done';
    }
    s.stageAt = at;
  }

  /** Counts `users` under `keys.mover` or `keys.stayer`: whether the user was on the drained node. */
  function countDiffUsers(users, keys) {
    const counts = afterDrain.stayerDiffUsers;
    for (let i = 0; i < users.length; i++) {
      const userId = users[i].user_id;
      const key = Number(userId.slice(5)) % initialNodes === leavingNode ? keys.mover : keys.stayer;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }

  /** One client: its rooms, its position in each, and what it saw. */
  function makeClient(index, mixedRoom, inBig) {
    const token = hs256Sign(secret, {
      user_id: `user-${index}`,
      username: `user ${index}`,
      roles: ['user'],
      exp: Math.floor(Date.now() / 1000) + 6 * 3600,
    });
    const s = {
      index,
      node: index % urls.length,
      mixed: `scale-${mixedRoom}`,
      big: inBig,
      last: {},
      delivered: 0,
      gaps: 0,
      toldGaps: 0,
      dups: 0,
      opens: 0,
      resumeFailed: 0,
      heartbeatDeaths: 0,
      closeCodes: {},
      onLeaving: false,
      movedAt: undefined,
      // Its handshake after the drain began (see countHandshake), and its attempts since.
      stage: undefined,
      stageAt: 0,
      attemptsSinceDrain: 0,
      lastAttemptAt: 0,
      lastLoss: undefined,
    };
    s.client = new RealtimeClient({
      url: () => (s.opens++ === 0 ? urls[s.node] : alive()),
      WebSocket,
      token,
      drainReconnect,
    });
    // The position at the join, read as room_joined arrives (the next frames may come in the same tick).
    s.client.on('room_joined', (data) => {
      if (s.last[data.room_id] === undefined) s.last[data.room_id] = data.seq;
    });
    // Runs for every delivery: no allocation (parseFloat reads the timestamp before the '|'
    // where a slice would copy it).
    s.client.on('chat_message', (data, envelope) => {
      const room = envelope.room;
      const seq = envelope.seq;
      const last = s.last[room];
      if (last === undefined) return;
      if (seq <= last) {
        s.dups++;
        return;
      }
      s.gaps += seq - last - 1;
      s.delivered++;
      delivered++;
      s.last[room] = seq;
      const sentAt = parseFloat(data.content);
      if (sentAt > 0) latency.record(now() - sentAt);
    });
    // A resume_failed names the position to go on from: the messages up to it are a loss the
    // client was told of, counted apart (toldGaps) so that `gaps` counts only silent losses.
    s.client.onEvent('resume_failed', ({ room_id: room, reason, seq }) => {
      s.resumeFailed++;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
      const last = s.last[room];
      if (last === undefined || seq === undefined) return;
      if (reason === 'epoch_changed') s.last[room] = seq;
      else if (seq > last) {
        s.toldGaps += seq - last;
        s.last[room] = seq;
      }
    });
    // Every lost connection, by close code and reason ('1006 heartbeat timeout': the client's own
    // heartbeat gave up; '1006 connect timeout': an attempt that did not open in 10 s).
    s.client.onEvent('reconnecting', ({ code, reason }) => {
      const key = reason ? `${code} ${reason}` : String(code);
      s.closeCodes[key] = (s.closeCodes[key] ?? 0) + 1;
      if (reason === 'heartbeat timeout') s.heartbeatDeaths++;
      s.lastLoss = key;
      if (drainAt !== undefined && !s.onLeaving) {
        const bucket = `${Math.floor((Date.now() - drainAt) / 10_000) * 10}s ${key}`;
        afterDrain.stayerLostAt[bucket] = (afterDrain.stayerLostAt[bucket] ?? 0) + 1;
      }
    });
    // Closed for good (no 'reconnecting' then): why, for the movers that never came back.
    s.client.onEvent('closed', ({ code, reason }) => (s.lastLoss = `closed ${code} ${reason}`));
    s.client.onEvent('open', () => {
      if (s.onLeaving && s.movedAt === undefined && drainAt !== undefined) s.movedAt = Date.now();
    });
    return s;
  }

  let drainReconnect;
  async function start({ from, count, mixed, bigEvery, concurrency, ...message }) {
    urls = message.urls;
    initialNodes = urls.length;
    drainReconnect = message.drainReconnect;
    const cpu = process.cpuUsage();
    let failed = 0;
    let next = 0;
    const connectOne = async () => {
      for (let k = next++; k < count; k = next++) {
        const index = from + k;
        const s = makeClient(index, mixed[k], index % bigEvery === 0);
        try {
          await s.client.connect();
          // Pipelined, as real clients join: no wait between the requests.
          await Promise.all([s.client.join(s.mixed), s.big ? s.client.join(BIG_ROOM) : undefined]);
          states.push(s);
        } catch {
          failed++;
          s.client.disconnect().catch(() => {});
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, connectOne));
    const perNode = {};
    for (const s of states) {
      const node = s.client.connectionInfo?.node_id ?? '?';
      perNode[node] = (perNode[node] ?? 0) + 1;
    }
    const used = process.cpuUsage(cpu);
    const retries = states.reduce((total, s) => total + s.opens - 1, 0);
    return { failed, perNode, retries, cpu: (used.user + used.system) / 1e6 };
  }

  /** Chats at `rate`/s from random open clients into their mixed rooms. */
  function startTraffic(rate) {
    const started = Date.now();
    let sent = 0;
    const timer = setInterval(() => {
      const due = Math.floor(((Date.now() - started) / 1000) * rate);
      for (; sent < due; sent++) {
        const s = states[Math.floor(random() * states.length)];
        if (s.client.state !== 'open') continue;
        chatsSent++;
        s.client.chat(s.mixed, `${now()}${FILLER}`).catch(() => refused++);
      }
    }, 10);
    return { stop: () => clearInterval(timer) };
  }

  const snapshot = () => {
    const used = process.cpuUsage(cpuMark);
    const result = {
      delivered,
      chatsSent,
      refused,
      latency: latency.toJSON(),
      cpu: (used.user + used.system) / 1e6,
      loopDelayMs: {
        p50: loopDelay.percentile(50) / 1e6,
        p99: loopDelay.percentile(99) / 1e6,
        max: loopDelay.max / 1e6,
      },
    };
    mark();
    return result;
  };
  const mark = () => {
    latency = new Histogram();
    delivered = 0;
    chatsSent = 0;
    refused = 0;
    cpuMark = process.cpuUsage();
    loopDelay.reset();
  };

  const handlers = {
    start,
    traffic: ({ rate }) => ((traffic = startTraffic(rate)), {}),
    mark: () => (mark(), {}),
    snapshot,
    'stop-traffic': () => (traffic?.stop(), {}),
    'add-node': ({ url }) => (urls.push(url), {}),
    down: ({ node }) => {
      down.add(node);
      leavingNode = node;
      mark();
      const leaving = String.fromCharCode(97 + node);
      let marked = 0;
      const firstDrain = drainAt === undefined;
      drainAt = Date.now();
      for (const s of states) {
        if (s.client.connectionInfo?.node_id === leaving) {
          s.onLeaving = true;
          marked++;
        }
        if (firstDrain) countAfterDrain(s);
      }
      return { marked };
    },
    'await-moved': async ({ timeoutMs }) => {
      const cpu = process.cpuUsage();
      const deadline = Date.now() + timeoutMs;
      const waiting = () => states.some((s) => s.onLeaving && s.movedAt === undefined);
      while (waiting() && Date.now() < deadline) {
        await sleep(20);
        gc.maxHeapMiB = Math.max(gc.maxHeapMiB, getHeapStatistics().used_heap_size / 2 ** 20);
      }
      const used = process.cpuUsage(cpu);
      const moved = states.filter((s) => s.onLeaving && s.movedAt !== undefined);
      // The movers not back by the deadline, as their clients stand: what keeps them away.
      const notMoved = {};
      for (const s of states) {
        if (!s.onLeaving || s.movedAt !== undefined) continue;
        const ago = s.lastAttemptAt ? `${Math.round((Date.now() - s.lastAttemptAt) / 10_000) * 10}s ago` : 'never';
        const key = `${s.client.state}, after ${s.stage ?? 'nothing'}, ${s.attemptsSinceDrain} attempts (last ${ago}), last loss ${s.lastLoss}`;
        notMoved[key] = (notMoved[key] ?? 0) + 1;
      }
      return {
        notMoved,
        gc: { ...gc },
        times: moved.map((s) => s.movedAt),
        cpu: (used.user + used.system) / 1e6,
        // This process's event-loop delay since the drain began (reset at `down`).
        loopDelayMs: {
          p50: loopDelay.percentile(50) / 1e6,
          p99: loopDelay.percentile(99) / 1e6,
          max: loopDelay.max / 1e6,
        },
      };
    },
    'max-seq': () => {
      const seen = {};
      for (const s of states)
        for (const [room, seq] of Object.entries(s.last)) seen[room] = Math.max(seen[room] ?? 0, seq);
      return seen;
    },
    verify: async ({ lastSeq }) => {
      const behind = (s) => Object.entries(s.last).some(([room, seq]) => seq !== lastSeq[room]);
      // Slow readers on a loaded machine may still have the tail on its way: up to 15 s more.
      const deadline = Date.now() + 15_000;
      while (states.some(behind) && Date.now() < deadline) await sleep(50);
      const v = {
        delivered: 0,
        gaps: 0,
        toldGaps: 0,
        duplicates: 0,
        short: 0,
        resumeFailed: 0,
        heartbeatDeaths: 0,
        closeCodes: {},
        reasons,
        afterDrain,
        handshake: {
          toAuth: handshake.toAuth.toJSON(),
          toResumed: handshake.toResumed.toJSON(),
          stuckAfterConnected: handshake.stuckAfterConnected,
          stuckAfterAuth: handshake.stuckAfterAuth,
        },
      };
      for (const s of states) {
        v.delivered += s.delivered;
        v.gaps += s.gaps;
        v.toldGaps += s.toldGaps;
        v.duplicates += s.dups;
        v.resumeFailed += s.resumeFailed;
        v.heartbeatDeaths += s.heartbeatDeaths;
        if (behind(s) || s.last[s.mixed] === undefined || (s.big && s.last[BIG_ROOM] === undefined)) v.short++;
        for (const [code, n] of Object.entries(s.closeCodes)) v.closeCodes[code] = (v.closeCodes[code] ?? 0) + n;
      }
      return v;
    },
    exit: async () => {
      traffic?.stop();
      await Promise.all(states.map((s) => s.client.disconnect()));
      setImmediate(() => process.exit(0));
      return {};
    },
  };

  process.on('message', async (message) => {
    try {
      process.send(await handlers[message.cmd](message));
    } catch (error) {
      process.send({ error: `${message.cmd}: ${error?.stack ?? error}` });
    }
  });
  process.send({ ready: true });
}
