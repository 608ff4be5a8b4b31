import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';

/**
 * Retry and timeout presets of reconciliation. The heavy steps heartbeat: a worker that dies is
 * noticed within the heartbeat timeout, and the step resumes on another worker from what it
 * committed. Outages are retried for hours; a statement the channel refuses fails the run.
 */
const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 50 };

/** Staging a statement of a million lines, matching it, repairing, rolling up: minutes at most. */
export const heavyStepOptions: ActivityOptions = {
  startToCloseTimeout: '1h',
  heartbeatTimeout: '30s',
  retry,
};

/** Bookkeeping of the run itself. */
export const runBookOptions: ActivityOptions = {
  startToCloseTimeout: '1m',
  retry,
};
