import { tokenExpiry } from './token-source.js';

/** setTimeout fires at once for delays above 2³¹−1 ms; a refresh weeks away is clamped to this. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * With a token provider, asks for a fresh token before the current one's `exp`, so the server
 * never has to send `TOKEN_EXPIRED`: `margin` early, or halfway through the lifetime of a token
 * shorter than twice the margin (so short tokens are not refreshed in a tight loop).
 */
export class TokenRefresher {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly margin: number,
    private readonly refresh: () => void,
  ) {
    if (!(margin >= 0)) throw new RangeError(`tokenRefreshMargin must be >= 0 (got ${margin})`);
  }

  /** Plans the refresh of `token` (nothing for a token without `exp` or already expired). */
  schedule(token: string): void {
    this.cancel();
    const expiry = tokenExpiry(token);
    if (expiry === undefined) return;
    const remaining = expiry - Date.now();
    if (remaining <= 0) return;
    const delay = remaining > 2 * this.margin ? remaining - this.margin : remaining / 2;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.refresh();
      },
      Math.min(delay, MAX_TIMER_DELAY),
    );
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
