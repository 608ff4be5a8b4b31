import { gameDay, gameDayStart, gameMonth } from '../domain/game-day';
import { MINOR_SPENDING_LIMIT, capFor, capRefusal, monthlyCeiling, type AgeBand } from '../domain/risk/minor-caps';
import { evaluateRisk, retentionSeconds, rulesFor, windowsNeeded, type RiskDecision, type RiskRule } from '../domain/risk/rules';
import type { ConfigChanges } from '../infra/config-changes';
import type { Logger } from 'pino';
import type { Config } from '../infra/config';
import type { Database, Db } from '../infra/db';
import { openRedis } from '../infra/redis';
import { redisRiskCounters } from '../store/risk-redis';
import { openPii } from '../infra/pii';
import { businessMetrics } from '../infra/metrics';
import { piiKeyring } from '../infra/pii';
import { gameClockOf, legacyRiskFacts, listRiskRules, riskFacts, subjectKeys, type RiskCheck } from '../store/risk';
import { minorCapsContext } from '../store/minor-caps';
import { pgRiskCounters, type CountedCheck, type RiskCounters, type TakeHold } from '../store/risk-counters';
import type { RunSql } from '../infra/db';
import type { Money } from '../domain/money';
import type { ActivityDeps } from './deps';

/**
 * The process's risk counters, chosen once: Redis when REDIS_URL is set (its own connection, closed
 * with the counters), else PostgreSQL.
 */
export function openRiskCounters(config: Pick<Config, 'REDIS_URL'>, database: Database, log?: Pick<Logger, 'warn'>): RiskCounters {
  if (!config.REDIS_URL) return pgRiskCounters(database);
  const redis = openRedis(config.REDIS_URL);
  redis.on('error', (err) => log?.warn({ err: err.message }, 'redis (risk counters) unavailable'));
  const counters = redisRiskCounters(redis, database);
  return { ...counters, close: async () => void (await redis.quit().catch(() => redis.disconnect())) };
}

/** How long a process may use the rules it read without a change notification (none is lost for longer). */
const RULES_MAX_AGE_MS = 1_000;

/** The operators' rules as this process knows them: reloaded on `risk_rules` notifications, and at least every second. */
export function riskRulesCache(db: Db, changes?: ConfigChanges) {
  let loaded: { at: number; rules: Promise<RiskRule[]> } | undefined;
  changes?.on('risk_rules', async () => {
    loaded = undefined;
  });
  return () => {
    if (!loaded || Date.now() - loaded.at > RULES_MAX_AGE_MS) {
      const rules = listRiskRules(db);
      loaded = { at: Date.now(), rules };
      rules.catch(() => (loaded = undefined));
    }
    return loaded.rules;
  };
}

/**
 * Gathers the facts the risk rules need, lets the pure rules decide (domain/risk) and records the
 * decision with the order's place in its windows, through the process's counters (PostgreSQL, or
 * Redis with REDIS_URL: store/risk-counters.ts), so concurrent orders of one user, device or network
 * are counted one after the other. An order no rule applies to costs one read (the blacklist and
 * the built-in guard) and keeps nothing; a minor's order also takes its hold on the month.
 */
