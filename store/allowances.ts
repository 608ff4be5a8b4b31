import type { AllowanceTake, AllowanceTerms } from '../domain/catalog/allowances';
import type { RunSql } from '../infra/db';
import { NOW_UTC, empty, join, raw, sql, type Sql } from './sql';

/**
 * Per-user allowances (units per game day and ever, a non-consumable owned, a first-purchase bonus
 * claimed): counters in `user_allowances`, each taken by one conditional write on its row when the
 * order opens, given back when it is closed or refunded before delivery, kept when delivered
 * (ownership also ends with a refund or chargeback after it). Statement fragments carried by the
 * order's own statements, beside the stock's (store/stock.ts).
 */

export interface AllowanceOwner {
  orderId: string;
  gameId: string;
  userId: string;
}

const cte = (i: number) => raw(`allowance_${i}`);

/**
 * CTEs `allowance_<i>`, one per take: adds its quantity to the counter unless that passes the limit
 * (or the order is refused already: `refused` is a text parameter, NULL when not); the row comes
 * back only when taken. Concurrent takes of one row wait for each other (ON CONFLICT locks it).
 */
export function takeAllowances(o: AllowanceOwner, terms: AllowanceTerms | undefined, refused: string | null): Sql[] {
  return (terms?.takes ?? []).map(
    (t, i) => sql`${cte(i)} AS (
      INSERT INTO user_allowances AS u (game_id, user_id, key, used, order_id, updated_at)
      SELECT ${o.gameId}::text, ${o.userId}::text, ${t.key}::text, ${t.quantity}::int, ${o.orderId}::uuid, ${NOW_UTC}
      WHERE ${refused}::text IS NULL AND ${t.quantity}::int <= ${t.limit}::int
      ON CONFLICT (game_id, user_id, key) DO UPDATE
        SET used = u.used + excluded.used, order_id = excluded.order_id, updated_at = excluded.updated_at
        WHERE u.used + excluded.used <= ${t.limit}::int
      RETURNING key)`,
  );
}

const refusing = (t: AllowanceTake) => t.kind !== 'BONUS';

/** Text: the key of the first take that refuses the order (a bonus never does), NULL when none. */
export function allowanceRefused(terms: AllowanceTerms | undefined): Sql {
  const whens = (terms?.takes ?? []).flatMap((t, i) => (refusing(t) ? [sql`WHEN NOT EXISTS (SELECT 1 FROM ${cte(i)}) THEN ${t.key}::text`] : []));
  return whens.length ? sql`(CASE ${join(whens, ' ')} END)` : sql`NULL::text`;
}

/** Boolean: the order claimed its first-purchase bonus. */
export function bonusClaimed(terms: AllowanceTerms | undefined): Sql {
  const i = terms?.takes.findIndex((t) => t.kind === 'BONUS') ?? -1;
  return i >= 0 ? sql`EXISTS (SELECT 1 FROM ${cte(i)})` : sql`false`;
}

/** CTE recording, for the order the CTE `created` opened, each take that was taken. */
export function recordAllowances(o: AllowanceOwner, terms: AllowanceTerms | undefined): Sql {
  const takes = terms?.takes ?? [];
  if (takes.length === 0) return empty;
  const rows = takes.map(
    (t, i) => sql`SELECT created.id, ${t.key}::text, ${o.gameId}::text, ${o.userId}::text, ${t.kind}::text, ${t.quantity}::int
      FROM created, ${cte(i)}`,
  );
  return sql`, allowances_taken AS (
      INSERT INTO order_allowances (order_id, key, game_id, user_id, kind, quantity, status, updated_at)
      SELECT r.*, 'TAKEN', ${NOW_UTC} FROM (${join(rows, ' UNION ALL ')}) r)`;
}

/**
 * Compensation of the takes, for an order that moved (CTE `moved`) to CLOSED or REFUNDED: what it
 * took and was not delivered goes back; ownership ends even after delivery.
 */
export const releaseAllowances: Sql = sql`allowances_released AS (
    UPDATE order_allowances a SET status = 'RELEASED', updated_at = ${NOW_UTC}
    FROM moved WHERE a.order_id = moved.id AND (a.status = 'TAKEN' OR (a.status = 'COMMITTED' AND a.kind = 'OWNED'))
    RETURNING a.game_id, a.user_id, a.key, a.quantity
  ), allowances_returned AS (
    UPDATE user_allowances u SET used = u.used - r.quantity, updated_at = ${NOW_UTC}
    FROM allowances_released r WHERE u.game_id = r.game_id AND u.user_id = r.user_id AND u.key = r.key)`;

/**
 * The units an unpaid order held go back once it is paid (CTE `moved`: PAID, MANUAL_REVIEW or
 * RISK_REVIEW): the cap counts unpaid orders only. Its closing gives them back with the rest.
 */
export const releasePending: Sql = sql`pending_released AS (
    UPDATE order_allowances a SET status = 'RELEASED', updated_at = ${NOW_UTC}
    FROM moved WHERE a.order_id = moved.id AND a.kind = 'PENDING' AND a.status = 'TAKEN'
    RETURNING a.game_id, a.user_id, a.key, a.quantity
  ), pending_returned AS (
    UPDATE user_allowances u SET used = u.used - r.quantity, updated_at = ${NOW_UTC}
    FROM pending_released r WHERE u.game_id = r.game_id AND u.user_id = r.user_id AND u.key = r.key)`;

/** The takes become final, for an order that moved (CTE `moved`) to DELIVERED. */
export const commitAllowances: Sql = sql`allowances_committed AS (
    UPDATE order_allowances a SET status = 'COMMITTED', updated_at = ${NOW_UTC}
    FROM moved WHERE a.order_id = moved.id AND a.status = 'TAKEN')`;

/** What the user has used of each counter (for a refusal's figures). */
export async function usedAllowances(run: RunSql, gameId: string, userId: string, keys: string[]): Promise<Record<string, { used: number; orderId: string }>> {
  const rows = await run<{ key: string; used: number; order_id: string }>(sql`
    SELECT key, used, order_id::text FROM user_allowances WHERE game_id = ${gameId}::text AND user_id = ${userId}::text AND key = ANY(${keys}::text[])`);
  return Object.fromEntries(rows.map((r) => [r.key, { used: r.used, orderId: r.order_id }]));
}

/** Rows (key, used) of a user's counters of a game that hold something. */
export const userCounters = (gameId: string, userId: string): Sql =>
  sql`SELECT key, used FROM user_allowances WHERE game_id = ${gameId}::text AND user_id = ${userId}::text AND used > 0`;

/** A user's counters of a game: key → used. */
export async function userAllowances(run: RunSql, gameId: string, userId: string): Promise<Map<string, number>> {
  const rows = await run<{ key: string; used: number }>(userCounters(gameId, userId));
  return new Map(rows.map((r) => [r.key, r.used]));
}
