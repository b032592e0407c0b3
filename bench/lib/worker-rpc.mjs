/**
 * Request/response over IPC with forked load-generator workers: each worker answers every
 * message with one reply, in order. A reply with `error`, or a worker that exits abnormally while
 * a reply is awaited, rejects.
 */
export function workerRpc(procs) {
  const inbox = procs.map(() => []);
  const waiters = procs.map(() => []);
  procs.forEach((proc, w) => {
    proc.on('message', (message) => {
      const waiter = waiters[w].shift();
      if (waiter) waiter(message);
      else inbox[w].push(message);
    });
    proc.on('exit', (code) => {
      if (code !== 0) for (const waiter of waiters[w].splice(0)) waiter({ error: `worker ${w} exited ${code}` });
    });
  });
  const next = (w) => (inbox[w].length ? Promise.resolve(inbox[w].shift()) : new Promise((r) => waiters[w].push(r)));
  const check = (replies) => {
    const failed = replies.find((r) => r?.error);
    if (failed) throw new Error(failed.error);
    return replies;
  };
  return {
    /** Sends `message` (if any) to every worker and waits for each one's reply. */
    all: async (message) => check(await Promise.all(procs.map((proc, w) => (message && proc.send(message), next(w))))),
    /** Sends each worker its own message. */
    each: async (make) => check(await Promise.all(procs.map((proc, w) => (proc.send(make(w)), next(w))))),
  };
}
