import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CloseOutcome, CreatedPayment, PaymentNotification } from '../channels/types';
import type { Money } from '../domain/money';
import { refundIdFor } from '../domain/ids';
import type { ActivityDeps } from './deps';
import { Prisma } from '../generated/prisma/client';
import { NOW_UTC } from '../infra/db';
import { paidPatch, transitionOrder } from './ledger';

/** Work against the payment channels: create, close and refund channel payments. */
export function createPaymentActivities({ db, sql, channels, config }: ActivityDeps) {
  const adapter = (name: string) => {
    const found = channels.get(name);
    if (!found) throw ApplicationFailure.nonRetryable(`channel ${name} is not configured`, 'CHANNEL_NOT_CONFIGURED');
    return found;
  };

  return {
    async createChannelPayment(params: {
      orderId: string;
      channel: string;
      amount: Money;
      subject: string;
      expiresAt: string;
    }): Promise<CreatedPayment> {
      const created = await adapter(params.channel).createPayment({
        orderId: params.orderId,
        amount: params.amount,
        subject: params.subject,
        notifyUrl: `${config.PUBLIC_BASE_URL}/v1/callbacks/${params.channel}`,
        expiresAt: new Date(params.expiresAt),
      });
      await sql(Prisma.sql`
        UPDATE orders SET channel_payment_id = ${created.channelPaymentId}::text, updated_at = ${NOW_UTC}
        WHERE id = ${params.orderId}::uuid`);
      return created;
    },

    async closeChannelPayment(params: { orderId: string; channel: string }): Promise<CloseOutcome> {
      const order = await db.order.findUniqueOrThrow({
        where: { id: params.orderId },
        select: { channelPaymentId: true },
      });
      if (!order.channelPaymentId) return 'CLOSED';
      return adapter(params.channel).closePayment(order.channelPaymentId);
    },

    /**
     * Returns the money in full through the order's channel and marks the order REFUNDED.
     * Idempotent end to end: one refund id per order, deduplicated by the channel too.
     */
    async refundOrder(params: {
      orderId: string;
      reason: string;
      latePayment?: PaymentNotification;
    }): Promise<'REFUNDED' | 'ALREADY_DELIVERED'> {
      const order = await db.order.findUniqueOrThrow({ where: { id: params.orderId } });
      if (order.status === 'REFUNDED') return 'REFUNDED';
      if (order.status === 'DELIVERED') return 'ALREADY_DELIVERED';
      const late = params.latePayment;
      const paid: Money | undefined =
        late?.paid ??
        (order.paidAmount != null && order.paidCurrency
          ? { currency: order.paidCurrency, value: order.paidAmount }
          : undefined);
      const channelPaymentId = late?.channelPaymentId ?? order.channelPaymentId;
      if (!paid || !channelPaymentId) {
        throw ApplicationFailure.nonRetryable(`order ${order.id} has no payment to refund`, 'NOTHING_TO_REFUND');
      }
      const refundId = refundIdFor(order.id);
      await db.refund.createMany({
        data: [
          {
            id: refundId,
            orderId: order.id,
            channel: order.channel,
            amount: paid.value,
            currency: paid.currency,
            reason: params.reason,
            status: 'PENDING',
          },
        ],
        skipDuplicates: true,
      });
      const { channelRefundId } = await adapter(order.channel).refund({
        refundId,
        channelPaymentId,
        amount: paid,
        reason: params.reason,
      });
      const refundSucceeded = Prisma.sql`refund_succeeded AS (
        UPDATE refunds SET status = 'SUCCEEDED', channel_refund_id = ${channelRefundId}::text, updated_at = ${NOW_UTC}
        WHERE id = ${refundId}::text)`;
      await transitionOrder(
        sql,
        order.id,
        'REFUNDED',
        params.reason,
        { stamp: 'refunded_at', ...(late ? { paid: paidPatch(late) } : {}) },
        { releaseStock: true, alongside: [refundSucceeded] },
      );
      Context.current().log.info('order refunded', { orderId: order.id, reason: params.reason, refundId, amount: paid });
      return 'REFUNDED';
    },
  };
}