export function createRiskActivities({ database, config, changes, riskCounters }: ActivityDeps) {
  const counters = riskCounters ?? pgRiskCounters(database);
  const rulesNow = riskRulesCache(database.db, changes);
  // Read at each check, as before rules were data: tests change the process's settings while it runs.
  const settings = () => ({ maxOrdersPerUserInWindow: config.RISK_MAX_ORDERS_PER_USER });
  return {
    async checkRisk(input: RiskCheck & { clientIpSealed?: string; deviceIdSealed?: string; region?: string; ageBand?: AgeBand }): Promise<RiskDecision> {
      // Sealed in the workflow's input (an order started before sealing carries them plain); opened
      // here, in memory only: the subnet and blocklist digests need the address itself.
      const { clientIpSealed, deviceIdSealed, region, ageBand, ...plain } = input;
      const keyring = piiKeyring(config);
      const check: RiskCheck = {
        ...plain,
        ...(clientIpSealed && { clientIp: openPii(keyring, clientIpSealed) }),
        ...(deviceIdSealed && { deviceId: openPii(keyring, deviceIdSealed) }),
      };
      const keys = subjectKeys(keyring, check);
      const now = new Date();
      const since = new Date(now.getTime() - config.RISK_ORDER_WINDOW_MS);
      const { orderId, amount } = check;
      if (orderId === undefined || amount === undefined) {
        // Started before rules were data: the blacklist and the built-in guard only.
        const risk = evaluateRisk(await legacyRiskFacts(database.sql, keys, check, now, since), settings());
        businessMetrics.riskDecision(check.gameId, risk.decision, risk.reasons);
        return risk;
      }
      const enabled = (await rulesNow()).filter((r) => r.enabled);
      const rules = rulesFor(enabled, check.gameId);
      const order = { amount, hasDevice: keys.DEVICE !== undefined, hasIp: keys.IP !== undefined, now: now.getTime() };
      const minor = ageBand && region ? await minorCapOf(database.sql, { gameId: check.gameId, region, ageBand, now }) : undefined;
      const hold = (take: TakeHold, risk: RiskDecision) => holdMinorSpending(take, minor, { ...check, orderId, amount }, risk);
      const base = { subject: check, keys, orderId, currency: amount.currency, now, since };
      let risk: RiskDecision;
      if (rules.length === 0) {
        // The hot path: no rule applies, so nothing is counted or kept; the blacklist and the built-in
        // guard are one read (with the decision an earlier attempt may have kept when a rule applied).
        const { facts, earlier } = await riskFacts(database.sql, { ...base, windows: [], paidOrders: false, deviceFirstSeen: false, failureWindows: [] });
        risk = earlier ?? (await hold((h) => counters.takeMinorHold(h), evaluateRisk(facts, settings(), [], order)));
      } else {
        const dayStart = rules.some((r) => r.kind === 'AML_DAILY') ? await dayStartOf(database.db, check.gameId, now) : undefined;
        const counted: CountedCheck = {
          ...base,
          amount,
          windows: windowsNeeded(rules),
          paidOrders: rules.some((r) => r.kind === 'AMOUNT_ANOMALY'),
          deviceFirstSeen: rules.some((r) => r.kind === 'NEW_DEVICE_HIGH_VALUE'),
          failureWindows: [...new Set(rules.flatMap((r) => (r.kind === 'PAYMENT_FAILURES' ? [r.params.windowSeconds] : [])))],
          dayStart,
          retentionSeconds: retentionSeconds(enabled),
        };
        risk = await counters.decide(counted, (facts, take) => hold(take, evaluateRisk(facts, settings(), rules, order)));
      }
      businessMetrics.riskDecision(check.gameId, risk.decision, risk.reasons);
      return risk;
    },
  };
}

/** The cap a minor's order is held to and the month it counts in (the game's time zone), or undefined. */
async function minorCapOf(run: RunSql, o: { gameId: string; region: string; ageBand: AgeBand; now: Date }) {
  if (o.ageBand === 'ADULT') return undefined;
  const context = await minorCapsContext(run, o.region, o.gameId);
  const cap = capFor(o.ageBand, o.region, context.stored);
  return cap && { cap, month: gameMonth(o.now, context.timeZone) };
}

/**
 * A minor's order risk let through takes its hold on the user's month of the region's cap (one
 * atomic step); over a cap, it is denied with the cap's figures (403 MINOR_SPENDING_LIMIT). An adult,
 * or a region without caps, costs nothing.
 */
async function holdMinorSpending(
  take: TakeHold,
  minor: { cap: NonNullable<ReturnType<typeof capFor>>; month: string } | undefined,
  o: { orderId: string; gameId: string; userId: string; amount: Money },
  risk: RiskDecision,
): Promise<RiskDecision> {
  if (risk.decision === 'DENY' || !minor) return risk;
  const { held, used } = await take({
    orderId: o.orderId,
    gameId: o.gameId,
    userId: o.userId,
    month: minor.month,
    amount: o.amount,
    ceiling: monthlyCeiling(minor.cap, o.amount),
  });
  if (held) return risk;
  return { decision: 'DENY', reasons: [MINOR_SPENDING_LIMIT], hits: risk.hits ?? [], details: { ...capRefusal(minor.cap, o.amount, used) } };
}

/** When the game's current day started (its time zone and reset hour). */
async function dayStartOf(db: Db, gameId: string, now: Date): Promise<Date> {
  const clock = await gameClockOf(db, gameId);
  return gameDayStart(gameDay(now, clock), clock);
}
