import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PaymentNotification } from '../channels/types';
import { REASONS } from '../domain/order-status';
import type { PurchaseTiming } from './definitions';

/**
 * A success notification for an order whose workflow already ended. When that order was closed
 * unpaid, the money is refunded; for any other order it is a duplicate and changes nothing.
 */
export async function latePayment(
  orderId: string,
  notification: PaymentNotification,
  timing: Pick<PurchaseTiming, 'activityRetryInitialMs' | 'activityRetryMaxMs'>,
): Promise<'REFUNDED' | 'IGNORED'> {
  const acts = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    retry: {
      initialInterval: timing.activityRetryInitialMs,
      maximumInterval: timing.activityRetryMaxMs,
      backoffCoefficient: 2,
    },
  });
  const order = await acts.orderStatus({ orderId });
  if (order.status !== 'CLOSED' || notification.result !== 'SUCCESS') return 'IGNORED';
  await acts.recordPaymentResult({ orderId, channel: order.channel, notification });
  await acts.refundOrder({ orderId, reason: REASONS.latePayment, latePayment: notification });
  return 'REFUNDED';
}
