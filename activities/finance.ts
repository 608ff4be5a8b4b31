import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ChannelError } from '../channels/http';
import type { StatementRow } from '../channels/types';
import { REPAIRS, classify, recheckHeld } from '../domain/reconciliation/differences';
import { previousDay } from '../domain/reconciliation/days';
import { purchaseTiming } from '../infra/config';
import { PurchasesClient } from '../infra/temporal';
import {
  createRuns,
  findRun,
  markCompleted,
  markFailed,
  markRepaired,
  markStarted,
  matchRun,
  refreshSummary,
  repairCandidates,
  type RunSummary,
} from '../store/reconciliation';
import { rollUpDay } from '../store/reports';
import { discardStaged, stageChunk, stagedSoFar } from '../store/statements';
import type { ReconciliationRun } from '../workflows/contract';
import type { ActivityDeps } from './deps';

/** Orders told at once (each its own workflow signal or start). */
const REPAIR_PAGE = 20;
/** How often a long statement (a match that runs for seconds) tells Temporal it is alive. */
const HEARTBEAT_EVERY_MS = 2_000;

/**
 * Daily reconciliation, run by workflows/reconciliation: open a run, stage the channel's statement
 * (COPY, resumable), match it in set-based SQL, repair what is safe, close the run and roll up the
 * day's report aggregates. Each step is idempotent: a retry after a crash ends with the same result.
 */
