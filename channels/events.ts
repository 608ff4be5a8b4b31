import type { Money } from '../domain/money';
import type { PaymentResult } from '../domain/orders/payment-result';
import type { ChannelEvent } from './types';

export type { PaymentResult };

/** What an event is checked against: the order's amount and, for stores, its product. */
export interface OrderTerms {
  amount: Money;
  storeProductId?: string | null;
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
  const paid = success ? (fromStore && !productMismatch ? order.amount : event.amount) : undefined;
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
