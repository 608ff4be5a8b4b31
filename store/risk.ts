import { Prisma } from '../generated/prisma/client';
import type { Money } from '../domain/money';
import { canonicalIp, networksContaining, parseCidr, parseIp, subnetOf } from '../domain/risk/network';
import {
  WINDOW_SUBJECTS,
  windowKey,
  type BlacklistKind,
  type RiskDecision,
  type RiskFacts,
  type RiskRule,
  type WindowQuery,
  type WindowSubject,
} from '../domain/risk/rules';
import type { Database, Db, RunSql } from '../infra/db';
import { piiDigest, sealPii, openPii, type PiiKeyring } from '../infra/pii';
import { CONFIG_CHANGED } from './channel-accounts';
import { join, sql, utc } from './sql';

/**
 * The risk module's books: operators' rules, the blacklist, the windows' counters and each order's
 * decision. IPs, subnets and device ids are kept only as lookup digests (infra/pii.ts); the
 * blacklist also seals them, to list them for operators.
 */

export interface RiskSubject {
  gameId: string;
  userId: string;
  clientIp?: string;
  deviceId?: string;
}

/** What an order is checked as: its subject, and (orders started since rules are data) its id and amount. */
export interface RiskCheck extends RiskSubject {
  orderId?: string;
  amount?: Money;
}

// ---- Digests -------------------------------------------------------------------------------------

/** The keys an order is counted and looked up by: the user id as is, the rest as digests. */
export interface SubjectKeys {
  USER: string;
  DEVICE?: string;
  IP?: string;
  SUBNET?: string;
  /** Digests of every network containing the IP (CIDR blacklist entries). */
  networks: string[];
}

export function subjectKeys(keyring: PiiKeyring, subject: RiskSubject): SubjectKeys {
  const ip = subject.clientIp === undefined ? undefined : parseIp(subject.clientIp);
  return {
    USER: subject.userId,
    ...(subject.deviceId !== undefined && { DEVICE: piiDigest(keyring, 'device', subject.deviceId) }),
    ...(ip && { IP: piiDigest(keyring, 'ip', canonicalIp(ip)), SUBNET: piiDigest(keyring, 'subnet', subnetOf(ip)) }),
    networks: ip ? networksContaining(ip).map((n) => piiDigest(keyring, 'cidr', n)) : [],
  };
}

/** A blacklist entry's canonical value and lookup key, or undefined when the value is not of its kind. */
export function blacklistLookup(keyring: PiiKeyring, kind: BlacklistKind, value: string): { canonical: string; lookup: string } | undefined {
  if (kind === 'USER') return { canonical: value, lookup: value };
  if (kind === 'DEVICE') return { canonical: value, lookup: piiDigest(keyring, 'device', value) };
  if (kind === 'IP') {
    const ip = parseIp(value);
    return ip && { canonical: canonicalIp(ip), lookup: piiDigest(keyring, 'ip', canonicalIp(ip)) };
  }
  const cidr = parseCidr(value);
  return cidr ? { canonical: cidr, lookup: piiDigest(keyring, 'cidr', cidr) } : undefined;
}

/** The subjects the order has (a window per subject it is counted in). */
export const windowSubjects = (keys: SubjectKeys): WindowSubject[] => WINDOW_SUBJECTS.filter((s) => keys[s] !== undefined);

// ---- Facts, under the subjects' locks --------------------------------------------------------------

/**
 * Serialises the risk checks of orders sharing a user, device, IP or subnet (transaction-scoped
 * advisory locks, taken in one order so two checks never wait on each other): a window's count and
 * the order's place in it are one atomic step, never a read another check races.
 */
export async function lockRiskSubjects(run: RunSql, gameId: string, keys: SubjectKeys): Promise<void> {
  const names = (['USER', 'DEVICE', 'IP', 'SUBNET'] as const).flatMap((s) => (keys[s] === undefined ? [] : [`${gameId}|${s}|${keys[s]}`]));
  await run(sql`SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))
    FROM (SELECT k FROM unnest(${names.sort()}::text[]) k ORDER BY k) locked`);
}

