import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { CONSUMPTION_ANSWER_WINDOW_MS } from '../../domain/stores/consumption';
import type { ConsumptionRequestInput } from '../contract';

const books = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

/**
 * One answer to a store's consumption request (`consumption-<channel>-<transactionId>`; resends and sweep
 * copies join it): kept, decided from the order's facts, sent — retried on 5xx and 429 until the
 * deadline (`signedDate` + 12 h), then MISSED.
 */
export async function consumptionAnswer(request: ConsumptionRequestInput): Promise<string> {
  await books.recordConsumptionRequest(request);
  const remainingMs = Date.parse(request.signedDate) + CONSUMPTION_ANSWER_WINDOW_MS - Date.now();
  if (remainingMs <= 1_000) {
    await books.closeConsumptionRequest({ request, outcome: 'MISSED' });
    return 'MISSED';
  }
  const answering = proxyActivities<Activities>({
    startToCloseTimeout: '1m',
    scheduleToCloseTimeout: remainingMs,
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '10m' },
  });
  try {
    return await answering.answerConsumptionRequest(request);
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    // Either the deadline fell during an attempt (a timeout), or the next retry would come after it
    // (the server stops retrying with the store's last failure and retry state TIMEOUT).
    const missed = cause instanceof TimeoutFailure || (err instanceof ActivityFailure && err.retryState === RetryState.TIMEOUT);
    const error = cause instanceof ApplicationFailure || cause instanceof Error ? cause.message : String(cause);
    await books.closeConsumptionRequest({ request, outcome: missed ? 'MISSED' : 'FAILED', error });
    return missed ? 'MISSED' : 'FAILED';
  }
}
