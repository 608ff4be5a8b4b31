import type { Db, RunSql } from '../infra/db';
import type { Money } from '../domain/money';
import { NOW_UTC, sql, type Sql } from './sql';

/** Refunds: one per order (its refund id), PENDING until the channel confirms. */

export async function createPendingRefund(
  db: Db,
  refund: { id: string; orderId: string; channel: string; amount: Money; reason: string },
): Promise<void> {
  await db.refund.createMany({
    data: [
      {
        id: refund.id,
        orderId: refund.orderId,
        channel: refund.channel,
        amount: refund.amount.value,
        currency: refund.amount.currency,
        reason: refund.reason,
        status: 'PENDING',
      },
    ],
    skipDuplicates: true,
  });
}

/**
 * The channel took the refund: SUCCEEDED, or PROCESSING where it settles refunds later (WeChat Pay,
 * UnionPay, Google Play) and confirms by notification. Runs in the statement that moves the order.
 */
export const refundSucceeded = (refundId: string, channelRefundId: string, state: 'SUCCEEDED' | 'PROCESSING' = 'SUCCEEDED'): Sql =>
  sql`refund_succeeded AS (
    UPDATE refunds SET status = ${state}::text, channel_refund_id = ${channelRefundId}::text, updated_at = ${NOW_UTC}
    WHERE id = ${refundId}::text)`;

/** The channel took the refund (its own statement, for a refund that does not move the order now). */
export async function recordRefundAccepted(run: RunSql, refundId: string, channelRefundId: string, state: 'SUCCEEDED' | 'PROCESSING') {
  await run(sql`WITH ${refundSucceeded(refundId, channelRefundId, state)} SELECT 1`);
}

/**
 * The channel's later word on one of our refunds: SUCCEEDED settles a PROCESSING one; FAILED is kept
 * for operations (the money did not go back: a person must act). Returns the order, if it is ours.
 */
export async function settleRefund(run: RunSql, refundId: string, outcome: 'SUCCEEDED' | 'FAILED', channelRefundId?: string) {
  const [row] = await run<{ order_id: string }>(sql`
    UPDATE refunds SET status = ${outcome}::text, channel_refund_id = coalesce(${channelRefundId ?? null}::text, channel_refund_id),
      updated_at = ${NOW_UTC}
    WHERE id = ${refundId}::text AND status IN ('PENDING', 'PROCESSING', 'SUCCEEDED')
    RETURNING order_id::text`);
  return row?.order_id;
}

export function findRefund(db: Db, id: string) {
  return db.refund.findUnique({ where: { id } });
}
