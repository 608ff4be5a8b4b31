/** The order life cycle. Statuses never repeat within one order. */
export const ORDER_STATUSES = [
  'PENDING_PAYMENT',
  'PAID',
  'DELIVERING',
  'DELIVERED',
  'CLOSED',
  'REJECTED',
  'REFUNDED',
  'MANUAL_REVIEW',
  /** The payer's bank took the money back (a dispute): the goods are taken back too. */
  'CHARGED_BACK',
  /** Paid the exact amount, but risk asked a person: the money is held until approved or denied. */
  'RISK_REVIEW',
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The purchase itself: paid, delivered, or the money returned by us. */
const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING_PAYMENT: ['PAID', 'CLOSED', 'MANUAL_REVIEW', 'RISK_REVIEW'],
  PAID: ['DELIVERING', 'REFUNDED'],
  DELIVERING: ['DELIVERED', 'REFUNDED'],
  // A payment that lands after the order was closed is refunded, never kept (or held: LATE_HOLDS).
  CLOSED: ['REFUNDED'],
  MANUAL_REVIEW: ['DELIVERING', 'REFUNDED'],
  // Approved: delivered; denied or not decided in time: refunded.
  RISK_REVIEW: ['DELIVERING', 'REFUNDED'],
  DELIVERED: [],
  REJECTED: [],
  REFUNDED: [],
  CHARGED_BACK: [],
};

/**
 * Reversals, after the fact: the channel refunds or the payer's bank reverses a paid order, or an
 * operator refunds a delivered one; the goods go back. Kept apart so that no step of the purchase
 * mistakes a reversed order for one it already handled (see hasPassed).
 */
const REVERSALS: Partial<Record<OrderStatus, readonly OrderStatus[]>> = {
  PAID: ['CHARGED_BACK'],
  DELIVERING: ['CHARGED_BACK'],
  MANUAL_REVIEW: ['CHARGED_BACK'],
  RISK_REVIEW: ['CHARGED_BACK'],
  DELIVERED: ['REFUNDED', 'CHARGED_BACK'],
};

/**
 * A payment that lands after the order was closed and that the channel will not return (App Store, a
 * refusal for good) is held for a person. After the fact, like a reversal: a closed order has not
 * passed through the review (see hasPassed).
 */
const LATE_HOLDS: Partial<Record<OrderStatus, readonly OrderStatus[]>> = {
  CLOSED: ['MANUAL_REVIEW'],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to) || (REVERSALS[from]?.includes(to) ?? false) || (LATE_HOLDS[from]?.includes(to) ?? false);
}

/**
 * Whether an order in `current` has already passed through `to`'s place on its path (it can be
 * reached from `to`). A step re-run after its effect was kept — a local activity whose workflow
 * task timed out is run again on replay — then finds nothing to do rather than an illegal move.
 */
export function hasPassed(to: OrderStatus, current: OrderStatus): boolean {
  const seen = new Set<OrderStatus>();
  const pending = [...TRANSITIONS[to]];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (next === current) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    pending.push(...TRANSITIONS[next]);
  }
  return false;
}

/** Why an order left the happy path; recorded in its history. */
export const REASONS = {
  paymentTimeout: 'PAYMENT_TIMEOUT',
  cancelledByGame: 'CANCELLED_BY_GAME',
  channelUnavailable: 'CHANNEL_UNAVAILABLE',
  amountMismatch: 'AMOUNT_MISMATCH',
  deliveryFailed: 'DELIVERY_FAILED',
  /** The game's ack refused the goods (e.g. the player's account is gone): the money goes back at once. */
  deliveryRejected: 'DELIVERY_REJECTED',
  latePayment: 'LATE_PAYMENT',
  opsRefund: 'OPS_REFUND',
  outOfStock: 'OUT_OF_STOCK',
  /** A non-consumable the user has pending, paid or delivered. */
  alreadyOwned: 'ALREADY_OWNED',
  /** A per-user daily or lifetime limit of the item. */
  purchaseLimitReached: 'PURCHASE_LIMIT_REACHED',
  /** The user's unpaid orders of the item already hold its `maxPendingPerUser` units. */
  quantityNotAllowed: 'QUANTITY_NOT_ALLOWED',
  /** The channel returned the money (the player asked the store or the channel, not us). */
  channelRefund: 'CHANNEL_REFUND',
  /** The payer's bank reversed the payment. */
  chargeback: 'CHARGEBACK',
  /** The store revoked the purchase (e.g. Apple REVOKE, family sharing withdrawn). */
  revoked: 'REVOKED',
  /** The store product the payer bought is not this order's item. */
  productMismatch: 'PRODUCT_MISMATCH',
  /** PostgreSQL refused the order's data before it was open: nothing was stored or taken. */
  invalidData: 'INVALID_DATA',
  /** PostgreSQL refused the data of a paid order's step: a person decides (deliver or refund). */
  dataError: 'DATA_ERROR',
  /** The channel refused our refund for good (its code is in GET /v1/ops/stuck): the money waits for a person. */
  refundRefused: 'REFUND_REFUSED',
  /** An operator denied an order held for risk review: its money is returned. */
  riskDenied: 'RISK_DENIED',
  /** No operator decided a risk review within RISK_REVIEW_TIMEOUT_MS: its money is returned. */
  riskReviewTimeout: 'RISK_REVIEW_TIMEOUT',
} as const;