export interface FactsRequest {
  subject: RiskSubject;
  keys: SubjectKeys;
  orderId: string;
  currency: string;
  now: Date;
  /** Start of the built-in guard's window. */
  since: Date;
  windows: WindowQuery[];
  paidOrders: boolean;
  deviceFirstSeen: boolean;
  failureWindows: number[];
  /** Start of the game's day, when a daily total is needed. */
  dayStart?: Date;
}

const ago = (now: Date, seconds: number) => utc(new Date(now.getTime() - seconds * 1000).toISOString());

/** The facts, and the decision an earlier attempt kept for this order (a re-run returns it). */
export interface GatheredFacts {
  facts: RiskFacts;
  earlier?: RiskDecision;
}

/** Every fact the rules need, and the order's kept decision if any, in one statement. */
export async function riskFacts(run: RunSql, r: FactsRequest): Promise<GatheredFacts> {
  const { gameId, userId } = r.subject;
  const windows = r.windows.filter((w) => r.keys[w.subject] !== undefined);
  const windowFigures = windows.length
    ? sql`jsonb_build_object(${join(
        windows.map(
          (w) => sql`${windowKey(w)}::text, (SELECT jsonb_build_object('orders', count(*), 'amount',
              coalesce(sum(amount) FILTER (WHERE currency = ${r.currency}::text), 0),
              'otherUsers', count(DISTINCT user_id) FILTER (WHERE user_id <> ${userId}::text))
            FROM risk_window_events WHERE game_id = ${gameId}::text AND subject = ${w.subject}::text
              AND subject_key = ${r.keys[w.subject]!}::text AND at > ${ago(r.now, w.windowSeconds)}
              AND order_id <> ${r.orderId}::uuid)`,
        ),
      )})`
    : sql`NULL::jsonb`;
  const failures = r.failureWindows.length
    ? sql`jsonb_build_object(${join(
        r.failureWindows.map(
          (seconds) => sql`${String(seconds)}::text, (SELECT count(*) FROM payment_attempts pa JOIN orders o ON o.id = pa.order_id
            WHERE o.game_id = ${gameId}::text AND o.user_id = ${userId}::text AND pa.result = 'FAILED'
              AND pa.created_at > ${ago(r.now, seconds)})`,
        ),
      )})`
    : sql`NULL::jsonb`;
  const [row] = await run<{
    blacklisted: BlacklistKind[];
    recent: number;
    windows: Record<string, { orders: number; amount: number; otherUsers: number }> | null;
    failures: Record<string, number> | null;
    paid_count: number | null;
    paid_total: string | null;
    device_first_seen: Date | null;
    day_total: string | null;
    earlier: { decision: RiskDecision['decision']; reasons: string[]; hits: RiskDecision['hits'] | null } | null;
  }>(sql`
    SELECT (SELECT jsonb_build_object('decision', decision, 'reasons', reasons, 'hits', hits) FROM risk_decisions
        WHERE order_id = ${r.orderId}::uuid) AS earlier,
      ARRAY(
        SELECT DISTINCT kind FROM risk_blacklist
        WHERE (expires_at IS NULL OR expires_at > ${utc(r.now.toISOString())})
          AND ((kind = 'USER' AND value = ${userId}::text)
            OR (kind = 'DEVICE' AND value = ${r.keys.DEVICE ?? null}::text)
            OR (kind = 'IP' AND value = ${r.keys.IP ?? null}::text)
            OR (kind = 'CIDR' AND value = ANY(${r.keys.networks}::text[])))
      ) AS blacklisted,
      (SELECT count(*)::int FROM orders
        WHERE game_id = ${gameId}::text AND user_id = ${userId}::text AND created_at >= ${utc(r.since.toISOString())}
          AND id <> ${r.orderId}::uuid) AS recent,
      ${windowFigures} AS windows,
      ${failures} AS failures,
      ${r.paidOrders ? sql`(SELECT count(*)::int FROM orders WHERE game_id = ${gameId}::text AND user_id = ${userId}::text
          AND paid_at IS NOT NULL AND paid_currency = ${r.currency}::text AND id <> ${r.orderId}::uuid)` : sql`NULL::int`} AS paid_count,
      ${r.paidOrders ? sql`(SELECT coalesce(sum(paid_amount), 0) FROM orders WHERE game_id = ${gameId}::text AND user_id = ${userId}::text
          AND paid_at IS NOT NULL AND paid_currency = ${r.currency}::text AND id <> ${r.orderId}::uuid)` : sql`NULL::bigint`} AS paid_total,
      ${r.deviceFirstSeen && r.keys.DEVICE ? sql`(SELECT min(at) FROM risk_window_events WHERE game_id = ${gameId}::text
          AND subject = 'DEVICE' AND subject_key = ${r.keys.DEVICE}::text AND order_id <> ${r.orderId}::uuid)` : sql`NULL::timestamp`} AS device_first_seen,
      ${r.dayStart ? sql`(SELECT coalesce(sum(amount), 0) FROM risk_window_events WHERE game_id = ${gameId}::text
          AND subject = 'USER' AND subject_key = ${userId}::text AND currency = ${r.currency}::text
          AND at >= ${utc(r.dayStart.toISOString())} AND order_id <> ${r.orderId}::uuid)` : sql`NULL::bigint`} AS day_total`);
  const earlier = row!.earlier;
  const facts: RiskFacts = {
    blacklisted: row!.blacklisted,
    recentOrdersOfUser: row!.recent,
    windows: row!.windows ?? {},
    paymentFailures: Object.fromEntries(Object.entries(row!.failures ?? {}).map(([k, v]) => [Number(k), Number(v)])),
    ...(row!.paid_count !== null && { paidOrders: { count: row!.paid_count, total: Number(row!.paid_total) } }),
    deviceFirstSeenAt: row!.device_first_seen?.getTime() ?? null,
    ...(row!.day_total !== null && { dayTotal: Number(row!.day_total) }),
  };
  return { facts, ...(earlier && { earlier: { decision: earlier.decision, reasons: earlier.reasons, hits: earlier.hits ?? [] } }) };
}

