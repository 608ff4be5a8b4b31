import { paidUnpricedOtherProduct, paymentResultOf, reversalCauseOf } from '../channels/events';
import type { ChannelEvent, ConsumptionRequestEvent } from '../channels/types';
import { refundIdFor } from '../domain/ids';
import { purchaseTiming, type Config } from '../infra/config';
import type { Database } from '../infra/db';
import type { PurchasesClient } from '../infra/temporal';
import { storeProductPrice } from '../domain/catalog/pricing';
import type { Money } from '../domain/money';
import { isPartialRefund, type ReportedReversal } from '../domain/orders/reversals';
import { itemsSellingProductOfStore } from '../store/catalog';
import { orderHoldings, recordPartialRefund, channelReversalBooked } from '../store/journal';
import { orderForChannelEvent } from '../store/orders';
import { recordNotification, type NotificationSource } from '../store/payments';
import { findRefund, settleRefund } from '../store/refunds';

/**
 * The one intake of what a channel reports, whoever brought it: the channel's callback, a store sweep
 * (a notification the store sent and we never took) or a store receipt. Each event is recorded first
 * (never dropped, even for an unknown order), then handed on — a payment result to the order's
 * workflow, a refund, chargeback or revocation to the reversal of the order, the confirmation of one
 * of our refunds to its record. Idempotent by the event's dedupe key and the workflow ids: a copy runs
 * the same hand-on again (so a copy whose first run failed half-way completes it) and is counted.
 */

export interface IntakeDeps {
  database: Database;
  config: Config;
  purchases: PurchasesClient;
  log: IntakeLog;
}

/** The log lines of an intake (pino's and Temporal's activity logger both fit). */
export interface IntakeLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface IntakeInput {
  channel: string;
  event: ChannelEvent;
  source: NotificationSource;
  /** What is kept as the notification's body: the channel's bytes, or the receipt or record it came in. */
  rawBody: string;
  /** The order the caller already proved the event is for (a receipt claimed for it). */
  orderId?: string;
}

export type IntakeEffect = 'PAYMENT' | 'REVERSAL' | 'PARTIAL_REFUND' | 'REFUND_SETTLED' | 'KEPT' | 'UNKNOWN_ORDER';

export interface IntakeOutcome {
  effect: IntakeEffect;
  orderId: string | null;
  /** This was the first copy of the event we received, from any source. */
  firstCopy: boolean;
}

export async function takeChannelEvent(deps: IntakeDeps, input: IntakeInput): Promise<IntakeOutcome> {
  const { database, config, purchases, log } = deps;
  const { channel, event, source, rawBody } = input;
  const order = input.orderId
    ? await orderForChannelEvent(database.db, channel, { merchantOrderId: input.orderId })
    : await orderForChannelEvent(database.db, channel, event);

  const terms = { amount: order?.amount ?? event.amount ?? { currency: 'XXX', value: 0 }, storeProductId: order?.storeProductId };
  const otherProductPrice = order && paidUnpricedOtherProduct(event, terms) ? await priceOfOtherProduct(database, order, event) : undefined;
  const payment = paymentResultOf(event, { ...terms, ...(otherProductPrice && { otherProductPrice }) });
  if (payment) {
    // Recorded with its order (when the payment and the merchant order id name the same one) in one
    // statement; a copy already received is counted.
    const recorded = await recordNotification(database.sql, {
      channel,
      notificationId: payment.notificationId,
      channelPaymentId: payment.channelPaymentId || (order?.channelPaymentId ?? ''),
      merchantOrderId: payment.merchantOrderId || (input.orderId ?? ''),
      result: payment.result,
      paid: payment.paid,
      rawBody,
      source,
      ...(input.orderId && { orderId: input.orderId }),
    });
    const orderId = recorded.orderId;
    log.info(
      { channel, source, notificationId: payment.notificationId, orderId, result: payment.result },
      orderId ? 'payment notification' : 'payment notification for an unknown payment, kept for reconciliation',
    );
    if (orderId) await purchases.notifyPayment(orderId, payment, purchaseTiming(config));
    return { effect: orderId ? 'PAYMENT' : 'UNKNOWN_ORDER', orderId, firstCopy: recorded.firstCopy };
  }

  const record = () =>
    recordNotification(database.sql, {
      channel,
      notificationId: event.dedupeKey,
      channelPaymentId: event.channelPaymentId ?? order?.channelPaymentId ?? '',
      merchantOrderId: event.merchantOrderId ?? '',
      result: event.kind,
      rawBody,
      orderId: order?.id,
      paid: event.amount,
      source,
    });
  if (!order) {
    const { firstCopy } = await record();
    log.warn({ channel, source, kind: event.kind, dedupeKey: event.dedupeKey }, 'channel event for an unknown order, kept for reconciliation');
    return { effect: 'UNKNOWN_ORDER', orderId: null, firstCopy };
  }
  const ours = refundIdFor(order.id);
  if ((event.kind === 'REFUND_SUCCEEDED' || event.kind === 'REFUND_FAILED') && (event.refundId === ours || (await namesOurRefund(database, ours, event)))) {
    const { firstCopy } = await record();
    await settleRefund(database.sql, ours, event.kind === 'REFUND_SUCCEEDED' ? 'SUCCEEDED' : 'FAILED', event.channelRefundId);
    if (event.kind === 'REFUND_FAILED') log.warn({ orderId: order.id, refundId: ours }, 'the channel failed our refund: the money did not go back');
    return { effect: 'REFUND_SETTLED', orderId: order.id, firstCopy };
  }
  const cause = reversalCauseOf(event, ours);
  if (cause) {
    const { firstCopy } = await record();
    const reported = { cause, amount: event.amount, fromStore: event.storeProductId !== undefined, key: event.dedupeKey };
    if (await bookedAsPartialRefund(database, order.id, reported)) {
      log.info({ orderId: order.id, source, amount: event.amount }, 'partial channel refund: booked, the order goes on');
      return { effect: 'PARTIAL_REFUND', orderId: order.id, firstCopy };
    }
    const outcome = await purchases.reverse(
      order.id,
      { cause, dedupeKey: event.dedupeKey, amount: event.amount, occurredAt: event.occurredAt, revoke: true },
      purchaseTiming(config),
    );
    log.info({ orderId: order.id, source, cause, outcome }, 'channel reversal');
    return { effect: 'REVERSAL', orderId: order.id, firstCopy };
  }
  // PAYMENT_CLOSED, a failed refund we did not ask for: kept, nothing to do.
  const { firstCopy } = await record();
  return { effect: 'KEPT', orderId: order.id, firstCopy };
}

