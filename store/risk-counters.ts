import type { Money } from '../domain/money';
import type { RiskDecision, RiskFacts } from '../domain/risk/rules';
import type { Database } from '../infra/db';
import { takeMinorHold, type HoldOutcome, type HoldRequest } from './minor-caps';
import { lockRiskSubjects, purgeWindowEvents, recordRiskDecision, riskFacts, type FactsRequest } from './risk';

/**
 * Where the risk step counts: the rules' windows (orders and amounts per subject, distinct users of a
 * device or IP, a device's first order, the user's day) and the minors' monthly holds. PostgreSQL
 * here; Redis in risk-redis.ts (with REDIS_URL), with the same contract and the same tests
 * (test/store/risk-counters.test.ts). A store never reads a count and writes it back apart: an
 * order's figures and its place in them are one atomic step.
 */

/** An order some rule applies to, as its counters see it. */
export interface CountedCheck extends FactsRequest {
  amount: Money;
  /** How far back any enabled rule looks (seconds): counts older than this may go. */
  retentionSeconds: number;
}

/** Takes a minor's hold in the same atomic scope as the decision (PostgreSQL: its transaction). */
export type TakeHold = (h: HoldRequest) => Promise<HoldOutcome>;

/** The rules' verdict over the facts, a minor's hold included (activities/risk.ts). */
export type Judge = (facts: RiskFacts, takeHold: TakeHold) => Promise<RiskDecision>;

export interface RiskCounters {
  readonly backend: 'postgresql' | 'redis';
  /**
   * Decides an order once: gathers its facts, lets `judge` decide, keeps the decision and, unless
   * it denies, the order's place in every window of its subjects. A re-run returns the decision kept.
   */
  decide(check: CountedCheck, judge: Judge): Promise<RiskDecision>;
  /** A minor's hold when no rule applies (idempotent by order id, atomic against concurrent orders). */
  takeMinorHold(h: HoldRequest): Promise<HoldOutcome>;
  /** The hold's compensation, once the order is closed, refunded, reversed or rejected at opening (idempotent). */
  giveBackMinorHold(orderId: string): Promise<void>;
  close(): Promise<void>;
}

/** Each process purges window rows no rule looks back to at most this often, as it writes new ones. */
const PURGE_EVERY_MS = 60_000;

/**
 * The counters in PostgreSQL: one transaction per decision under the subjects' advisory locks (see
 * lockRiskSubjects), holds by one conditional upsert. A hold is given back by the compensation's own
 * statement (minor-caps.ts releaseMinorHold), so giveBackMinorHold has nothing left to do.
 */
export function pgRiskCounters(database: Database): RiskCounters {
  let purgedAt = 0;
  const purgeOldWindows = async (now: Date, retentionSeconds: number) => {
    if (now.getTime() - purgedAt < PURGE_EVERY_MS) return;
    purgedAt = now.getTime();
    await purgeWindowEvents(database.sql, new Date(now.getTime() - retentionSeconds * 1000));
  };
  return {
    backend: 'postgresql',
    async decide(check, judge) {
      const { gameId, userId } = check.subject;
      const risk = await database.transaction(async (run) => {
        await lockRiskSubjects(run, gameId, check.keys);
        const { facts, earlier } = await riskFacts(run, check);
        if (earlier) return earlier;
        const decided = await judge(facts, (h) => takeMinorHold(run, h));
        await recordRiskDecision(run, { orderId: check.orderId, gameId, userId, amount: check.amount, keys: check.keys, now: check.now }, decided);
        return decided;
      });
      await purgeOldWindows(check.now, check.retentionSeconds);
      return risk;
    },
    takeMinorHold: (h) => takeMinorHold(database.sql, h),
    async giveBackMinorHold() {},
    async close() {},
  };
}