/** The facts of an order checked before rules were data (no order id, no amount): the blacklist and the built-in guard. */
export async function legacyRiskFacts(run: RunSql, keys: SubjectKeys, subject: RiskSubject, now: Date, since: Date): Promise<RiskFacts> {
  const { facts } = await riskFacts(run, {
    subject,
    keys,
    orderId: '00000000-0000-0000-0000-000000000000',
    currency: '',
    now,
    since,
    windows: [],
    paidOrders: false,
    deviceFirstSeen: false,
    failureWindows: [],
  });
  return facts;
}

// ---- Decisions -----------------------------------------------------------------------------------

/**
 * Keeps the order's decision and, when risk let it through, its place in every window of its
 * subjects, in one statement (idempotent by order id). `windows: false`: the windows live elsewhere
 * (Redis, store/risk-redis.ts), the decision only.
 */
export async function recordRiskDecision(
  run: RunSql,
  check: { orderId: string; gameId: string; userId: string; amount: Money; keys: SubjectKeys; now: Date },
  risk: RiskDecision,
  { windows = true }: { windows?: boolean } = {},
): Promise<void> {
  const subjects = windows ? windowSubjects(check.keys) : [];
  const at = utc(check.now.toISOString());
  await run(sql`
    WITH decided AS (
      INSERT INTO risk_decisions (order_id, game_id, user_id, currency, amount, decision, reasons, hits, decided_at)
      VALUES (${check.orderId}::uuid, ${check.gameId}::text, ${check.userId}::text, ${check.amount.currency}::text,
        ${check.amount.value}::int, ${risk.decision}::text, ${risk.reasons}::text[], ${JSON.stringify(risk.hits ?? [])}::jsonb, ${at})
      ON CONFLICT (order_id) DO NOTHING
      RETURNING order_id
    )
    INSERT INTO risk_window_events (order_id, subject, game_id, subject_key, user_id, currency, amount, at)
    SELECT d.order_id, s.subject, ${check.gameId}::text, s.subject_key, ${check.userId}::text, ${check.amount.currency}::text,
      ${check.amount.value}::int, ${at}
    FROM decided d, unnest(${subjects}::text[], ${subjects.map((s) => check.keys[s]!)}::text[]) AS s(subject, subject_key)
    WHERE ${risk.decision}::text <> 'DENY'
    ON CONFLICT DO NOTHING`);
}

