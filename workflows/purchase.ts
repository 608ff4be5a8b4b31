import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
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
  PATCHES,
  cancelOrderUpdate,
  opsActionUpdate,
  orderSnapshotQuery,
  paymentNotifiedSignal,
  requestPaymentUpdate,
  type OpsRequest,
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
  // Retries until the delivery deadline; an operator's retry restarts the backoff within it.
  const delivery = (remainingMs: number) =>
    proxyActivities<Activities>({
      startToCloseTimeout: timing.deliveryAttemptTimeoutMs + 5_000,
      scheduleToCloseTimeout: remainingMs,
      // A cancelled delivery reports how its last attempt ended: goods the game took are never refunded.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
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
  let opsRequest: OpsRequest | undefined;
  let deliveryScope: CancellationScope | undefined;
  // Read through a function: the update handler sets it while this code awaits.
  const pendingOps = (): OpsRequest | undefined => opsRequest;
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
    // The workflow logger is replay-aware: each change is logged once, not on every replay.
    log.info('order status changed', { orderId, status: next, reason: why, requestId: input.requestId });
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
  setHandler(
    opsActionUpdate,
    (request) => {
      opsRequest = request;
      if (request.action !== 'DELIVER') deliveryScope?.cancel();
      return snapshot();
    },
    { validator: (request) => checkOpsAction(request, status) },
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
  if (status === 'PAID') await deliverOrRefund();

  // Paid, but not what was asked: a person decides to deliver or to return the money.
  if (status === 'MANUAL_REVIEW' && patched(PATCHES.manualReviewAwaitsOps)) {
    await condition(() => opsRequest !== undefined);
    if (pendingOps()?.action === 'DELIVER') await deliverOrRefund();
    else await refund(REASONS.opsRefund);
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

  async function deliverOrRefund() {
    const deliveryId = await books.startDelivery({ orderId });
    enter('DELIVERING');
    opsRequest = undefined;
    const deadline = Date.now() + timing.deliveryDeadlineMs;
    for (;;) {
      deliveryScope = new CancellationScope();
      try {
        await deliveryScope.run(() =>
          delivery(deadline - Date.now()).deliverOrder({
            orderId,
            deliveryId,
            deliveryAttemptTimeoutMs: timing.deliveryAttemptTimeoutMs,
          }),
        );
        enter('DELIVERED');
        return;
      } catch (err) {
        const retry = isCancellation(err) && pendingOps()?.action === 'RETRY_DELIVERY' && deadline > Date.now();
        if (!retry) break;
        opsRequest = undefined;
      }
    }
    await refund(pendingOps()?.action === 'REFUND' ? REASONS.opsRefund : REASONS.deliveryFailed);
  }

  async function refund(why: string) {
    const outcome = await channel.refundOrder({ orderId, reason: why });
    // The game server took the goods while the refund was being decided: nothing to return.
    if (outcome === 'ALREADY_DELIVERED') enter('DELIVERED');
    else enter('REFUNDED', why);
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

/** Which operator actions each status allows; anything else is refused before it reaches history. */
function checkOpsAction(request: OpsRequest, status: OrderStatus) {
  const allowed: Record<OpsRequest['action'], readonly OrderStatus[]> = {
    RETRY_DELIVERY: ['DELIVERING'],
    REFUND: ['DELIVERING', 'MANUAL_REVIEW'],
    DELIVER: ['MANUAL_REVIEW'],
  };
  if (!allowed[request.action].includes(status)) {
    throw ApplicationFailure.nonRetryable(
      `${request.action} is not allowed for an order in status ${status}`,
      FAILURE.opsActionRefused,
    );
  }
}

function notCancellable(status: OrderStatus) {
  return ApplicationFailure.nonRetryable(`an order in status ${status} cannot be cancelled`, FAILURE.notCancellable);
}
