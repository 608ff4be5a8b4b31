import type { Money } from '../money';

/**
 * A verified payment result of an order's channel payment: what an adapter makes of a notification,
 * a receipt or a query, and what the order's workflow receives.
 */
export interface PaymentResult {
  /** Stable across the channel's retries of the same notification. */
  notificationId: string;
  channelPaymentId: string;
  merchantOrderId: string;
  result: 'SUCCESS' | 'FAILED';
  channelTxnId?: string;
  /** What was actually paid (may differ from the order: never trust it blindly). */
  paid?: Money;
  paidAt?: string;
  /** A store paid for another product than the order's item: never delivered (a person decides). */
  productMismatch?: boolean;
}
