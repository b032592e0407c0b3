import { type ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { ErrorCode, type RealtimeUser, RealtimeException } from '../../lib/index.js';

/**
 * `@nestjs/throttler`'s guard, keyed by the token's user instead of the client address: users
 * behind one NAT or proxy do not share a budget, and one user gets no more by changing address.
 * It must come after `RealtimeHttpAuthGuard` (which sets `request.user`) in `@UseGuards`.
 *
 * The 429 has the body of the module's other HTTP errors (`code: "RATE_LIMITED"`); the
 * throttler still sets `Retry-After` (seconds) before it is thrown.
 */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(request: { user?: RealtimeUser }): Promise<string> {
    if (request.user === undefined) {
      // A wiring mistake, not a client error: without a user, all posts would share one budget.
      return Promise.reject(new Error('UserThrottlerGuard must follow RealtimeHttpAuthGuard in @UseGuards'));
    }
    return Promise.resolve(`user:${request.user.id}`);
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const seconds = Math.round(detail.ttl / 1000);
    throw new RealtimeException(ErrorCode.RATE_LIMITED, `too many requests: at most ${detail.limit} per ${seconds} s`);
  }
}
