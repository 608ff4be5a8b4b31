import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';

/**
 * Retry and timeout presets of reconciliation. The heavy steps heartbeat: a worker that dies is
 * noticed within the heartbeat timeout, and the step resumes on another worker from what it
 * committed. Retries are bounded: a step that keeps failing (an outage longer than about ten minutes,
 * or a worker that dies on it every time) ends the run FAILED with its error instead of leaving it
 * RUNNING forever; finance reruns the day. A statement the channel refuses fails the run at once.
 */
export const stepRetry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 10 };

/** Staging a statement of a million lines, matching it, repairing, rolling up: minutes at most. */
export const heavyStepOptions = (retry: RetryPolicy): ActivityOptions => ({
  startToCloseTimeout: '1h',
  // However the attempts go, a step ends within this (then the run ends FAILED).
  scheduleToCloseTimeout: '3h',
  heartbeatTimeout: '30s',
  retry,
});

/** Bookkeeping of the run itself. */
export const runBookOptions = (retry: RetryPolicy): ActivityOptions => ({
  startToCloseTimeout: '1m',
  retry,
});
