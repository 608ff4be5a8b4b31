import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ChannelError } from '../channels/http';
import type { ChannelAdapter, SweepPass, SweptRecord } from '../channels/types';
import { nextSweepWindow } from '../domain/sweeps/windows';
import { businessMetrics } from '../infra/metrics';
import { PurchasesClient } from '../infra/temporal';
import { orderForChannelEvent } from '../store/orders';
import { takeChannelEvent, takeConsumptionRequest, type IntakeDeps } from '../notifications/intake';
import { addSweepPage, closeStoreSweep, lastGoodSweepEnd, openStoreSweep, recordRecovery, resetSweepCounts } from '../store/store-sweeps';
import type { StoreSweepWindow } from '../workflows/contract';
import type { ActivityDeps } from './deps';
import { configuredAdapter } from './payments';

/** Apple's refusals that mean "ask this window again from its first page". */
const RESTART_WINDOW = new Set(['PAGINATION_TOKEN_EXPIRED', 'INVALID_PAGINATION_TOKEN']);

interface PageProgress {
  /** The store's cursor of the next page to read (absent: the first). */
  page?: string;
  restarts: number;
}

/**
 * A store sweep: what the store says it sent (or voided) is fed, item by item, to the one intake, as
 * its live notification would have been. A record is counted known when a copy of it was taken
 * before, recovered when this is its first copy. Pages are read in order; each is counted once, after
 * its items went through the intake, and the cursor is heartbeated: a retried attempt (after a 429,
 * a 5xx, a worker that died) resumes at the page it had not finished.
 */
export function createStoreSweepActivities({ database, channels, config }: ActivityDeps) {
  const { sql } = database;

  const sweepable = (channel: string, pass: SweepPass): ChannelAdapter & Required<Pick<ChannelAdapter, 'sweepPage' | 'sweep'>> => {
    const adapter = configuredAdapter(channels, channel);
    if (!adapter.sweepPage || !adapter.sweep?.passes.includes(pass)) {
      throw ApplicationFailure.nonRetryable(`channel ${channel} has no ${pass} sweep`, 'SWEEP_NOT_SUPPORTED');
    }
    return adapter as ChannelAdapter & Required<Pick<ChannelAdapter, 'sweepPage' | 'sweep'>>;
  };

  return {
    /** Opens the run (idempotent by its id): its window from the last good one of this pass. */
    async openStoreSweep(params: { sweepId: string; channel: string; pass: SweepPass }): Promise<StoreSweepWindow> {
      const adapter = sweepable(params.channel, params.pass);
      const lastGood = await lastGoodSweepEnd(sql, params.channel, params.pass);
      const window = nextSweepWindow(params.pass, new Date(), lastGood ? new Date(lastGood) : undefined, adapter.sweep.maxLookbackDays);
      const start = window.start.toISOString();
      const end = window.end.toISOString();
      await openStoreSweep(sql, { id: params.sweepId, channel: params.channel, pass: params.pass, start, end });
      return { ...params, start, end };
    },

    async sweepStorePages(window: StoreSweepWindow): Promise<{ pages: number }> {
      const ctx = Context.current();
      const adapter = sweepable(window.channel, window.pass);
      const intake: IntakeDeps = {
        database,
        config,
        purchases: new PurchasesClient(ctx.client, config.TEMPORAL_TASK_QUEUE, config.WORKFLOW_ANSWER_TIMEOUT_MS),
        log: { info: (f, m) => ctx.log.info(m, f as Record<string, unknown>), warn: (f, m) => ctx.log.warn(m, f as Record<string, unknown>) },
      };
      let progress: PageProgress = (ctx.info.heartbeatDetails as PageProgress | undefined) ?? { restarts: 0 };
      let pages = 0;
      for (;;) {
        let answer;
        try {
          answer = await adapter.sweepPage({
            pass: window.pass,
            start: new Date(window.start),
            end: new Date(window.end),
            page: progress.page,
            knownOrder: async (channelTradeNo) => (await orderForChannelEvent(database.db, window.channel, { channelTradeNo }))?.id,
          });
        } catch (err) {
          if (err instanceof ChannelError && RESTART_WINDOW.has(err.code) && progress.page !== undefined && progress.restarts < 3) {
            await resetSweepCounts(sql, window.sweepId);
            progress = { restarts: progress.restarts + 1 };
            ctx.heartbeat(progress);
            continue;
          }
          if (err instanceof ChannelError && !err.transient) throw ApplicationFailure.nonRetryable(`${err.code}: ${err.message}`, err.code);
          throw err;
        }
        const counts = { seen: answer.records.length, known: 0, recovered: 0, failed: 0 };
        for (const record of answer.records) counts[await takeRecord(intake, window, record)]++;
        await addSweepPage(sql, window.sweepId, counts);
        pages++;
        progress = { ...progress, page: answer.nextPage };
        ctx.heartbeat(progress);
        if (answer.nextPage === undefined) return { pages };
      }
    },

    async closeStoreSweep(params: { sweepId: string; channel: string; status: 'COMPLETED' | 'FAILED'; error?: string }): Promise<void> {
      await closeStoreSweep(sql, params.sweepId, params);
      businessMetrics.storeSweepRun(params.channel, params.status);
    },
  };

  /** One record through the intake: known (a copy came before), recovered (its first copy), or failed. */
  async function takeRecord(intake: IntakeDeps, window: StoreSweepWindow, record: SweptRecord): Promise<'known' | 'recovered' | 'failed'> {
    if (!record.notification) {
      intake.log.warn({ channel: window.channel, why: record.rejected }, 'a swept record does not verify: skipped');
      businessMetrics.storeSweepItem(window.channel, 'UNVERIFIED', 'failed');
      return 'failed';
    }
    if (record.notification.notice) intake.log.warn({ channel: window.channel, notice: record.notification.notice }, 'swept record notice (for operations)');
    let recovered = false;
    const asked = record.notification.consumptionRequest;
    if (asked) {
      const started = await takeConsumptionRequest(intake, { channel: window.channel, request: asked, source: 'SWEEP' });
      businessMetrics.storeSweepItem(window.channel, 'CONSUMPTION_REQUEST', started === 'STARTED' ? 'recovered' : 'known');
      if (started === 'STARTED') recovered = true;
    }
    for (const event of record.notification.events) {
      const outcome = await takeChannelEvent(intake, { channel: window.channel, event, source: 'SWEEP', rawBody: record.rawBody });
      businessMetrics.storeSweepItem(window.channel, event.kind, outcome.firstCopy ? 'recovered' : 'known');
      if (!outcome.firstCopy) continue;
      recovered = true;
      if (record.firstTriedAt) businessMetrics.storeRecoveryDelay(window.channel, (Date.now() - Date.parse(record.firstTriedAt)) / 1000);
      await recordRecovery(sql, {
        sweepId: window.sweepId,
        channel: window.channel,
        dedupeKey: event.dedupeKey,
        kind: event.kind,
        orderId: outcome.orderId,
        ...(record.firstTriedAt && { firstTriedAt: record.firstTriedAt }),
        ...(record.notification.notice && { notice: record.notification.notice }),
      });
    }
    return recovered ? 'recovered' : 'known';
  }
}
