/** How often a spread drain sends its next batch of 1012s. */
export const DRAIN_BATCH_INTERVAL = 100;

/**
 * Sends each of `connections` away (`sendAway`: close 1012), spread evenly over `spread` ms in
 * batches every {@link DRAIN_BATCH_INTERVAL} ms; all at once when `spread` is shorter than one
 * interval. The batches keep to the schedule counted from the start, not from the previous batch,
 * so a late timer (a busy node) catches up instead of stretching the drain.
 *
 * Why the server paces it, and not only the clients' random reconnect delay: a node's clients all
 * reconnect to the others, which take them at their connect rate (an authenticated connect and a
 * resume with its replay cost milliseconds of CPU each). A herd that arrives faster than that
 * queues past the clients' deadlines, and attempts given up and retried add to the queue. Spread
 * here, the herd's rate is set by the one operator who knows the cluster's capacity, for every
 * client (this SDK's, a browser's own code, another language's), and the connections still
 * waiting their turn are served as usual meanwhile: they miss nothing, so their resume has less
 * to replay. (Phoenix's socket drainer does the same, in batches.)
 */
export async function sendAwaySpread<T>(
  connections: readonly T[],
  spread: number,
  sendAway: (connection: T) => void,
  /** True once nobody is left to send away (all closed meanwhile): the schedule ends early. */
  allGone: () => boolean = () => false,
): Promise<void> {
  const batches = Math.max(1, Math.floor(spread / DRAIN_BATCH_INTERVAL));
  const startedAt = Date.now();
  for (let batch = 0; batch < batches; batch++) {
    // A batch already due (the first; those a late timer left behind) goes out in this turn.
    const wait = startedAt + (batch * spread) / batches - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (allGone()) return;
    const from = Math.floor((batch * connections.length) / batches);
    const to = Math.floor(((batch + 1) * connections.length) / batches);
    for (let i = from; i < to; i++) sendAway(connections[i]);
  }
}
