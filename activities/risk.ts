import { gameDay, gameDayStart, gameMonth, type GameClock } from '../domain/game-day';
import { MINOR_SPENDING_LIMIT, capFor, capRefusal, monthlyCeiling, type AgeBand } from '../domain/risk/minor-caps';
import { evaluateRisk, retentionSeconds, rulesFor, windowsNeeded, type RiskDecision } from '../domain/risk/rules';
import type { ConfigChanges } from '../infra/config-changes';
import type { Logger } from 'pino';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db';
import { openRedis } from '../infra/redis';
import { redisRiskCounters } from '../store/risk-redis';
import { openPii } from '../infra/pii';
import { businessMetrics } from '../infra/metrics';
import { piiKeyring } from '../infra/pii';
import { gameClockOf, legacyRiskFacts, listRiskRules, riskFacts, subjectKeys, type RiskCheck } from '../store/risk';
import { minorCapsContext } from '../store/minor-caps';
import { pgRiskCounters, type CountedCheck, type RiskCounters, type TakeHold } from '../store/risk-counters';
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

/** How long a process may use the configuration it read without a change notification (none is lost for longer). */
const SETTINGS_MAX_AGE_MS = 1_000;

/**
 * What the risk step reads of the configuration (the operators' rules, a game's clock, a region's
 * minors' caps), kept per key for at most a second and dropped at once when `topics` announce a
 * change: the step's hot path reads the books, not its settings.
 */
export function recentSettings<T>(load: (key: string) => Promise<T>, changes: ConfigChanges | undefined, topics: string[]) {
  const loaded = new Map<string, { at: number; value: Promise<T> }>();
  for (const topic of topics) changes?.on(topic, async () => loaded.clear());
  return (key: string): Promise<T> => {
    const kept = loaded.get(key);
    if (kept && Date.now() - kept.at <= SETTINGS_MAX_AGE_MS) return kept.value;
    const value = load(key);
    loaded.set(key, { at: Date.now(), value });
    value.catch(() => loaded.delete(key));
    return value;
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
  const rulesNow = recentSettings(() => listRiskRules(database.db), changes, ['risk_rules']);
  const clockOf = recentSettings((gameId) => gameClockOf(database.db, gameId), changes, ['games']);
  const capsContextOf = recentSettings((key) => minorCapsContext(database.sql, ...(JSON.parse(key) as [string, string])), changes, ['games', 'risk_minor_caps']);
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
      const enabled = (await rulesNow('')).filter((r) => r.enabled);
      const rules = rulesFor(enabled, check.gameId);
      const order = { amount, hasDevice: keys.DEVICE !== undefined, hasIp: keys.IP !== undefined, now: now.getTime() };
      const minor = ageBand && region ? await minorCapOf(capsContextOf, { gameId: check.gameId, region, ageBand, now }) : undefined;
      const hold = (take: TakeHold, risk: RiskDecision) => holdMinorSpending(take, minor, { ...check, orderId, amount }, risk);
      const base = { subject: check, keys, orderId, currency: amount.currency, now, since };
      let risk: RiskDecision;
      if (rules.length === 0) {
        // The hot path: no rule applies, so nothing is counted or kept; the blacklist and the built-in
        // guard are one read (with the decision an earlier attempt may have kept when a rule applied).
        const { facts, earlier } = await riskFacts(database.sql, { ...base, windows: [], paidOrders: false, deviceFirstSeen: false, failureWindows: [] });
        risk = earlier ?? (await hold((h) => counters.takeMinorHold(h), evaluateRisk(facts, settings(), [], order)));
      } else {
        const dayStart = rules.some((r) => r.kind === 'AML_DAILY') ? dayStartOf(await clockOf(check.gameId), now) : undefined;
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
async function minorCapOf(contextOf: (key: string) => ReturnType<typeof minorCapsContext>, o: { gameId: string; region: string; ageBand: AgeBand; now: Date }) {
  if (o.ageBand === 'ADULT') return undefined;
  const context = await contextOf(JSON.stringify([o.region, o.gameId]));
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
function dayStartOf(clock: GameClock, now: Date): Date {
  return gameDayStart(gameDay(now, clock), clock);
}