/**
 * A refund report without our refund id (Google's voided purchase) that names the channel's id our
 * refund was given (Google's order id): the confirmation of our refund, not a refund of its own.
 */
async function namesOurRefund(database: Database, ours: string, event: ChannelEvent): Promise<boolean> {
  if (event.refundId !== undefined || event.channelRefundId === undefined) return false;
  const refund = await findRefund(database.db, ours);
  return refund?.channelRefundId === event.channelRefundId;
}

/**
 * What a store charged for another product than the order's, where it does not say (Google Play): our
 * catalog's price of that product for the order's region on the payment's day, so the money is booked
 * and can be returned; undefined when no item of the game sells it at one price (held unpriced).
 */
async function priceOfOtherProduct(
  database: Database,
  order: { gameId: string; sku: string; region: string; storeProductId: string | null },
  event: ChannelEvent & { storeProductId: string },
): Promise<Money | undefined> {
  if (!order.storeProductId) return undefined;
  const { storeType, items } = await itemsSellingProductOfStore(database.db, { ...order, storeProductId: order.storeProductId }, event.storeProductId);
  const at = event.occurredAt ? new Date(event.occurredAt) : new Date();
  return storeProductPrice(items, { region: order.region, channelType: storeType, at });
}

/**
 * A channel's refund of part of what the order holds is booked here and goes no further: the order
 * stays as it is (domain/orders/reversals.ts). Decided and booked under the order's row lock, so what
 * it holds cannot change in between; a copy of the report finds it booked.
 */
async function bookedAsPartialRefund(
  database: Database,
  orderId: string,
  reversal: ReportedReversal & { key: string },
): Promise<boolean> {
  if (reversal.cause !== 'CHANNEL_REFUND' || !reversal.amount) return false;
  return database.transaction(async (tx) => {
    const holds = await orderHoldings(tx, orderId, { lock: true });
    const booked = await channelReversalBooked(tx, orderId, reversal.key);
    if (!booked && !isPartialRefund(reversal, holds)) return false;
    if (!booked) await recordPartialRefund(tx, { orderId, key: reversal.key, amount: reversal.amount! });
    return true;
  });
}

/**
 * A store's consumption request, whoever brought it (the callback, a sweep): the answer's workflow of
 * its transaction is started, or joined (one answer per transaction).
 */
export async function takeConsumptionRequest(
  deps: Pick<IntakeDeps, 'purchases' | 'log'>,
  input: { channel: string; request: ConsumptionRequestEvent; source: 'CALLBACK' | 'SWEEP' },
): Promise<'STARTED' | 'ALREADY_STARTED'> {
  const { channel, request, source } = input;
  const started = await deps.purchases.requestConsumptionAnswer({
    channel,
    transactionId: request.transactionId,
    ...(request.merchantOrderId !== undefined && { orderId: request.merchantOrderId }),
    ...(request.reason !== undefined && { reason: request.reason }),
    signedDate: request.signedDate,
    source,
  });
  deps.log.info({ channel, source, transactionId: request.transactionId, orderId: request.merchantOrderId, started }, 'consumption request');
  return started;
}
