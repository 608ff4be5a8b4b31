import { ORDER_EVENT_TYPES, type OrderEventRecord, type OrderEventType } from '../domain/orders/events';
import type { OrderStatus } from '../domain/orders/status';
import type { RunSql } from '../infra/db';
import { NOW_UTC, isoOf, join, raw, sql, type Sql } from './sql';

/**
 * The order events' outbox (`order_events`): a row per order change, written by the statement that
 * makes the change (a CTE riding in `openOrder`/`transitionOrder`, like the ledger's entries), so an
 * event exists exactly when its change committed. Its insert trigger notifies `order_events`; the
 * relay (infra/event-relay.ts) claims, publishes, marks and prunes through the functions below.
 */

/** The channel the writing statement notifies (at its commit). */
export const ORDER_EVENTS_CHANNEL = 'order_events';

/** The event type of a status column, in SQL (the domain's table, written once). */
const typeOf = (status: Sql) =>
  sql`CASE ${status} ${join(
    Object.entries(ORDER_EVENT_TYPES).map(([s, type]) => sql`WHEN ${s}::text THEN ${type}::text`),
    ' ',
  )} END`;

/**
 * CTE writing the event of the order that the CTE `source` (`created` of openOrder, `moved` of
 * transitionOrder) returned with its columns after the change.
 */
export function recordOrderEvent(source: 'created' | 'moved'): Sql {
  return sql`order_event AS (
      INSERT INTO order_events (order_id, sequence, type, game_id, user_id, sku, currency, amount, channel, status, reason, at)
      SELECT o.id, o.event_sequence, ${typeOf(sql`o.status`)}, o.game_id, o.user_id, o.sku, o.currency, o.amount,
        o.channel, o.status, o.status_reason, ${NOW_UTC}
      FROM ${raw(source)} o)`;
}

/** The columns `recordOrderEvent` reads from its source, for the order's RETURNING clauses. */
export const EVENT_SOURCE_COLUMNS = raw('id, game_id, user_id, sku, currency, amount, channel, status, status_reason, event_sequence');

export interface OutboxEvent extends OrderEventRecord {
  /** The row's id: publishing order across orders. */
  id: string;
  /** How long it has waited, by the database's clock. */
  ageSeconds: number;
}

interface OutboxRow {
  id: string;
  order_id: string;
  sequence: number;
  type: OrderEventType;
  game_id: string;
  user_id: string;
  sku: string;
  currency: string;
  amount: number;
  channel: string;
  status: OrderStatus;
  reason: string | null;
  at: string;
  age_seconds: number;
}

const eventOf = (r: OutboxRow): OutboxEvent => ({
  id: r.id,
  orderId: r.order_id,
  sequence: r.sequence,
  type: r.type,
  gameId: r.game_id,
  userId: r.user_id,
  sku: r.sku,
  amount: { currency: r.currency, value: r.amount },
  channel: r.channel,
  status: r.status,
  ...(r.reason !== null && { reason: r.reason }),
  at: r.at,
  ageSeconds: Number(r.age_seconds),
});

/** The oldest unpublished events (one relay publishes at a time: no lease is needed). */
export async function claimEvents(run: RunSql, limit: number): Promise<OutboxEvent[]> {
  const rows = await run<OutboxRow>(sql`
    SELECT e.id::text AS id, order_id::text, sequence, type, game_id, user_id, sku, currency, amount, channel, status, reason,
      ${isoOf(sql`at`)} AS at, extract(epoch FROM ${NOW_UTC} - at)::float8 AS age_seconds
    FROM order_events e WHERE published_at IS NULL
    -- e.id: the bigint (the output column id is its text, which would sort 10 before 9).
    ORDER BY e.id LIMIT ${limit}::int`);
  return rows.map(eventOf);
}

export async function markPublished(run: RunSql, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await run(sql`UPDATE order_events SET published_at = ${NOW_UTC}, attempts = attempts + 1, last_error = NULL
    WHERE id = ANY(${ids}::bigint[]) AND published_at IS NULL`);
}

/** Failed publications, kept for operations (the events stay unpublished and are tried again). */
export async function markFailed(run: RunSql, ids: readonly string[], error: string): Promise<void> {
  if (ids.length === 0) return;
  await run(sql`UPDATE order_events SET attempts = attempts + 1, last_error = ${error.slice(0, 500)}::text
    WHERE id = ANY(${ids}::bigint[]) AND published_at IS NULL`);
}

/** Deletes up to `limit` events published more than `hours` ago; returns how many. */
export async function pruneEvents(run: RunSql, hours: number, limit = 10_000): Promise<number> {
  const rows = await run<{ n: number }>(sql`
    WITH pruned AS (
      DELETE FROM order_events WHERE id IN (
        SELECT id FROM order_events
        WHERE published_at IS NOT NULL AND published_at < ${NOW_UTC} - make_interval(hours => ${hours}::int)
        ORDER BY published_at LIMIT ${limit}::int)
      RETURNING 1)
    SELECT count(*)::int AS n FROM pruned`);
  return rows[0]?.n ?? 0;
}

/** The outbox as the relay uses it, on one statement runner. */
export function orderOutbox(run: RunSql) {
  return {
    claim: (limit: number) => claimEvents(run, limit),
    markPublished: (ids: readonly string[]) => markPublished(run, ids),
    markFailed: (ids: readonly string[], error: string) => markFailed(run, ids, error),
    prune: (hours: number) => pruneEvents(run, hours),
  };
}