export function createFinanceActivities({ database, channels, config }: ActivityDeps) {
  const { sql } = database;
  const adapterOf = (channel: string) => {
    const adapter = channels.get(channel);
    if (!adapter) throw ApplicationFailure.nonRetryable(`channel ${channel} is not configured`, 'CHANNEL_NOT_CONFIGURED');
    if (!adapter.supports.statement) {
      throw ApplicationFailure.nonRetryable(`channel ${channel} has no statements to reconcile`, 'STATEMENT_UNSUPPORTED');
    }
    return adapter;
  };
  const runOf = async (runId: string) => {
    const run = await findRun(sql, runId);
    if (!run) throw ApplicationFailure.nonRetryable(`no reconciliation run ${runId}`, 'RUN_NOT_FOUND');
    return run;
  };

  async function stageStatement(params: ReconciliationRun): Promise<{ lines: number }> {
    const ctx = Context.current();
    const adapter = adapterOf(params.channel);
    const staged = await stagedSoFar(sql, params.runId);
    let committed = staged.lines;
    const rows = adapter.fetchStatement(params.date)[Symbol.asyncIterator]();
    try {
      if (committed > 0 && (await skip(rows, committed)) !== staged.lastTradeNo) {
        ctx.log.warn('statement changed since the last attempt; staging it again', { runId: params.runId });
        await discardStaged(database, params.runId);
        return await stageStatement(params);
      }
      for (;;) {
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        const copied = await stageChunk(database, params.runId, committed + 1, rows);
        committed += copied;
        ctx.heartbeat({ lines: committed });
        if (copied === 0) return { lines: committed };
      }
    } catch (err) {
      throw finalOrTransient(err);
    } finally {
      await rows.return?.();
    }
  }

  return {
    /**
     * The run a schedule's firing reconciles: the channel's previous calendar day (in the
     * reconciliation time zone) before `scheduledAt`. One run per firing, however often retried.
     */
    async openScheduledRun(params: { channel: string; scheduledAt: string; workflowId: string }): Promise<ReconciliationRun> {
      const date = previousDay(new Date(params.scheduledAt), config.RECON_TIME_ZONE);
      const id = uuidFrom(`${params.workflowId}\u0000${params.channel}`);
      await createRuns(sql, [{ id, channel: params.channel, date, timeZone: config.RECON_TIME_ZONE, trigger: 'SCHEDULE' }]);
      return { runId: id, channel: params.channel, date };
    },

    async startRun(params: { runId: string }): Promise<void> {
      await markStarted(sql, params.runId, Context.current().info.workflowExecution?.workflowId ?? '');
    },

    /**
     * Streams the statement through the channel's adapter into statement_lines, in chunks that commit
     * with the run's progress. A retry (the worker was killed) resumes after the last committed line,
     * unless the statement no longer starts the same way: then it starts again.
     */
    stageStatement,

    /** Matches the staged statement against our books (one transaction; a repeat returns the result). */
    async matchStatement(params: ReconciliationRun): Promise<RunSummary> {
      const run = await runOf(params.runId);
      return whileHeartbeating(() =>
        matchRun(database, {
          runId: run.id,
          channel: run.channel,
          date: run.date,
          timeZone: run.timeZone,
          reportsOrphanGrants: config.RECON_ORPHAN_GRANTS_ACCOUNT === run.channel,
          classify,
          recheckHeld,
          unplaced: REPAIRS.BOOK_UNPLACED,
        }),
      );
    },

    /**
     * The channel took money for orders we never saw paid: each order's workflow is told, as by a
     * late notification (a waiting order is paid and delivered, a closed one refunds the money):
     * the findings the domain repairs by NOTIFY_ORDER.
     */
    async repairDifferences(params: { runId: string }): Promise<{ repaired: number }> {
      const ctx = Context.current();
      const purchases = new PurchasesClient(ctx.client, config.TEMPORAL_TASK_QUEUE, config.WORKFLOW_ANSWER_TIMEOUT_MS);
      let repaired = 0;
      for (let afterId: string | undefined; ; ) {
        const page = await repairCandidates(sql, {
          runId: params.runId,
          kind: REPAIRS.NOTIFY_ORDER.kind,
          reason: REPAIRS.NOTIFY_ORDER.reason,
          afterId,
          limit: REPAIR_PAGE,
        });
        if (page.length === 0) break;
        // A page's orders are told at once: each is its own workflow.
        await Promise.all(page.map(async (c) => {
          if (!c.channelPaymentId) return; // never opened at the channel: nothing to tell its workflow
          await purchases.notifyPayment(
            c.orderId,
            {
              // One notification per statement line, whoever repeats it (the workflow deduplicates by it).
              notificationId: `statement:${c.channelTradeNo}`,
              channelPaymentId: c.channelPaymentId,
              merchantOrderId: c.orderId,
              result: 'SUCCESS',
              channelTxnId: c.channelTradeNo,
              paid: { currency: c.currency, value: c.amount },
              paidAt: c.occurredAt,
            },
            purchaseTiming(config),
          );
          await markRepaired(sql, c.id, 'told the order of the payment, as a late notification (it ends delivered or refunded)');
          repaired += 1;
          ctx.heartbeat({ repaired });
        }));
        afterId = page[page.length - 1]!.id;
      }
      await refreshSummary(sql, params.runId);
      return { repaired };
    },

    async completeRun(params: { runId: string }): Promise<void> {
      await markCompleted(database, params.runId);
    },

    async failRun(params: { runId: string; error: string }): Promise<void> {
      await markFailed(sql, params.runId, params.error);
    },

    /** The day's report aggregates of this channel account, from the books (reports read only these). */
    async rollUpReports(params: { channel: string; date: string }): Promise<void> {
      await whileHeartbeating(() => rollUpDay(database, { channel: params.channel, date: params.date, timeZone: config.RECON_TIME_ZONE }));
    },
  };
}

/** Skips `count` rows; returns the trade number of the last one skipped. */
async function skip(rows: AsyncIterator<StatementRow>, count: number): Promise<string | undefined> {
  let last: string | undefined;
  for (let i = 0; i < count; i++) {
    const next = await rows.next();
    if (next.done) return undefined;
    last = next.value.channelTradeNo;
  }
  return last;
}

async function whileHeartbeating<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** A statement the channel refused or that does not parse fails the run; an outage is retried. */
function finalOrTransient(err: unknown): unknown {
  if (err instanceof ChannelError && !err.transient) return ApplicationFailure.nonRetryable(err.message, err.code);
  return err;
}

/** A stable UUID for a name (a schedule firing's run), formatted as a version 8 UUID. */
function uuidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

