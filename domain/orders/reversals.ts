import type { Money } from '../money';

/** What the channel reported returning, as far as the rule needs it. */
export interface ReportedReversal {
  cause: 'CHANNEL_REFUND' | 'CHARGEBACK' | 'REVOKED' | 'OPS_REFUND';
  amount?: Money;
  /** A store's report (App Store, Google Play): the amount is the store's price, not what our books hold. */
  fromStore?: boolean;
}

/**
 * Whether a channel's refund returns only part of what the order still holds (a goodwill refund from
 * the merchant's console, one of several): it is booked, and the order stays as it is — its goods are
 * kept, its delivery goes on, a later refund of ours returns only the rest. Anything else ends the
 * order: a chargeback, a revocation, a refund of all the order holds or more, or of an amount the
 * channel does not state, and a store's refund (its amount is the store's price of the product, which
 * may differ from the catalog's price our books hold).
 */
export function isPartialRefund(reversal: ReportedReversal, holds: Money | undefined): boolean {
  const amount = reversal.amount;
  if (reversal.cause !== 'CHANNEL_REFUND' || reversal.fromStore || !amount || !holds) return false;
  return amount.currency === holds.currency && amount.value > 0 && amount.value < holds.value;
}

