import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  isCancellation,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { FAILURE, type PurchaseInput } from '../contract';
import { booksOptions, failoverAttemptOptions, openingChannelOptions } from '../shared/options';
import type { OrderState } from './order-state';

/** Orders without a failover budget in their timing (built by hand) keep the old opening budget. */
const DEFAULT_OPEN_BUDGET_MS = 30_000;

type CreatedPayment = Awaited<ReturnType<Activities['openChannelAttempt']>>;

/**
 * Step 3 with failover: opens the payment at the ranked accounts in turn, until one opens it or the
 * budget is spent — CHANNEL_FAILOVER_BUDGET_MS with accounts to fall back on, the account's own
 * opening budget when it is the only one. Each account gets the remaining budget shared among the
 * accounts still to try (a hung account cannot starve the next), and every attempt is recorded. The
 * order's channel moves with the opening (books, search attribute, snapshot: `order.switchChannel`;
 * every later step reads `order.channel`). Throws CHANNEL_UNAVAILABLE when every account failed.
 */
export async function openWithFailover(input: PurchaseInput, order: OrderState, candidates: string[]): Promise<CreatedPayment> {
  const { orderId, timing } = input;
  const { expiresAt } = order;
  const books = proxyLocalActivities<Activities>(booksOptions(timing));
  const budgetMs = (candidates.length > 1 ? timing.channelFailoverBudgetMs : undefined) ?? timing.channelOpenBudgetMs ?? DEFAULT_OPEN_BUDGET_MS;
  const deadline = Date.now() + budgetMs;

  for (const [index, channel] of candidates.entries()) {
    const attempt = index + 1;
    const left = candidates.length - index;
    const slotMs = Math.max(1, Math.floor((deadline - Date.now()) / left));
    const opening = proxyLocalActivities<Activities>(left === 1 ? openingChannelOptions(timing) : failoverAttemptOptions(slotMs));
    let created: CreatedPayment | undefined;
    try {
      created = await CancellationScope.withTimeout(slotMs, () =>
        opening.openChannelAttempt({
          orderId,
          attempt,
          channel,
          amount: input.amount,
          subject: input.itemName,
          expiresAt,
          userId: input.userId,
          platform: input.platform,
          storeProductId: input.storeProductId,
          clientIp: input.clientIp,
          clientIpSealed: input.clientIpSealed,
        }),
      );
    } catch (err) {
      // An account that opened just as its time ran out is taken rather than a second payment elsewhere.
      created = await books.endChannelAttempt({
        orderId,
        attempt,
        channel,
        outcome: timedOut(err) ? 'TIMED_OUT' : 'FAILED',
        error: err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err),
      });
    }
    if (created) {
      order.switchChannel(channel);
      return created;
    }
  }
  throw ApplicationFailure.nonRetryable('no eligible channel account could open the payment', FAILURE.channelUnavailable);
}

/** Its time ran out: the workflow's timer cancelled it, or its own start-to-close timeout fired first. */
function timedOut(err: unknown): boolean {
  return isCancellation(err) || (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure);
}
