import { gameDay, gameDayStart, gameMonth } from '../domain/game-day';
import { MINOR_SPENDING_LIMIT, capFor, capRefusal, monthlyCeiling, type AgeBand } from '../domain/risk/minor-caps';
import { evaluateRisk, retentionSeconds, rulesFor, windowsNeeded, type RiskDecision, type RiskRule } from '../domain/risk/rules';
import type { ConfigChanges } from '../infra/config-changes';
import type { Db } from '../infra/db';
import { openPii } from '../infra/pii';
import { businessMetrics } from '../infra/metrics';
import { piiKeyring } from '../infra/pii';
import {
  gameClockOf,
  legacyRiskFacts,
  listRiskRules,
  lockRiskSubjects,
  purgeWindowEvents,
  recordRiskDecision,
  riskFacts,
  subjectKeys,
  type RiskCheck,
} from '../store/risk';
import { minorCapsContext, takeMinorHold } from '../store/minor-caps';
import type { RunSql } from '../infra/db';
import type { Money } from '../domain/money';
import type { ActivityDeps } from './deps';

/** How long a process may use the rules it read without a change notification (none is lost for longer). */
const RULES_MAX_AGE_MS = 1_000;
/** Each process purges the window rows no rule looks back to at most this often, as it writes new ones. */
const PURGE_EVERY_MS = 60_000;

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
 * decision with the order's place in its windows: one transaction under the subjects' locks, so
 * concurrent orders of one user, device or network are counted one after the other. An order no
 * rule applies to costs one read (the blacklist and the built-in guard) and keeps nothing.
 */
export function createRiskActivities({ database, config, changes }: ActivityDeps) {
  const rulesNow = riskRulesCache(database.db, changes);
  // Read at each check, as before rules were data: tests change the process's settings while it runs.
  const settings = () => ({ maxOrdersPerUserInWindow: config.RISK_MAX_ORDERS_PER_USER });
  let purgedAt = 0;
  /** Rows older than the longest look-back of any enabled rule (of any game) go. */
  const purgeOldWindows = async (now: Date) => {
    if (now.getTime() - purgedAt < PURGE_EVERY_MS) return;
    purgedAt = now.getTime();
    const enabled = (await rulesNow()).filter((r) => r.enabled);
    await purgeWindowEvents(database.sql, new Date(now.getTime() - retentionSeconds(enabled) * 1000));
  };
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
      const rules = rulesFor(await rulesNow(), check.gameId);
      const order = { amount, hasDevice: keys.DEVICE !== undefined, hasIp: keys.IP !== undefined, now: now.getTime() };
      const base = { subject: check, keys, orderId, currency: amount.currency, now, since };
      let risk: RiskDecision;
      if (rules.length === 0) {
        // The hot path: no rule applies, so nothing is counted or kept; the blacklist and the built-in
        // guard are one read (with the decision an earlier attempt may have kept when a rule applied).
        const { facts, earlier } = await riskFacts(database.sql, { ...base, windows: [], paidOrders: false, deviceFirstSeen: false, failureWindows: [] });
        risk = earlier ?? evaluateRisk(facts, settings(), [], order);
        if (!earlier && ageBand && region) risk = await holdMinorSpending(database.sql, { ...check, orderId, amount, region, ageBand, now }, risk);
      } else {
        const dayStart = rules.some((r) => r.kind === 'AML_DAILY') ? await dayStartOf(database.db, check.gameId, now) : undefined;
        risk = await database.transaction(async (run) => {
          await lockRiskSubjects(run, check.gameId, keys);
          const { facts, earlier } = await riskFacts(run, {
            ...base,
            windows: windowsNeeded(rules),
            paidOrders: rules.some((r) => r.kind === 'AMOUNT_ANOMALY'),
            deviceFirstSeen: rules.some((r) => r.kind === 'NEW_DEVICE_HIGH_VALUE'),
            failureWindows: [...new Set(rules.flatMap((r) => (r.kind === 'PAYMENT_FAILURES' ? [r.params.windowSeconds] : [])))],
            dayStart,
          });
          if (earlier) return earlier;
          let decided = evaluateRisk(facts, settings(), rules, order);
          if (ageBand && region) decided = await holdMinorSpending(run, { ...check, orderId, amount, region, ageBand, now }, decided);
          await recordRiskDecision(run, { orderId, gameId: check.gameId, userId: check.userId, amount, keys, now }, decided);
          return decided;
        });
        await purgeOldWindows(now);
      }
      businessMetrics.riskDecision(check.gameId, risk.decision, risk.reasons);
      return risk;
    },
  };
}

/**
 * A minor's order risk let through takes its hold on the user's month of the region's cap (one
 * atomic step); over a cap, it is denied with the cap's figures (403 MINOR_SPENDING_LIMIT). An adult,
 * or a region without caps, costs nothing.
 */
async function holdMinorSpending(
  run: RunSql,
  o: { orderId: string; gameId: string; userId: string; amount: Money; region: string; ageBand: AgeBand; now: Date },
  risk: RiskDecision,
): Promise<RiskDecision> {
  if (risk.decision === 'DENY' || o.ageBand === 'ADULT') return risk;
  const context = await minorCapsContext(run, o.region, o.gameId);
  const cap = capFor(o.ageBand, o.region, context.stored);
  if (!cap) return risk;
  const { held, used } = await takeMinorHold(run, {
    orderId: o.orderId,
    gameId: o.gameId,
    userId: o.userId,
    month: gameMonth(o.now, context.timeZone),
    amount: o.amount,
    ceiling: monthlyCeiling(cap, o.amount),
  });
  if (held) return risk;
  return { decision: 'DENY', reasons: [MINOR_SPENDING_LIMIT], hits: risk.hits ?? [], details: { ...capRefusal(cap, o.amount, used) } };
}

/** When the game's current day started (its time zone and reset hour). */
async function dayStartOf(db: Db, gameId: string, now: Date): Promise<Date> {
  const clock = await gameClockOf(db, gameId);
  return gameDayStart(gameDay(now, clock), clock);
}
