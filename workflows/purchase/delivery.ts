import { CancellationScope, condition, isCancellation, patched, proxyActivities, type proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { REASONS } from '../../domain/orders/status';
import { PATCHES, type PurchaseInput } from '../contract';
import { deliveryOptions } from '../shared/options';
import type { OrderState } from './order-state';

type Books = ReturnType<typeof proxyLocalActivities<Activities>>;
type AckResult = 'GRANTED' | 'REJECTED';

/** How long the goods of a payment we cannot refund are delivered for: as good as forever. */
const UNREFUNDABLE_DELIVERY_DEADLINE_MS = 30 * 24 * 3_600_000;

/**
 * Step 5: deliver, or refund when the game cannot take the goods before the deadline.
 *
 *   HTTP: each attempt's answer decides (a 2xx: DELIVERED), retried with backoff until the deadline.
 *   NATS / RabbitMQ (behind PATCHES.brokerDelivery): each attempt is published, then waits for the
 *   game's ack up to the game's ackTimeoutMs; none → republished (same deliveryId, a new attempt).
 *   GRANTED → DELIVERED; REJECTED → refunded at once (DELIVERY_REJECTED). At the deadline (or an
 *   operator's refund) the delivery is closed unless the ack came first: the delivery row decides.
 */
export async function deliverOrRefund(
  input: PurchaseInput,
  order: OrderState,
  books: Books,
  refundMoney: (why: string) => Promise<void>,
): Promise<void> {
  const { orderId, timing } = input;
  const brokers = patched(PATCHES.brokerDelivery);
  const started = await books.startDelivery(brokers ? { orderId, brokers } : { orderId });
  // A string: an HTTP delivery (the game answers each attempt); else a broker delivery awaiting acks.
  const deliveryId = typeof started === 'string' ? started : started.deliveryId;
  const awaitsAcks = typeof started !== 'string';
  order.enter('DELIVERING');
  order.clearOps();
  // Money we cannot return (App Store) is never given up on: the goods are owed, delivery goes on.
  const deadline = Date.now() + (input.refundable === false ? UNREFUNDABLE_DELIVERY_DEADLINE_MS : timing.deliveryDeadlineMs);

  /** Acts on the game's ack: the goods are the game's, or the money goes back. */
  const settle = async (result: AckResult) => {
    await books.settleDeliveryAck({ orderId, deliveryId, result });
    if (result === 'GRANTED') order.enter('DELIVERED');
    else await refundMoney(REASONS.deliveryRejected);
  };

  for (;;) {
    order.deliveryScope = new CancellationScope();
    try {
      const attempt = await order.deliveryScope.run(() =>
        proxyActivities<Activities>(deliveryOptions(timing, deadline - Date.now())).deliverOrder({
          orderId,
          deliveryId,
          deliveryAttemptTimeoutMs: timing.deliveryAttemptTimeoutMs,
          ...(awaitsAcks && { deliverBy: new Date(deadline).toISOString() }),
        }),
      );
      if (!attempt) {
        order.enter('DELIVERED');
        return;
      }
      const ack = 'acked' in attempt ? attempt.acked : await awaitAck(order, deliveryId, Math.min(attempt.ackTimeoutMs, deadline - Date.now()));
      if (ack) return settle(ack);
      if (order.reversal) return;
      const ops = order.pendingOps()?.action;
      if (ops === 'REFUND' || (ops !== 'RETRY_DELIVERY' && Date.now() >= deadline)) break;
      // No ack in time, or an operator's retry: republish now.
      order.clearOps();
    } catch (err) {
      // An operator's retry restarts the backoff within the deadline; anything else ends delivery. The
      // retry cancels the attempt, but an attempt already failing reports its failure instead.
      const retryAsked = order.pendingOps()?.action === 'RETRY_DELIVERY' && deadline > Date.now();
      const retry = retryAsked && (isCancellation(err) || patched(PATCHES.opsRetryAfterFailedAttempt));
      // The channel returned the money while we delivered (the attempt cancelled, or failing as it
      // came): no refund from us (see finish()).
      if (order.reversal) return;
      if (!retry) break;
      order.clearOps();
    }
  }
  if (awaitsAcks) {
    // A late ack and the deadline race on the delivery row: the first written wins.
    const closed = await books.closeBrokerDelivery({ deliveryId });
    if (closed.ack) return settle(closed.ack);
  }
  await refundMoney(order.pendingOps()?.action === 'REFUND' ? REASONS.opsRefund : REASONS.deliveryFailed);
}

/** Waits for the game's ack of this delivery, an operator, a reversal or the timeout; the ack if it came. */
async function awaitAck(order: OrderState, deliveryId: string, timeoutMs: number): Promise<AckResult | undefined> {
  const acked = () => (order.ack?.deliveryId === deliveryId ? order.ack.result : undefined);
  if (timeoutMs > 0) await condition(() => acked() !== undefined || order.pendingOps() !== undefined || order.reversal !== undefined, timeoutMs);
  return acked();
}
