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
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  PENDING_PAYMENT: ['PAID', 'CLOSED', 'MANUAL_REVIEW'],
  PAID: ['DELIVERING', 'REFUNDED', 'MANUAL_REVIEW'],
  DELIVERING: ['DELIVERED', 'REFUNDED'],
  // A payment that lands after the order was closed is refunded, never kept.
  CLOSED: ['REFUNDED'],
  MANUAL_REVIEW: ['DELIVERING', 'REFUNDED'],
  DELIVERED: [],
  REJECTED: [],
  REFUNDED: [],
};

/** Statuses an order can be created in. */
export const INITIAL_STATUSES: readonly OrderStatus[] = ['PENDING_PAYMENT', 'REJECTED'];

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isTerminal(status: OrderStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** Statuses in which the order's money is with us and no refund or delivery settled it yet. */
export function holdsUnsettledMoney(status: OrderStatus): boolean {
  return status === 'PAID' || status === 'DELIVERING' || status === 'MANUAL_REVIEW';
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: OrderStatus,
    readonly to: OrderStatus,
  ) {
    super(`order cannot go from ${from} to ${to}`);
  }
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** Why an order left the happy path; recorded in its history. */
export const REASONS = {
  paymentTimeout: 'PAYMENT_TIMEOUT',
  cancelledByGame: 'CANCELLED_BY_GAME',
  channelUnavailable: 'CHANNEL_UNAVAILABLE',
  amountMismatch: 'AMOUNT_MISMATCH',
  deliveryFailed: 'DELIVERY_FAILED',
  latePayment: 'LATE_PAYMENT',
  outOfStock: 'OUT_OF_STOCK',
} as const;
