/**
 * The per-order money and goods invariants, written once for the fault drills (bench/lib/invariants.ts,
 * from PostgreSQL, the sandbox provider and the reference game server) and the model-based tests
 * (test/model/, from their in-memory books): each gathers an order's facts, this decides.
 */

/** One order as its books, its channel and the game server see it. */
export interface OrderFacts {
  orderId: string;
  status: string;
  /** The payer's money at the channel: none taken, kept, or returned. */
  channelMoney: 'NONE' | 'KEPT' | 'RETURNED';
  /** Distinct deliveryIds the game server granted for this order. */
  grantedDeliveries: number;
}

/** What the caller knows makes an order a legitimate exception. */
export interface OrderExceptions {
  /** The game server took the goods but answered 500: the order may end without DELIVERED. */
  goodsTakenUnanswered?: boolean;
  /** The goods are being taken back (a reversed order that was delivered). */
  goodsTakenBack?: boolean;
  /** Statuses a paid order may rest in (a person decides; an unrefundable order keeps delivering). */
  restingWhilePaid?: readonly string[];
}

export const ORDER_RULES = {
  deliveredOnce: 'no order delivered twice (game server log)',
  grantsMatchDelivered: 'game server grants ⇔ DELIVERED orders',
  paidSettled: 'every paid order is delivered or refunded',
  channelAgrees: 'money kept ⇔ goods delivered, money returned ⇔ order refunded',
} as const;
export type OrderRule = keyof typeof ORDER_RULES;

export interface OrderViolation {
  rule: OrderRule;
  detail: string;
}

const RETURNED = ['REFUNDED', 'CHARGED_BACK'];

/**
 * The order's violations. `settled`: nothing is in motion any more (after a drill, at a model run's
 * end), so paid orders must have reached their end; before that only the goods rules apply.
 */
export function orderViolations(order: OrderFacts, exceptions: OrderExceptions = {}, settled = true): OrderViolation[] {
  const { orderId, status, channelMoney, grantedDeliveries } = order;
  const violations: OrderViolation[] = [];
  const add = (rule: OrderRule, detail: string) => violations.push({ rule, detail: `${orderId} ${detail}` });

  if (grantedDeliveries > 1) add('deliveredOnce', `granted under ${grantedDeliveries} delivery ids`);
  if (status === 'DELIVERED' && grantedDeliveries === 0) add('grantsMatchDelivered', 'DELIVERED but never granted');
  if (grantedDeliveries > 0 && status !== 'DELIVERED' && !exceptions.goodsTakenUnanswered && !exceptions.goodsTakenBack) {
    add('grantsMatchDelivered', `granted but ${status}`);
  }
  if (!settled) return violations;

  const resting = exceptions.restingWhilePaid ?? [];
  if (channelMoney !== 'NONE' && status !== 'DELIVERED' && !RETURNED.includes(status) && !resting.includes(status)) {
    add('paidSettled', `paid but ${status}`);
  }
  const disagrees =
    (channelMoney === 'KEPT' && status !== 'DELIVERED' && !resting.includes(status)) ||
    (channelMoney === 'RETURNED' && !RETURNED.includes(status)) ||
    (status === 'DELIVERED' && channelMoney !== 'KEPT');
  if (disagrees) add('channelAgrees', `order ${status}, money at the channel ${channelMoney}`);
  return violations;
}
