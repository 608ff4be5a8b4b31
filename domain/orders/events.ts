import type { Money } from '../money';
import type { OrderStatus } from './status';

/**
 * Order events: what the outside world may follow of an order, one event per change, in the order
 * the changes happened (`sequence` 1, 2, 3… per order). The status an order enters names its event.
 */
export const ORDER_EVENT_TYPES = {
  PENDING_PAYMENT: 'order.created',
  REJECTED: 'order.rejected',
  PAID: 'order.paid',
  DELIVERING: 'order.delivering',
  DELIVERED: 'order.delivered',
  CLOSED: 'order.closed',
  REFUNDED: 'order.refunded',
  CHARGED_BACK: 'order.charged_back',
  MANUAL_REVIEW: 'order.manual_review',
  RISK_REVIEW: 'order.risk_review',
} as const satisfies Record<OrderStatus, string>;

export type OrderEventType = (typeof ORDER_EVENT_TYPES)[OrderStatus];

export const eventTypeOf = (status: OrderStatus): OrderEventType => ORDER_EVENT_TYPES[status];

/** One event as the outbox holds it. */
export interface OrderEventRecord {
  orderId: string;
  sequence: number;
  type: OrderEventType;
  gameId: string;
  userId: string;
  sku: string;
  amount: Money;
  channel: string;
  status: OrderStatus;
  reason?: string;
  /** When the change committed (ISO 8601 UTC). */
  at: string;
}

/** The published body. */
export type OrderEventBody = OrderEventRecord & { eventId: string };

/** Stable per change: a republished event keeps its id, so brokers and consumers drop the duplicate. */
export const eventIdFor = (orderId: string, sequence: number) => `evt_${orderId}_${sequence}`;

/** The event's topic below the broker's prefix: `<gameId>.<type>` (NATS subject tail, AMQP routing key). */
export const eventTopicOf = (e: Pick<OrderEventRecord, 'gameId' | 'type'>) => `${e.gameId}.${e.type}`;

export function eventBodyOf(e: OrderEventRecord): OrderEventBody {
  const { reason, ...rest } = e;
  return { eventId: eventIdFor(e.orderId, e.sequence), ...rest, ...(reason !== undefined && { reason }) };
}

/**
 * What one relay pass publishes: the claimed events (the oldest unpublished rows) as one queue per
 * order, by sequence. Each queue is published in order and stops at its first failure; since an
 * order's earlier events are older rows, a batch never holds an event without those before it.
 */
export function queuesPerOrder<E extends Pick<OrderEventRecord, 'orderId' | 'sequence'>>(batch: readonly E[]): E[][] {
  const byOrder = new Map<string, E[]>();
  for (const e of batch) {
    const queue = byOrder.get(e.orderId);
    if (queue) queue.push(e);
    else byOrder.set(e.orderId, [e]);
  }
  return [...byOrder.values()].map((queue) => queue.sort((a, b) => a.sequence - b.sequence));
}
