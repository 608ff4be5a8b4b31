import {
  ApplicationFailure,
  ParentClosePolicy,
  type RetryPolicy,
  continueAsNew,
  executeChild,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { Activities } from '../../activities';
import { RECONCILIATION, type ReconciliationOutcome, type ReconciliationRun } from '../contract';
import { heavyStepOptions, runBookOptions, stepRetry } from './options';

/** Set by Temporal on every workflow a schedule starts. */
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', 'DATETIME');
const scheduling = proxyActivities<Activities>(runBookOptions(stepRetry));

/** Children started by one parent before it continues as new: its history stays small for long ranges. */
const RUNS_PER_HISTORY = 100;

/**
 * One channel account's statement day: stage the statement, match it against our books, repair what
 * is safe, close the run, roll up the day's reports. The heavy work is in heartbeating activities;
 * this history has a handful of events whatever the size of the day. A step whose bounded retries
 * run out ends the run FAILED with its error (`retry`: the steps' policy, shortened by tests).
 */
export async function reconcileChannelDay(run: ReconciliationRun, retry: RetryPolicy = stepRetry): Promise<ReconciliationOutcome> {
  const heavy = proxyActivities<Activities>(heavyStepOptions(retry));
  const books = proxyActivities<Activities>(runBookOptions(retry));
  await books.startRun({ runId: run.runId });
  try {
    await heavy.stageStatement(run);
    const summary = await heavy.matchStatement(run);
    await heavy.repairDifferences({ runId: run.runId });
    await books.completeRun({ runId: run.runId });
    await heavy.rollUpReports({ channel: run.channel, date: run.date });
    const unsettled = (summary.resolutions.OPEN ?? 0) + (summary.resolutions.HELD_CROSS_DAY ?? 0);
    return { ...run, status: 'COMPLETED', unsettled };
  } catch (err) {
    await books.failRun({ runId: run.runId, error: describe(err) });
    return { ...run, status: 'FAILED', unsettled: 0 };
  }
}

/**
 * A finance request (API or CLI): its runs one after the other in date order — a day's run settles
 * the previous day's held differences — each a child workflow.
 */
export async function reconcileRuns(runs: ReconciliationRun[], done: ReconciliationOutcome[] = []): Promise<ReconciliationOutcome[]> {
  const outcomes = [...done];
  const ordered = [...runs].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  for (const [i, run] of ordered.entries()) {
    if (i === RUNS_PER_HISTORY) return continueAsNew<typeof reconcileRuns>(ordered.slice(i), outcomes);
    outcomes.push(
      await executeChild(reconcileChannelDay, {
        args: [run],
        workflowId: RECONCILIATION.runWorkflowId(run.runId),
        // A run started keeps going if its request is cancelled: its record must end COMPLETED or FAILED.
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }),
    );
  }
  return outcomes;
}

/** What a channel account's schedule starts each day: the previous calendar day, in the reconciliation time zone. */
export async function scheduledReconciliation(input: { channel: string }): Promise<ReconciliationOutcome[]> {
  const info = workflowInfo();
  // The time the schedule meant (a firing delayed or caught up still reconciles its own day).
  const scheduledAt = info.typedSearchAttributes.get(SCHEDULED_START_TIME) ?? info.startTime;
  const run = await scheduling.openScheduledRun({
    channel: input.channel,
    scheduledAt: scheduledAt.toISOString(),
    workflowId: info.workflowId,
  });
  return reconcileRuns([run]);
}

function describe(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'ERROR'}: ${cause.message}`;
  return err instanceof Error ? err.message : String(err);
}