/** Deletes up to `limit` window rows older than `before` (no rule looks that far back); how many. */
export async function purgeWindowEvents(run: RunSql, before: Date, limit = 10_000): Promise<number> {
  const [row] = await run<{ n: number }>(sql`
    WITH purged AS (
      DELETE FROM risk_window_events WHERE ctid IN (
        SELECT ctid FROM risk_window_events WHERE at < ${utc(before.toISOString())} LIMIT ${limit}::int)
      RETURNING 1
    )
    SELECT count(*)::int AS n FROM purged`);
  return row!.n;
}

/** The game's clock (time zone, reset hour) its daily figures count in. */
export function gameClockOf(db: Db, gameId: string) {
  return db.game.findUniqueOrThrow({ where: { id: gameId }, select: { timeZone: true, dailyResetHour: true } });
}

/** An operator's decision on an order held for review (the first one stands). */
export async function recordOperatorDecision(db: Db, d: { orderId: string; decision: 'APPROVE' | 'DENY'; operator: string; reason: string }) {
  await db.riskDecision.updateMany({
    where: { orderId: d.orderId, operatorDecision: null },
    data: { operatorDecision: d.decision, operator: d.operator, operatorReason: d.reason, operatorDecidedAt: new Date() },
  });
}

export interface AmlReportRow {
  orderId: string;
  gameId: string;
  userId: string;
  amount: Money;
  ruleId: string;
  kind: string;
  decision: string;
  operatorDecision?: string;
  decidedAt: string;
}

/** Every order an AML_* rule hit, decided in [from, to), oldest first: one row per hit. */
export async function amlReport(run: RunSql, range: { from: string; to: string }): Promise<AmlReportRow[]> {
  const rows = await run<{
    order_id: string; game_id: string; user_id: string; currency: string; amount: number;
    rule_id: string; kind: string; decision: string; operator_decision: string | null; decided_at: Date;
  }>(sql`
    SELECT d.order_id, d.game_id, d.user_id, d.currency, d.amount, hit->>'ruleId' AS rule_id, hit->>'kind' AS kind,
      d.decision, d.operator_decision, d.decided_at
    FROM risk_decisions d, jsonb_array_elements(d.hits) AS hit
    WHERE d.decided_at >= ${utc(range.from)} AND d.decided_at < ${utc(range.to)} AND hit->>'kind' IN ('AML_SINGLE', 'AML_DAILY')
    ORDER BY d.decided_at, d.order_id, hit->>'ruleId'`);
  return rows.map((r) => ({
    orderId: r.order_id,
    gameId: r.game_id,
    userId: r.user_id,
    amount: { currency: r.currency, value: r.amount },
    ruleId: r.rule_id,
    kind: r.kind,
    decision: r.decision,
    ...(r.operator_decision !== null && { operatorDecision: r.operator_decision }),
    decidedAt: r.decided_at.toISOString(),
  }));
}

/** An order's risk decision as operators read it. */
export function riskDecisionOf(db: Db, orderId: string) {
  return db.riskDecision.findUnique({ where: { orderId } });
}

// ---- Rules ---------------------------------------------------------------------------------------

const ruleOf = (row: { id: string; kind: string; params: Prisma.JsonValue; action: string; enabled: boolean; gameId: string | null }) =>
  ({
    ruleId: row.id,
    kind: row.kind,
    params: row.params,
    action: row.action,
    enabled: row.enabled,
    ...(row.gameId !== null && { gameId: row.gameId }),
  }) as RiskRule;

export async function listRiskRules(db: Db): Promise<RiskRule[]> {
  return (await db.riskRule.findMany({ orderBy: { id: 'asc' } })).map(ruleOf);
}

