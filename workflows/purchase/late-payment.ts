import { patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { REASONS } from '../../domain/orders/status';
import { FAILURE, PATCHES, type PaymentNotification, type PurchaseTiming } from '../contract';
import { isFailure } from '../shared/failures';
import { booksOptions, channelOptions } from '../shared/options';

/**
 * A success notification for an order whose workflow already ended. When that order was closed
 * unpaid, the money is refunded; where the channel will not return it (App Store, a refusal for good)
 * it is held for a person (MANUAL_REVIEW, LATE_PAYMENT). For any other order it is a duplicate and
 * changes nothing.
 */
export async function latePayment(
  orderId: string,
  notification: PaymentNotification,
  timing: Pick<PurchaseTiming, 'activityRetryInitialMs' | 'activityRetryMaxMs'>,
): Promise<'REFUNDED' | 'HELD' | 'IGNORED'> {
  const acts = proxyActivities<Activities>(channelOptions(timing));
  const order = await acts.orderStatus({ orderId });
  if (order.status !== 'CLOSED' || notification.result !== 'SUCCESS') return 'IGNORED';
  await acts.recordPaymentResult({ orderId, channel: order.channel, notification });
  try {
    await acts.refundOrder({ orderId, reason: REASONS.latePayment, latePayment: notification });
    return 'REFUNDED';
  } catch (err) {
    if (!isFailure(err, FAILURE.refundRefused) || !patched(PATCHES.latePaymentHeld)) throw err;
    await proxyLocalActivities<Activities>(booksOptions(timing)).holdLatePayment({ orderId, notification });
    return 'HELD';
  }
}
