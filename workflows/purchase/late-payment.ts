import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { REASONS } from '../../domain/orders/status';
import type { PaymentNotification, PurchaseTiming } from '../contract';
import { channelOptions } from '../shared/options';

/**
 * A success notification for an order whose workflow already ended. When that order was closed
 * unpaid, the money is refunded; for any other order it is a duplicate and changes nothing.
 */
export async function latePayment(
  orderId: string,
  notification: PaymentNotification,
  timing: Pick<PurchaseTiming, 'activityRetryInitialMs' | 'activityRetryMaxMs'>,
): Promise<'REFUNDED' | 'IGNORED'> {
  const acts = proxyActivities<Activities>(channelOptions(timing));
  const order = await acts.orderStatus({ orderId });
  if (order.status !== 'CLOSED' || notification.result !== 'SUCCESS') return 'IGNORED';
  await acts.recordPaymentResult({ orderId, channel: order.channel, notification });
  await acts.refundOrder({ orderId, reason: REASONS.latePayment, latePayment: notification });
  return 'REFUNDED';
}
