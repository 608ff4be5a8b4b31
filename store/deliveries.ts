import type { AckResult } from '../domain/fulfillment/acks';
import type { DeliveryMode } from '../domain/fulfillment/modes';
import type { RunSql } from '../infra/db';
import type { SealedGameSecret } from './catalog';
import { NOW_UTC, isoOf, sql, type Sql } from './sql';

/** Deliveries: one per paid order (its deliveryId), with the outcome of each attempt. */

/**
 * Opens the delivery record of an order that moved (CTE `moved`) to DELIVERING. With `brokers`
 * (workflows that await acks) the game's mode and ack timeout are fixed on it; otherwise HTTP.
 */
export const openDelivery = (deliveryId: string, brokers = false): Sql =>
  brokers
    ? sql`delivery AS (
    INSERT INTO deliveries (id, order_id, status, mode, ack_timeout_ms, updated_at)
    SELECT ${deliveryId}::text, m.id, 'PENDING', g.delivery_mode, g.delivery_ack_timeout_ms, ${NOW_UTC}
    FROM moved m JOIN games g ON g.id = m.game_id ON CONFLICT DO NOTHING)`
    : sql`delivery AS (
    INSERT INTO deliveries (id, order_id, status, updated_at)
    SELECT ${deliveryId}::text, id, 'PENDING', ${NOW_UTC} FROM moved ON CONFLICT DO NOTHING)`;

export interface AttemptOutcome {
  statusCode?: number;
  error?: string;
}

/** Records one attempt (a success marks the delivery DELIVERED); runs whether or not the order moves. */
export const recordAttempt = (deliveryId: string, { statusCode, error }: AttemptOutcome): Sql => sql`attempt AS (
    UPDATE deliveries SET attempts = attempts + 1, last_status_code = ${statusCode ?? null}::int,
      last_error = ${error ?? null}::text, updated_at = ${NOW_UTC}
      ${error ? sql`` : sql`, status = 'DELIVERED', delivered_at = ${NOW_UTC}`}
    WHERE id = ${deliveryId}::text)`;

/** A failed attempt alone, in its own statement. */
export async function recordFailedAttempt(run: RunSql, deliveryId: string, outcome: AttemptOutcome): Promise<void> {
  await run(sql`WITH ${recordAttempt(deliveryId, outcome)} SELECT 1`);
}

export type { AckResult };

/** The mode fixed on the delivery when it started. */
export async function deliveryMode(run: RunSql, deliveryId: string): Promise<DeliveryMode | undefined> {
  const [row] = await run<{ mode: DeliveryMode }>(sql`SELECT mode FROM deliveries WHERE id = ${deliveryId}::text`);
  return row?.mode;
}

/** A broker attempt handed to the broker: counted, the delivery stays PENDING until the game's ack. */
export async function recordPublishedAttempt(run: RunSql, deliveryId: string): Promise<void> {
  await run(sql`UPDATE deliveries SET attempts = attempts + 1, last_status_code = NULL, last_error = NULL, updated_at = ${NOW_UTC}
    WHERE id = ${deliveryId}::text`);
}

/** Marks the delivery DELIVERED by the game's GRANTED ack (CTE riding in the order's move). */
export const deliveredByAck = (deliveryId: string): Sql => sql`acked AS (
    UPDATE deliveries SET status = 'DELIVERED', delivered_at = ${NOW_UTC}, updated_at = ${NOW_UTC}
    WHERE id = ${deliveryId}::text AND ack_result = 'GRANTED')`;

export interface DeliveryAckRow {
  id: string;
  order_id: string;
  game_id: string;
  mode: string;
  ack_result: AckResult | null;
  ack_reason: string | null;
  acknowledged_at: string | null;
  closed_at: string | null;
}

const ackColumns = sql`d.id, d.order_id::text AS order_id, o.game_id, d.mode, d.ack_result, d.ack_reason,
  ${isoOf(sql`d.acknowledged_at`)} AS acknowledged_at, ${isoOf(sql`d.closed_at`)} AS closed_at`;

/** The delivery as the ack route sees it (absent: no such delivery). */
export async function deliveryAck(run: RunSql, deliveryId: string): Promise<DeliveryAckRow | undefined> {
  const [row] = await run<DeliveryAckRow>(sql`SELECT ${ackColumns} FROM deliveries d JOIN orders o ON o.id = d.order_id WHERE d.id = ${deliveryId}::text`);
  return row;
}

/**
 * Records the game's ack unless one is recorded or the delivery was closed (first written wins); returns the
 * row as it stands after, so the caller sees what won.
 */
export async function recordDeliveryAck(run: RunSql, deliveryId: string, ack: { result: AckResult; reason?: string }): Promise<DeliveryAckRow | undefined> {
  await run(sql`UPDATE deliveries SET ack_result = ${ack.result}::text, ack_reason = ${ack.reason ?? null}::text,
      acknowledged_at = ${NOW_UTC}, updated_at = ${NOW_UTC}
    WHERE id = ${deliveryId}::text AND mode <> 'HTTP' AND ack_result IS NULL AND closed_at IS NULL`);
  return deliveryAck(run, deliveryId);
}

/**
 * Closes a broker delivery without an ack (deadline, operator refund) unless the game's ack came first;
 * returns the ack that won, if any.
 */
export async function closeDelivery(run: RunSql, deliveryId: string): Promise<{ ack?: AckResult }> {
  await run(sql`UPDATE deliveries SET closed_at = ${NOW_UTC}, updated_at = ${NOW_UTC}
    WHERE id = ${deliveryId}::text AND ack_result IS NULL AND closed_at IS NULL`);
  const row = await deliveryAck(run, deliveryId);
  return row?.ack_result ? { ack: row.ack_result } : {};
}

export interface DeliveryOrderRow extends SealedGameSecret {
  id: string;
  game_id: string;
  user_id: string;
  sku: string;
  quantity: number;
  grants: unknown;
  /** The first-purchase bonus part of `grants`, or null. */
  bonus_grants: unknown;
  currency: string;
  amount: number;
  status: string;
  paid_at: string | null;
  delivery_url: string;
  require_delivery_echo: boolean;
  /** The delivery's own (absent before it started: HTTP). */
  mode: string;
  ack_timeout_ms: number | null;
  attempts: number;
  ack_result: AckResult | null;
  closed_at: string | null;
}

/** What a delivery sends, with where and how to sign it. */
export async function deliveryOrder(run: RunSql, orderId: string): Promise<DeliveryOrderRow | undefined> {
  const [row] = await run<DeliveryOrderRow>(sql`
    SELECT o.id, o.game_id, o.user_id, o.sku, o.quantity, o.grants, o.bonus_grants, o.currency, o.amount, o.status,
      ${isoOf(sql`o.paid_at`)} AS paid_at, g.delivery_url, g.require_delivery_echo,
      g.secret, g.secret_ciphertext AS "secretCiphertext", g.secret_key_id AS "secretKeyId",
      coalesce(d.mode, 'HTTP') AS mode, d.ack_timeout_ms, coalesce(d.attempts, 0) AS attempts, d.ack_result,
      ${isoOf(sql`d.closed_at`)} AS closed_at
    FROM orders o JOIN games g ON g.id = o.game_id LEFT JOIN deliveries d ON d.order_id = o.id
    WHERE o.id = ${orderId}::uuid`);
  return row;
}
