import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PaymentNotification } from '../channels/types';
import { sameMoney } from '../domain/money';
import { REASONS, type OrderStatus } from '../domain/order-status';
import {
  FAILURE,
  OrderStatusKey,
  cancelOrderUpdate,
  orderSnapshotQuery,
  paymentNotifiedSignal,
  requestPaymentUpdate,
  type OrderSnapshot,
  type PurchaseInput,
} from './definitions';

/**
 * One purchase, from risk check to delivered goods or returned money:
 * risk check → open the order and the channel payment → wait for the payment result →
 * deliver with retries until the delivery deadline → refund when delivery cannot succeed.
 */
export async function purchase(input: PurchaseInput): Promise<OrderStatus> {
  const { orderId, timing } = input;
  const retry = {
    initialInterval: timing.activityRetryInitialMs,
    maximumInterval: timing.activityRetryMaxMs,
    backoffCoefficient: 2,
    nonRetryableErrorTypes: [FAILURE.illegalTransition],
  };
  // Short database steps run as local activities: they keep the create call to one round trip.
  const books = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s', retry });
  const channelOptions: ActivityOptions = { startToCloseTimeout: '30s', retry };
  const channel = proxyActivities<Activities>(channelOptions);
  // The game is waiting for the payment parameters: give up quickly on a broken channel.
  const openingChannel = proxyLocalActivities<Activities>({
    startToCloseTimeout: '15s',
    retry: { ...retry, maximumAttempts: 3 },
  });
  const delivery = proxyActivities<Activities>({
    startToCloseTimeout: timing.deliveryAttemptTimeoutMs + 5_000,
    scheduleToCloseTimeout: timing.deliveryDeadlineMs,
    retry: {
      initialInterval: timing.deliveryRetryInitialMs,
      maximumInterval: timing.deliveryRetryMaxMs,
      backoffCoefficient: 2,
    },
  });

  const expiresAtMs = Date.now() + timing.paymentTimeoutMs;
  let status = 'PENDING_PAYMENT' as OrderStatus; // widened: handlers and helpers change it
  let reason: string | undefined;
  let payment: Record<string, unknown> | undefined;
  let opened = false;
  let openFailure: string | undefined;
  let cancelRequested = false;
  const inbox: PaymentNotification[] = [];
  const seenNotifications = new Set<string>();

  const snapshot = (): OrderSnapshot => ({
    orderId,
    status,
    reason,
    amount: input.amount,
    channel: input.channel,
    payment,
    expiresAt: new Date(expiresAtMs).toISOString(),
  });
  const enter = (next: OrderStatus, why?: string) => {
    status = next;
    reason = why;
    upsertSearchAttributes([{ key: OrderStatusKey, value: next }]);
  };

  setHandler(orderSnapshotQuery, snapshot);
  setHandler(
    requestPaymentUpdate,
    async () => {
      await condition(() => opened);
      if (openFailure) throw ApplicationFailure.nonRetryable('the payment channel is unavailable', openFailure);
      return snapshot();
    },
    {
      validator: (requestHash) => {
        if (requestHash !== input.requestHash) {
          throw ApplicationFailure.nonRetryable(
            'this idempotency key was used for a different request',
            FAILURE.idempotencyConflict,
          );
        }
      },
    },
  );
  setHandler(
    cancelOrderUpdate,
    async () => {
      cancelRequested = true;
      await condition(() => status !== 'PENDING_PAYMENT');
      if (status !== 'CLOSED') throw notCancellable(status);
      return snapshot();
    },
    {
      validator: () => {
        if (!opened || status !== 'PENDING_PAYMENT') throw notCancellable(status);
      },
    },
  );
  setHandler(paymentNotifiedSignal, (notification) => {
    if (seenNotifications.has(notification.notificationId)) return;
    seenNotifications.add(notification.notificationId);
    inbox.push(notification);
  });

  const finish = async () => {
    await condition(allHandlersFinished);
    return status;
  };

  // 1. Risk check, then persist the order (rejected orders are kept too, for the record).
  const risk = await books.checkRisk({
    gameId: input.gameId,
    userId: input.userId,
    clientIp: input.clientIp,
    deviceId: input.deviceId,
  });
  const { timing: _timing, ...order } = input;
  const openedOrder = await books.openOrder({
    ...order,
    expiresAt: new Date(expiresAtMs).toISOString(),
    rejection: risk.decision === 'DENY' ? risk.reasons.join(',') : undefined,
  });
  enter(openedOrder.status, openedOrder.reason);
  if (openedOrder.status === 'REJECTED') {
    opened = true;
    return finish();
  }

  // 2. Create the channel payment; the update returns its parameters to the game server.
  try {
    const created = await openingChannel.createChannelPayment({
      orderId,
      channel: input.channel,
      amount: input.amount,
      subject: input.itemName,
      expiresAt: new Date(expiresAtMs).toISOString(),
    });
    payment = created.payment;
  } catch {
    await books.closeOrder({ orderId, reason: REASONS.channelUnavailable });
    enter('CLOSED', REASONS.channelUnavailable);
    openFailure = FAILURE.channelUnavailable;
    opened = true;
    return finish();
  }
  opened = true;

  // 3. Wait for the payment result until the payment timeout.
  while (status === 'PENDING_PAYMENT') {
    if (inbox.length === 0 && !cancelRequested) {
      const remaining = expiresAtMs - Date.now();
      const woken = remaining > 0 && (await condition(() => inbox.length > 0 || cancelRequested, remaining));
      if (!woken) {
        await close(REASONS.paymentTimeout);
        break;
      }
    }
    const notification = inbox.shift();
    if (notification) await settlePayment(notification);
    else await close(REASONS.cancelledByGame);
  }

  // 4. Deliver; 5. refund when the game server cannot take the goods before the deadline.
  if (status === 'PAID') {
    const deliveryId = await books.startDelivery({ orderId });
    enter('DELIVERING');
    try {
      await delivery.deliverOrder({ orderId, deliveryId, deliveryAttemptTimeoutMs: timing.deliveryAttemptTimeoutMs });
      enter('DELIVERED');
    } catch {
      await channel.refundOrder({ orderId, reason: REASONS.deliveryFailed });
      enter('REFUNDED', REASONS.deliveryFailed);
    }
  }

  // Money that arrived for a closed order is never kept.
  if (status === 'CLOSED') {
    const late = inbox.find((n) => n.result === 'SUCCESS');
    if (late) {
      await channel.refundOrder({ orderId, reason: REASONS.latePayment, latePayment: late });
      enter('REFUNDED', REASONS.latePayment);
    }
  }
  return finish();

  async function settlePayment(notification: PaymentNotification) {
    await books.recordPaymentResult({ orderId, channel: input.channel, notification });
    if (notification.result === 'FAILED') return; // the payer may still try again until the timeout
    if (!notification.paid || !sameMoney(notification.paid, input.amount)) {
      await books.holdForReview({ orderId, expected: input.amount, notification });
      enter('MANUAL_REVIEW', REASONS.amountMismatch);
      return;
    }
    await books.markPaid({ orderId, notification });
    enter('PAID');
  }

  async function close(why: string) {
    await books.closeOrder({ orderId, reason: why });
    enter('CLOSED', why);
    const outcome = await channel.closeChannelPayment({ orderId, channel: input.channel });
    if (outcome === 'ALREADY_PAID') {
      // The payer paid while we closed: the channel's notification is on its way; wait for it to refund.
      await condition(() => inbox.some((n) => n.result === 'SUCCESS'), timing.paymentTimeoutMs);
    }
  }
}

function notCancellable(status: OrderStatus) {
  return ApplicationFailure.nonRetryable(`an order in status ${status} cannot be cancelled`, FAILURE.notCancellable);
}
