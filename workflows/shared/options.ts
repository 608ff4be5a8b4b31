import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { ActivityCancellationType, patched } from '@temporalio/workflow';
import { PATCHES, type MonthlyCardTiming, type PurchaseTiming } from '../contract';

/** Retry and timeout presets of the purchase workflows, written once. */

/** Database and channel steps back off from the configured interval, doubling, forever (money is held). */
export function stepRetry(timing: Pick<PurchaseTiming, 'activityRetryInitialMs' | 'activityRetryMaxMs'>): RetryPolicy {
  return {
    initialInterval: timing.activityRetryInitialMs,
    maximumInterval: timing.activityRetryMaxMs,
    backoffCoefficient: 2,
  };
}

/** Short database steps run as local activities: they keep the create call to one round trip. */
export const booksOptions = (timing: Pick<PurchaseTiming, 'activityRetryInitialMs' | 'activityRetryMaxMs'>): LocalActivityOptions => ({
  startToCloseTimeout: '10s',
  retry: stepRetry(timing),
});

/** Calls to the payment channel (close, refund, query), retried until they succeed. */
export const channelOptions = (timing: Pick<PurchaseTiming, 'activityRetryInitialMs' | 'activityRetryMaxMs'>): ActivityOptions => ({
  startToCloseTimeout: '30s',
  retry: stepRetry(timing),
});

/**
 * Opening the channel payment is retried until its time budget runs out (the workflow bounds it with
 * a timer: local activities do not enforce a schedule-to-close timeout across retries): a slow or
 * briefly failing channel costs the game a 503 and a retry with the same key, not a closed order.
 * A channel's final refusal is not retried (non-retryable failure). Orders started before the budget
 * existed keep their three attempts.
 */
export const openingChannelOptions = (timing: PurchaseTiming): LocalActivityOptions =>
  timing.channelOpenBudgetMs === undefined
    ? { startToCloseTimeout: '15s', retry: { ...stepRetry(timing), maximumAttempts: 3 } }
    : {
        startToCloseTimeout: '15s',
        retry: stepRetry(timing),
        // Each retry waits on a workflow timer, so the budget's timer can end the attempts on time.
        localRetryThreshold: 1,
      };

/**
 * Failover: an account with others behind it gets one try within its share of the failover budget;
 * a failure or a timeout moves on to the next account at once (the last one is retried, see above).
 */
export const failoverAttemptOptions = (slotMs: number): LocalActivityOptions => ({
  startToCloseTimeout: slotMs,
  retry: { maximumAttempts: 1 },
});

/**
 * Calls to the game server run on the fulfillment worker pool's task queue the order was started
 * with. Orders started without one, and histories recorded before the patch (a worker of the old code
 * scheduled the call on the workflow's queue), keep the workflow's own queue.
 */
function onFulfillmentQueue(timing: Pick<PurchaseTiming, 'fulfillmentTaskQueue'>): Pick<ActivityOptions, 'taskQueue'> {
  const taskQueue = timing.fulfillmentTaskQueue;
  return taskQueue !== undefined && patched(PATCHES.fulfillmentTaskQueue) ? { taskQueue } : {};
}

/** Telling the game to take goods back is retried like a delivery, for as long as a delivery. */
export const revocationOptions = (timing: PurchaseTiming): ActivityOptions => ({
  ...onFulfillmentQueue(timing),
  startToCloseTimeout: timing.deliveryAttemptTimeoutMs + 5_000,
  scheduleToCloseTimeout: timing.deliveryDeadlineMs,
  retry: {
    initialInterval: timing.deliveryRetryInitialMs,
    maximumInterval: timing.deliveryRetryMaxMs,
    backoffCoefficient: 2,
  },
});

/**
 * Delivery retries until the delivery deadline (`remainingMs` from now). A cancelled delivery
 * reports how its last attempt ended: goods the game took are never refunded.
 */
export const deliveryOptions = (timing: PurchaseTiming, remainingMs: number): ActivityOptions => ({
  ...onFulfillmentQueue(timing),
  startToCloseTimeout: timing.deliveryAttemptTimeoutMs + 5_000,
  scheduleToCloseTimeout: remainingMs,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: timing.deliveryRetryInitialMs,
    maximumInterval: timing.deliveryRetryMaxMs,
    backoffCoefficient: 2,
  },
});

/**
 * A monthly card's day is owed whatever happens: retried with the delivery backoff until the game
 * server takes it (days missed meanwhile follow in order once it answers).
 */
export const cardDayOptions = (timing: MonthlyCardTiming): ActivityOptions => ({
  ...onFulfillmentQueue(timing),
  startToCloseTimeout: timing.deliveryAttemptTimeoutMs + 5_000,
  retry: {
    initialInterval: timing.deliveryRetryInitialMs,
    maximumInterval: timing.deliveryRetryMaxMs,
    backoffCoefficient: 2,
  },
});
