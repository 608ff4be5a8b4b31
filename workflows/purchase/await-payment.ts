import { condition, patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { sameMoney } from '../../domain/money';
import { REASONS } from '../../domain/orders/status';
import { PATCHES, type PaymentNotification, type PurchaseInput } from '../contract';
import { booksOptions, channelOptions } from '../shared/options';
import type { OrderState } from './order-state';

/**
 * Step 4: waits for the money until the payment timeout; the game may cancel meanwhile. A channel that
 * stays silent is asked (a lost notification), then again after twice as long, and once more before
 * the order closes unpaid. Ends with the order PAID, RISK_REVIEW (held for an operator), MANUAL_REVIEW
 * (not what was asked) or CLOSED
 * (`releaseStock` run, the channel payment closed).
 */
export async function awaitPayment(input: PurchaseInput, order: OrderState, releaseStock: (why: string) => Promise<void>): Promise<void> {
  const { orderId, timing } = input;
  const books = proxyLocalActivities<Activities>(booksOptions(timing));
  const channel = proxyActivities<Activities>(channelOptions(timing));

  const queries = timing.paymentQueryAfterMs !== undefined && patched(PATCHES.queryLostPayments);
  let queryAfterMs = timing.paymentQueryAfterMs ?? 0;
  let nextQueryAtMs = Date.now() + queryAfterMs;
  while (order.status === 'PENDING_PAYMENT') {
    if (order.inbox.length === 0 && !order.cancelRequested) {
      const remaining = order.expiresAtMs - Date.now();
      const wait = queries ? Math.min(remaining, nextQueryAtMs - Date.now()) : remaining;
      const woken = wait > 0 && (await condition(() => order.inbox.length > 0 || order.cancelRequested, wait));
      if (!woken && queries) {
        await askChannel();
        if (order.expiresAtMs > Date.now() || order.inbox.length > 0) {
          queryAfterMs *= 2;
          nextQueryAtMs = Date.now() + queryAfterMs;
          continue;
        }
      }
      if (!woken && order.inbox.length === 0) {
        await closeUnpaid(REASONS.paymentTimeout);
        break;
      }
    }
    const notification = order.inbox.shift();
    if (notification) await takeMoney(notification);
    else if (order.cancelRequested) await closeUnpaid(REASONS.cancelledByGame);
  }

  /** Asks the channel about a payment it has not notified; a result counts as its notification. */
  async function askChannel() {
    const found = await channel.queryChannelPayment({ orderId, channel: order.channel });
    if (found) order.receive(found);
  }

  /** Records the channel's result; only the exact amount asked is taken as paid. */
  async function takeMoney(notification: PaymentNotification) {
    await books.recordPaymentResult({ orderId, channel: order.channel, notification });
    if (notification.result === 'FAILED') return; // the payer may still try again until the timeout
    if (notification.productMismatch || !notification.paid || !sameMoney(notification.paid, input.amount)) {
      await books.holdForReview({ orderId, expected: input.amount, notification });
      order.enter('MANUAL_REVIEW', notification.productMismatch ? REASONS.productMismatch : REASONS.amountMismatch);
      return;
    }
    if (order.holdsForRiskReview) {
      await books.holdForRiskReview({ orderId, notification });
      order.enter('RISK_REVIEW');
      return;
    }
    await books.markPaid({ orderId, notification });
    order.enter('PAID');
  }

  /** Compensates steps 2 and 3: the stock goes back, the channel payment is closed. */
  async function closeUnpaid(why: string) {
    await releaseStock(why);
    const outcome = await channel.closeChannelPayment({ orderId, channel: order.channel });
    if (outcome === 'ALREADY_PAID') {
      // The payer paid while we closed: the channel's notification is on its way; wait for it to refund.
      await condition(() => order.lateSuccess() !== undefined, timing.paymentTimeoutMs);
    }
  }
}
