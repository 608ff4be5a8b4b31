import type { Money } from '../domain/money';
import type { PaymentResult } from '../domain/orders/payment-result';
import type { ChannelEvent } from './types';

export type { PaymentResult };

/** What an event is checked against: the order's amount and, for stores, its product. */
export interface OrderTerms {
  amount: Money;
  storeProductId?: string | null;
  /** Our catalog's price of the other product a store was paid with, where the store names none. */
  otherProductPrice?: Money;
}

/** A store's payment of another product than the order's, whose price it does not state. */
export function paidUnpricedOtherProduct(event: ChannelEvent, order: OrderTerms): event is ChannelEvent & { storeProductId: string } {
  return event.kind === 'PAYMENT_SUCCEEDED' && event.storeProductId !== undefined && event.storeProductId !== order.storeProductId && event.amount === undefined;
}

/**
 * A channel's payment event as a payment result for the order. Stores (App Store, Google Play) charge
 * their product's price and may not say it: there the product is what must match — the right product
 * paid the order's amount, another product is never delivered. Elsewhere the amount paid is what the
 * channel reports, and the workflow compares it with the order.
 */
export function paymentResultOf(event: ChannelEvent, order: OrderTerms): PaymentResult | undefined {
  if (event.kind !== 'PAYMENT_SUCCEEDED' && event.kind !== 'PAYMENT_FAILED') return undefined;
  const success = event.kind === 'PAYMENT_SUCCEEDED';
  const fromStore = event.storeProductId !== undefined;
  const productMismatch = success && fromStore && event.storeProductId !== order.storeProductId;
  const paid = success ? (!fromStore ? event.amount : productMismatch ? (event.amount ?? order.otherProductPrice) : order.amount) : undefined;
  return {
    notificationId: event.dedupeKey,
    channelPaymentId: event.channelPaymentId ?? '',
    merchantOrderId: event.merchantOrderId ?? '',
    result: success ? 'SUCCESS' : 'FAILED',
    ...(event.channelTradeNo !== undefined && { channelTxnId: event.channelTradeNo }),
    ...(paid !== undefined && { paid }),
    ...(event.occurredAt !== undefined && { paidAt: event.occurredAt }),
    ...(productMismatch && { productMismatch: true }),
  };
}

/** The reversal an event reports, if it is one: a refund we did not ask for, a chargeback, a revocation. */
export function reversalCauseOf(event: ChannelEvent, ourRefundId: string): 'CHANNEL_REFUND' | 'CHARGEBACK' | 'REVOKED' | undefined {
  if (event.kind === 'CHARGEBACK') return 'CHARGEBACK';
  if (event.kind === 'REVOKED') return 'REVOKED';
  if (event.kind === 'REFUND_SUCCEEDED' && event.refundId !== ourRefundId) return 'CHANNEL_REFUND';
  return undefined;
}
