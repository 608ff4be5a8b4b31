import type { Prisma } from '../generated/prisma/client';
import type { Money } from '../domain/money';
import { BUILT_IN_MINOR_CAPS, type RegionCaps } from '../domain/risk/minor-caps';
import type { Database, RunSql } from '../infra/db';
import { CONFIG_CHANGED } from './channel-accounts';
import { NOW_UTC, sql, type Sql } from './sql';

/**
 * Minors' spending caps: the operators' caps per region, each user's month (`risk_minor_spend`) and
 * one hold per order on it (`risk_minor_holds`). A hold is taken by one conditional upsert (never
 * read-then-write) and given back by the order's compensations as a fragment of their statement.
 */

/** The region's caps as operators set them (undefined: the built-in ones, if any), and the game's time zone. */
export async function minorCapsContext(run: RunSql, region: string, gameId: string): Promise<{ stored?: RegionCaps; timeZone: string }> {
  const [row] = await run<{ currency: string | null; bands: RegionCaps['bands'] | null; time_zone: string | null }>(sql`
    SELECT (SELECT currency FROM risk_minor_caps WHERE region = ${region}::text) AS currency,
      (SELECT bands FROM risk_minor_caps WHERE region = ${region}::text) AS bands,
      (SELECT time_zone FROM games WHERE id = ${gameId}::text) AS time_zone`);
  return {
    ...(row!.currency !== null && { stored: { currency: row!.currency, bands: row!.bands ?? {} } }),
    timeZone: row!.time_zone ?? 'Asia/Shanghai',
  };
}

export interface HoldRequest {
  orderId: string;
  gameId: string;
  userId: string;
  /** YYYY-MM in the game's time zone. */
  month: string;
  amount: Money;
  /** The most the month may reach with this order; -1: no hold (see domain monthlyCeiling). */
  ceiling: number;
}

export interface HoldOutcome {
  held: boolean;
  /** What the month held before this order. */
  used: number;
}

/**
 * Takes the order's hold on its user's month if the month stays within the ceiling, in one
 * statement: the counter's conditional upsert is re-checked on the row's latest version, so
 * concurrent orders of one user never overshoot. A re-run finds the order's hold (held).
 */
export async function takeMinorHold(run: RunSql, h: HoldRequest): Promise<HoldOutcome> {
  const key = sql`${h.gameId}::text, ${h.userId}::text, ${h.month}::text, ${h.amount.currency}::text`;
  const [row] = await run<{ earlier: boolean; used_after: number | null; used_now: number | null }>(sql`
    WITH earlier AS (SELECT 1 FROM risk_minor_holds WHERE order_id = ${h.orderId}::uuid),
    bumped AS (
      INSERT INTO risk_minor_spend AS s (game_id, user_id, month, currency, used)
      SELECT ${key}, ${h.amount.value}::int WHERE NOT EXISTS (SELECT 1 FROM earlier) AND ${h.amount.value}::int <= ${h.ceiling}::int
      ON CONFLICT (game_id, user_id, month, currency) DO UPDATE SET used = s.used + excluded.used
        WHERE s.used + excluded.used <= ${h.ceiling}::int
      RETURNING s.used
    ), held AS (
      INSERT INTO risk_minor_holds (order_id, game_id, user_id, month, currency, amount)
      SELECT ${h.orderId}::uuid, ${key}, ${h.amount.value}::int FROM bumped
    )
    SELECT EXISTS (SELECT 1 FROM earlier) AS earlier, (SELECT used FROM bumped) AS used_after,
      (SELECT used FROM risk_minor_spend WHERE (game_id, user_id, month, currency) = (${key})) AS used_now`);
  if (row!.earlier) return { held: true, used: Math.max(0, (row!.used_now ?? h.amount.value) - h.amount.value) };
  if (row!.used_after !== null) return { held: true, used: row!.used_after - h.amount.value };
  return { held: false, used: row!.used_now ?? 0 };
}

/**
 * Compensation of the hold, for an order that moved (CTE `moved`) to CLOSED or REFUNDED: its amount
 * goes back to its month, once.
 */
export const releaseMinorHold: Sql = releaseHoldOf(sql`SELECT id FROM moved`);

/** The same for an order the opening statement rejected after risk held it (out of stock, a purchase limit). */
export const releaseMinorHoldOfRejected = (orderId: string): Sql =>
  releaseHoldOf(sql`SELECT id FROM created WHERE status = 'REJECTED' AND id = ${orderId}::uuid`);

function releaseHoldOf(orders: Sql): Sql {
  return sql`minor_released AS (
    UPDATE risk_minor_holds h SET released_at = ${NOW_UTC}
    WHERE h.order_id IN (${orders}) AND h.released_at IS NULL
    RETURNING h.game_id, h.user_id, h.month, h.currency, h.amount
  ), minor_returned AS (
    UPDATE risk_minor_spend s SET used = s.used - r.amount
    FROM minor_released r WHERE (s.game_id, s.user_id, s.month, s.currency) = (r.game_id, r.user_id, r.month, r.currency))`;
}

// ---- Operators' caps -------------------------------------------------------------------------------

/** Every region's caps: the operators' and the built-in ones they do not replace. */
export async function listMinorCaps(database: Database): Promise<Array<RegionCaps & { region: string; builtIn: boolean }>> {
  const rows = await database.db.riskMinorCap.findMany({ orderBy: { region: 'asc' } });
  const stored = rows.map((r) => ({ region: r.region, currency: r.currency, bands: r.bands as RegionCaps['bands'], builtIn: false }));
  const builtIn = Object.entries(BUILT_IN_MINOR_CAPS)
    .filter(([region]) => !rows.some((r) => r.region === region))
    .map(([region, caps]) => ({ region, ...caps, builtIn: true }));
  return [...stored, ...builtIn].sort((a, b) => a.region.localeCompare(b.region));
}

/** Sets a region's caps, audited in the same transaction. */
export async function putMinorCaps(database: Database, region: string, caps: RegionCaps, actor: string): Promise<RegionCaps & { region: string }> {
  return database.db.$transaction(async (tx) => {
    const before = await tx.riskMinorCap.findUnique({ where: { region } });
    const fields = { currency: caps.currency, bands: caps.bands as Prisma.InputJsonValue, updatedAt: new Date() };
    await tx.riskMinorCap.upsert({ where: { region }, create: { region, ...fields }, update: fields });
    await tx.$executeRaw(sql`SELECT pg_notify(${CONFIG_CHANGED}, 'risk_minor_caps')`);
    await tx.configAudit.create({
      data: {
        entity: 'risk_minor_caps',
        entityId: region,
        actor,
        ...(before && { before: { currency: before.currency, bands: before.bands as Prisma.InputJsonValue } }),
        after: { currency: caps.currency, bands: caps.bands as Prisma.InputJsonValue },
      },
    });
    return { region, ...caps };
  });
}
