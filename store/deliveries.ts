import type { RunSql } from '../infra/db';
import type { SealedGameSecret } from './catalog';
import { NOW_UTC, isoOf, sql, type Sql } from './sql';

/** Deliveries: one per paid order (its deliveryId), with the outcome of each attempt. */

/** Opens the delivery record of an order that moved (CTE `moved`) to DELIVERING. */
export const openDelivery = (deliveryId: string): Sql => sql`delivery AS (
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
}

/** What a delivery sends, with where and how to sign it. */
export async function deliveryOrder(run: RunSql, orderId: string): Promise<DeliveryOrderRow | undefined> {
  const [row] = await run<DeliveryOrderRow>(sql`
    SELECT o.id, o.game_id, o.user_id, o.sku, o.quantity, o.grants, o.bonus_grants, o.currency, o.amount, o.status,
      ${isoOf(sql`o.paid_at`)} AS paid_at, g.delivery_url, g.require_delivery_echo,
      g.secret, g.secret_ciphertext AS "secretCiphertext", g.secret_key_id AS "secretKeyId"
    FROM orders o JOIN games g ON g.id = o.game_id WHERE o.id = ${orderId}::uuid`);
  return row;
}