/** Creates or replaces a rule, audited and announced to every process in one transaction. */
export async function putRiskRule(database: Database, rule: RiskRule, actor: string): Promise<RiskRule> {
  return database.db.$transaction(async (tx) => {
    const before = await tx.riskRule.findUnique({ where: { id: rule.ruleId } });
    const fields = {
      kind: rule.kind,
      params: rule.params as unknown as Prisma.InputJsonValue,
      action: rule.action,
      enabled: rule.enabled,
      gameId: rule.gameId ?? null,
    };
    const after = await tx.riskRule.upsert({ where: { id: rule.ruleId }, create: { id: rule.ruleId, ...fields }, update: fields });
    await tx.configAudit.create({
      data: {
        entity: 'risk_rule',
        entityId: rule.ruleId,
        actor,
        before: (before ? ruleOf(before) : undefined) as Prisma.InputJsonValue | undefined,
        after: ruleOf(after) as unknown as Prisma.InputJsonValue,
      },
    });
    await tx.$executeRaw(sql`SELECT pg_notify(${CONFIG_CHANGED}, 'risk_rules')`);
    return ruleOf(after);
  });
}

/** Removes a rule (audited, announced); false when there was none. */
export async function deleteRiskRule(database: Database, ruleId: string, actor: string): Promise<boolean> {
  return database.db.$transaction(async (tx) => {
    const before = await tx.riskRule.findUnique({ where: { id: ruleId } });
    if (!before) return false;
    await tx.riskRule.delete({ where: { id: ruleId } });
    await tx.configAudit.create({ data: { entity: 'risk_rule', entityId: ruleId, actor, before: ruleOf(before) as unknown as Prisma.InputJsonValue } });
    await tx.$executeRaw(sql`SELECT pg_notify(${CONFIG_CHANGED}, 'risk_rules')`);
    return true;
  });
}

// ---- Blacklist -----------------------------------------------------------------------------------

export interface BlacklistWrite {
  kind: BlacklistKind;
  value: string;
  reason?: string;
  expiresAt?: Date;
}

/** Adds or changes an entry (audited: kind, digest, reason, expiry; never the value itself). */
export async function putBlacklistEntry(database: Database, keyring: PiiKeyring, entry: BlacklistWrite, actor: string) {
  const { canonical, lookup } = blacklistLookup(keyring, entry.kind, entry.value)!;
  const fields = {
    sealedValue: entry.kind === 'USER' ? null : sealPii(keyring, canonical),
    reason: entry.reason ?? null,
    expiresAt: entry.expiresAt ?? null,
  };
  await database.db.$transaction(async (tx) => {
    await tx.riskBlacklist.upsert({
      where: { kind_value: { kind: entry.kind, value: lookup } },
      create: { kind: entry.kind, value: lookup, ...fields },
      update: fields,
    });
    await tx.configAudit.create({
      data: {
        entity: 'risk_blacklist',
        entityId: `${entry.kind}:${lookup}`,
        actor,
        after: { reason: fields.reason, expiresAt: fields.expiresAt?.toISOString() ?? null },
      },
    });
  });
  return { kind: entry.kind, value: canonical };
}

export async function removeBlacklistEntry(database: Database, keyring: PiiKeyring, kind: BlacklistKind, value: string, actor: string) {
  const found = blacklistLookup(keyring, kind, value);
  if (!found) return;
  await database.db.$transaction(async (tx) => {
    const { count } = await tx.riskBlacklist.deleteMany({ where: { kind, value: found.lookup } });
    if (count) await tx.configAudit.create({ data: { entity: 'risk_blacklist', entityId: `${kind}:${found.lookup}`, actor, after: Prisma.DbNull } });
  });
}

/** Every entry, its value opened for operators (an entry kept before values were sealed lists its digest). */
export async function listBlacklist(db: Db, keyring: PiiKeyring) {
  const rows = await db.riskBlacklist.findMany({ orderBy: { id: 'asc' } });
  return rows.map((row) => ({
    kind: row.kind as BlacklistKind,
    value: row.sealedValue === null ? row.value : openPii(keyring, row.sealedValue),
    ...(row.reason !== null && { reason: row.reason }),
    ...(row.expiresAt !== null && { expiresAt: row.expiresAt.toISOString() }),
    createdAt: row.createdAt.toISOString(),
  }));
}
