import type { RealtimeConnection } from '../connections/realtime-connection.js';

/** Error lines one connection may cause at once, then one more per {@link REFILL_MS}. */
const BURST = 5;
const REFILL_MS = 10_000;

interface Budget {
  credit: number;
  refilledAt: number;
  suppressed: number;
}

/**
 * How many error lines a connection may put in the server's log: a few at once, then one every
 * ten seconds; the lines held back are counted and reported with the next one let through. A
 * client that makes its handler fail on purpose (a reply too deep to serialize, say) would
 * otherwise write a stack trace per message, as fast as the rate limit lets it send. Kept in a
 * WeakMap: only connections that caused an error pay for it.
 */
export class ErrorLogBudget {
  private readonly budgets = new WeakMap<RealtimeConnection, Budget>();

  /**
   * Takes one line from `connection`'s budget: `undefined` when none is left (the line is
   * counted as held back), else how many lines were held back since the last one let through.
   */
  take(connection: RealtimeConnection, now = Date.now()): number | undefined {
    let budget = this.budgets.get(connection);
    if (budget === undefined) {
      budget = { credit: BURST, refilledAt: now, suppressed: 0 };
      this.budgets.set(connection, budget);
    }
    const refills = Math.floor((now - budget.refilledAt) / REFILL_MS);
    if (refills > 0) {
      budget.credit = Math.min(BURST, budget.credit + refills);
      budget.refilledAt += refills * REFILL_MS;
    }
    if (budget.credit === 0) {
      budget.suppressed++;
      return undefined;
    }
    budget.credit--;
    const suppressed = budget.suppressed;
    budget.suppressed = 0;
    return suppressed;
  }
}
