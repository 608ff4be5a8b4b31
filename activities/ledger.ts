import { ApplicationFailure } from '@temporalio/common';
import { Prisma } from '../generated/prisma/client';
import type { PaymentNotification } from '../channels/types';
import { ORDER_STATUSES, canTransition, hasPassed, type OrderStatus } from '../domain/order-status';
import { NOW_UTC, utc, type RunSql } from '../infra/db';
import { businessMetrics } from '../infra/metrics';
import { FAILURE } from '../workflows/definitions';


/** Columns a transition may set besides the status (names are fixed here, values are parameters). */
export interface OrderPatch {
  paid?: { paidAt: string; channelTxnId?: string; amount?: number; currency?: string };
  /** Stamps this column with the time of the transition. */
  stamp?: 'delivered_at' | 'closed_at' | 'refunded_at';
}

/** What else changes in the same statement, only if the order moved. */
export interface TransitionEffects {
  /** Gives reserved stock back to the item (closed and refunded orders). */
  releaseStock?: boolean;
  /** The reservation becomes a sale (delivered orders). */
  commitStock?: boolean;
  /** Opens the order's delivery record. */
  openDelivery?: string;
  /** Statements that run in the same statement whether or not the order moves (e.g. a delivery attempt). */
  alongside?: Prisma.Sql[];
}

export function paidPatch(n: PaymentNotification): OrderPatch['paid'] {
  return {
    paidAt: n.paidAt ?? new Date().toISOString(),
    channelTxnId: n.channelTxnId,
    amount: n.paid?.value,
    currency: n.paid?.currency,
  };
}

/**
 * Moves an order to `to`, records it in the order history and applies the effects, in one SQL
 * statement (atomic without a transaction, one round trip on the hot path).
 * Idempotent: a step run again that finds the order in `to`, or already past it, changes nothing.
 */
export async function transitionOrder(
  sql: RunSql,
  orderId: string,
  to: OrderStatus,
  reason?: string,
  patch: OrderPatch = {},
  effects: TransitionEffects = {},
): Promise<void> {
  const allowedFrom = ORDER_STATUSES.filter((from) => canTransition(from, to));
  const sets = [Prisma.sql`status = ${to}::text`, Prisma.sql`status_reason = ${reason ?? null}::text`, Prisma.sql`updated_at = ${NOW_UTC}`];
  if (patch.paid) {
    sets.push(
      Prisma.sql`paid_at = ${utc(patch.paid.paidAt)}`,
      Prisma.sql`channel_txn_id = ${patch.paid.channelTxnId ?? null}::text`,
      Prisma.sql`paid_amount = ${patch.paid.amount ?? null}::int`,
      Prisma.sql`paid_currency = ${patch.paid.currency ?? null}::text`,
    );
  }
  if (patch.stamp) sets.push(Prisma.sql`${Prisma.raw(patch.stamp)} = ${NOW_UTC}`);

  const ctes = [
    ...(effects.alongside ?? []),
    Prisma.sql`moved AS (
      UPDATE orders SET ${Prisma.join(sets, ', ')}
      WHERE id = ${orderId}::uuid AND status = ANY(${allowedFrom}::text[])
      RETURNING id, game_id, channel)`,
    Prisma.sql`history AS (
      INSERT INTO order_history (order_id, status, reason) SELECT id, ${to}::text, ${reason ?? null}::text FROM moved
      ON CONFLICT (order_id, status) DO NOTHING)`,
  ];
  if (effects.releaseStock) {
    ctes.push(
      Prisma.sql`released AS (
        UPDATE stock_reservations r SET status = 'RELEASED', updated_at = ${NOW_UTC}
        FROM moved WHERE r.order_id = moved.id AND r.status = 'RESERVED' RETURNING r.sku, r.quantity)`,
      Prisma.sql`restocked AS (
        UPDATE items i SET stock_available = i.stock_available + released.quantity, updated_at = ${NOW_UTC}
        FROM released WHERE i.sku = released.sku)`,
    );
  }
  if (effects.commitStock) {
    ctes.push(Prisma.sql`committed AS (
      UPDATE stock_reservations r SET status = 'COMMITTED', updated_at = ${NOW_UTC}
      FROM moved WHERE r.order_id = moved.id AND r.status = 'RESERVED')`);
  }
  if (effects.openDelivery) {
    ctes.push(Prisma.sql`delivery AS (
      INSERT INTO deliveries (id, order_id, status, updated_at)
      SELECT ${effects.openDelivery}::text, id, 'PENDING', ${NOW_UTC} FROM moved ON CONFLICT DO NOTHING)`);
  }
  const moved = await sql<{ game_id: string; channel: string }>(Prisma.sql`
    WITH ${Prisma.join(ctes, ', ')}
    SELECT game_id, channel FROM moved`);

  if (moved.length === 0) {
    // Read after the statement: a concurrent attempt may have moved it in the meantime.
    const current = await sql<{ status: OrderStatus }>(Prisma.sql`SELECT status FROM orders WHERE id = ${orderId}::uuid`);
    const status = current[0]?.status;
    // Done before: this step ran already (a retry, or a local activity re-run on replay).
    if (status === to || (status && hasPassed(to, status))) return;
    // Retried, not failed: a workflow holding money never ends on a defect; it waits, visible in the
    // Temporal UI with this error, until the books or the code are put right.
    throw ApplicationFailure.retryable(`order ${orderId} cannot go from ${status ?? 'nowhere'} to ${to}`, FAILURE.illegalTransition);
  }
  // Counted once the statement has committed (or, in a caller's transaction, before its commit).
  businessMetrics.orderTransitioned({ game: moved[0]!.game_id, channel: moved[0]!.channel }, to);
}
