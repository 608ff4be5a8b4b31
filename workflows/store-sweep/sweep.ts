import { ApplicationFailure, proxyActivities, uuid4 } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { StoreSweepWindow } from '../contract';

/** Bookkeeping of the run. */
const books = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

/**
 * Reading the store's pages: heartbeated (a retry resumes at the page), backing off on 429 and 5xx
 * for about half an hour before the run ends FAILED; the next run starts from the last good window.
 */
const pages = proxyActivities<Activities>({
  startToCloseTimeout: '30m',
  scheduleToCloseTimeout: '1h',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 12 },
});

/**
 * One run of a store account's sweep (a schedule's firing, or a request): open the run with its
 * window, feed every page to the intake, close the run COMPLETED, or FAILED with its error.
 */
export async function storeSweep(params: { channel: string; pass: StoreSweepWindow['pass'] }): Promise<StoreSweepWindow & { status: string }> {
  const window = await books.openStoreSweep({ sweepId: uuid4(), channel: params.channel, pass: params.pass });
  try {
    await pages.sweepStorePages(window);
  } catch (err) {
    await books.closeStoreSweep({ sweepId: window.sweepId, channel: window.channel, status: 'FAILED', error: describe(err) });
    return { ...window, status: 'FAILED' };
  }
  await books.closeStoreSweep({ sweepId: window.sweepId, channel: window.channel, status: 'COMPLETED' });
  return { ...window, status: 'COMPLETED' };
}

function describe(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof ApplicationFailure) return `${cause.type ?? 'Error'}: ${cause.message}`;
  return err instanceof Error ? (cause instanceof Error ? cause.message : err.message) : String(err);
}
