import type { Db } from '../infra/db';
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

/** The channel confirmed the refund; runs in the statement that moves the order to REFUNDED. */
export const refundSucceeded = (refundId: string, channelRefundId: string): Sql => sql`refund_succeeded AS (
    UPDATE refunds SET status = 'SUCCEEDED', channel_refund_id = ${channelRefundId}::text, updated_at = ${NOW_UTC}
    WHERE id = ${refundId}::text)`;
