/**
 * The circuit breaker of one channel account, as pure rules over its shared record (the record lives
 * in PostgreSQL or Redis so that every API and worker process sees the same breaker; see
 * store/channel-health.ts). Times are milliseconds since the epoch, passed in: tests drive a fake clock.
 *
 *   CLOSED ── failure rate ≥ threshold over the window (with at least `minCalls` calls),
 *             or `consecutiveFailures` failures in a row ──▶ OPEN
 *   OPEN ── `cooldownMs` after it opened ──▶ HALF_OPEN: up to `halfOpenProbes` orders probe the account
 *   HALF_OPEN ── a success ──▶ CLOSED (its window starts afresh) │ a failure ──▶ OPEN (cool-down again)
 *
 * Only technical failures count (errors, timeouts, 5xx): a channel that answers — even to refuse —
 * is up, and a payer who is declined or abandons says nothing about the channel.
 */
export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface BreakerSettings {
  windowMs: number;
  minCalls: number;
  /** 0..1: the share of failed calls in the window that opens the breaker. */
  failureRate: number;
  consecutiveFailures: number;
  cooldownMs: number;
  halfOpenProbes: number;
}

export interface BreakerRecord {
  state: BreakerState;
  /** When the state last changed (for a new account: 0, closed since ever). */
  changedAt: number;
  consecutiveFailures: number;
  /** Probes let through in the current half-open round. */
  probes: number;
  /** Bumped by every write: concurrent writers compare and set. */
  version: number;
}

export const NEW_BREAKER: Readonly<BreakerRecord> = Object.freeze({
  state: 'CLOSED',
  changedAt: 0,
  consecutiveFailures: 0,
  probes: 0,
  version: 0,
});

/** Calls and technical failures in the breaker's window (see `windowStart`), this call included. */
export interface WindowCounts {
  calls: number;
  failures: number;
}

/** The state at `now`: an open breaker whose cool-down has passed lets probes through. */
export function stateAt(breaker: BreakerRecord, now: number, s: Pick<BreakerSettings, 'cooldownMs'>): BreakerState {
  return breaker.state === 'OPEN' && now >= breaker.changedAt + s.cooldownMs ? 'HALF_OPEN' : breaker.state;
}

/**
 * Calls before a breaker closed say nothing about the account since it recovered: the windows over
 * its calls (the breaker's, and routing's success rate) start no earlier than this.
 */
export function closedSince(breaker: BreakerRecord): number {
  return breaker.state === 'CLOSED' ? breaker.changedAt : 0;
}

/** Where the breaker's window starts: `windowMs` ago, or when the breaker closed if later. */
export function windowStart(breaker: BreakerRecord, now: number, s: Pick<BreakerSettings, 'windowMs'>): number {
  return Math.max(now - s.windowMs, closedSince(breaker));
}

/** The record after one call's outcome; the same object when nothing changes. */
export function afterOutcome(
  breaker: BreakerRecord,
  ok: boolean,
  window: WindowCounts,
  now: number,
  s: BreakerSettings,
): BreakerRecord {
  switch (stateAt(breaker, now, s)) {
    case 'CLOSED': {
      if (ok) return breaker.consecutiveFailures === 0 ? breaker : next(breaker, { consecutiveFailures: 0 });
      const consecutiveFailures = breaker.consecutiveFailures + 1;
      const rateExceeded = window.calls >= s.minCalls && window.failures >= s.failureRate * window.calls;
      if (consecutiveFailures >= s.consecutiveFailures || rateExceeded) {
        return next(breaker, { state: 'OPEN', changedAt: now, consecutiveFailures, probes: 0 });
      }
      return next(breaker, { consecutiveFailures });
    }
    case 'OPEN':
      // Calls that started before it opened (or retries of earlier orders) change nothing while it cools down.
      return breaker;
    case 'HALF_OPEN':
      return ok
        ? next(breaker, { state: 'CLOSED', changedAt: now, consecutiveFailures: 0, probes: 0 })
        : next(breaker, { state: 'OPEN', changedAt: now, consecutiveFailures: breaker.consecutiveFailures + 1, probes: 0 });
  }
}

/**
 * Asks to send one order to a half-open account as a probe. Granted while the round has probes left;
 * a round whose probes never reported (their processes died) starts again after a cool-down.
 */
export function claimProbe(breaker: BreakerRecord, now: number, s: BreakerSettings): { granted: boolean; record: BreakerRecord } {
  if (stateAt(breaker, now, s) !== 'HALF_OPEN') return { granted: false, record: breaker };
  const newRound = breaker.state === 'OPEN' || now >= breaker.changedAt + s.cooldownMs;
  if (newRound) return { granted: true, record: next(breaker, { state: 'HALF_OPEN', changedAt: now, probes: 1 }) };
  if (breaker.probes >= s.halfOpenProbes) return { granted: false, record: breaker };
  return { granted: true, record: next(breaker, { probes: breaker.probes + 1 }) };
}

function next(breaker: BreakerRecord, change: Partial<BreakerRecord>): BreakerRecord {
  return { ...breaker, ...change, version: breaker.version + 1 };
}
