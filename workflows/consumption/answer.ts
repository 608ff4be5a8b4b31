import { ActivityFailure, ApplicationFailure, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ConsumptionRequestInput } from '../contract';

/** Apple decides the refund 12 hours after it signed the request, with or without our answer. */
const ANSWER_WINDOW_MS = 12 * 3_600_000;

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
  const remainingMs = Date.parse(request.signedDate) + ANSWER_WINDOW_MS - Date.now();
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
    const missed = cause instanceof TimeoutFailure;
    const error = cause instanceof ApplicationFailure || cause instanceof Error ? cause.message : String(cause);
    await books.closeConsumptionRequest({ request, outcome: missed ? 'MISSED' : 'FAILED', error });
    return missed ? 'MISSED' : 'FAILED';
  }
}
