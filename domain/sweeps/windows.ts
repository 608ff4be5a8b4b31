/**
 * Store sweep windows. Each run asks the store about [start, end); windows overlap, and a run starts
 * from the end of the last good window (a failed run is asked again by the next), never further back
 * than the store answers.
 *
 * - Apple FAILURES (hourly, `onlyFailures`): 8 days back from the last good end — Apple retries for
 *   about 6.5 days, so a notification that never reached us stays in it until Apple gave up.
 * - Apple ALL (daily, every record): 3 days back from the last good end — one we answered 2xx and
 *   lost (a restored database).
 * - Google VOIDED (hourly): Google filters on when it recorded the void, and a void recorded late
 *   would fall behind a tight cursor: the window starts 1 h before the last one ended and ends 5 min
 *   before now. The first run looks as far back as Google answers.
 */

export type SweepPassName = 'FAILURES' | 'ALL' | 'VOIDED';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

interface PassRule {
  /** How far before the last good end (or now) a window starts. */
  reachBackMs: number;
  /** How far before now a window ends. */
  settleMs: number;
  /** A first run (no good window yet) starts this far back; undefined: as far as the store answers. */
  firstRunMs?: number;
}

export const SWEEP_PASS_RULES: Record<SweepPassName, PassRule> = {
  FAILURES: { reachBackMs: 8 * DAY_MS, settleMs: 0, firstRunMs: 8 * DAY_MS },
  ALL: { reachBackMs: 3 * DAY_MS, settleMs: 0, firstRunMs: 3 * DAY_MS },
  VOIDED: { reachBackMs: HOUR_MS, settleMs: 5 * MINUTE_MS },
};

/** The store refuses a start older than its limit as measured when it answers: keep a margin. */
const LIMIT_MARGIN_MS = 10 * MINUTE_MS;

export interface SweepWindow {
  start: Date;
  end: Date;
}

/**
 * The next window of a pass: `lastGoodEnd` is the end of the last COMPLETED run of this pass (none:
 * a first run); `maxLookbackDays` is how far back the store answers (Apple 180, its sandbox 30; Google 30).
 */
export function nextSweepWindow(pass: SweepPassName, now: Date, lastGoodEnd: Date | undefined, maxLookbackDays: number): SweepWindow {
  const rule = SWEEP_PASS_RULES[pass];
  const end = now.getTime() - rule.settleMs;
  const limit = now.getTime() - maxLookbackDays * DAY_MS + LIMIT_MARGIN_MS;
  const wanted =
    lastGoodEnd !== undefined
      ? Math.min(lastGoodEnd.getTime(), end) - rule.reachBackMs
      : rule.firstRunMs !== undefined
        ? end - rule.firstRunMs
        : limit;
  const start = Math.min(Math.max(wanted, limit), end);
  return { start: new Date(start), end: new Date(end) };
}
