import { ORDER_EVENT_TYPES, eventBodyOf, eventIdFor, eventTopicOf, queuesPerOrder, type OrderEventRecord } from '../../../domain/orders/events';
import { ORDER_STATUSES } from '../../../domain/orders/status';

const record = (over: Partial<OrderEventRecord> = {}): OrderEventRecord => ({
  orderId: '00000000-0000-8000-8000-000000000001',
  sequence: 1,
  type: 'order.created',
  gameId: 'game-1',
  userId: 'user-1',
  sku: 'gems_100',
  amount: { currency: 'CNY', value: 600 },
  channel: 'sandbox',
  status: 'PENDING_PAYMENT',
  at: '2026-12-07T10:00:00.000Z',
  ...over,
});

it('names an event type for every order status, each one distinct', () => {
  const types = ORDER_STATUSES.map((s) => ORDER_EVENT_TYPES[s]);
  expect(types.every((t) => /^order\.[a-z_]+$/.test(t))).toBe(true);
  expect(new Set(types).size).toBe(ORDER_STATUSES.length);
  expect(ORDER_EVENT_TYPES.PENDING_PAYMENT).toBe('order.created');
  expect(ORDER_EVENT_TYPES.CHARGED_BACK).toBe('order.charged_back');
});

it('gives an event the same id every time it is published, and a topic of its game and type', () => {
  const e = record({ sequence: 3, type: 'order.paid' });
  expect(eventBodyOf(e).eventId).toBe(eventIdFor(e.orderId, 3));
  expect(eventBodyOf(e).eventId).toBe(eventBodyOf({ ...e }).eventId);
  expect(eventIdFor(e.orderId, 4)).not.toBe(eventIdFor(e.orderId, 3));
  expect(eventTopicOf(e)).toBe('game-1.order.paid');
});

it('puts a reason in the body only when the change has one', () => {
  expect(eventBodyOf(record())).not.toHaveProperty('reason');
  expect(eventBodyOf(record({ status: 'CLOSED', type: 'order.closed', reason: 'PAYMENT_TIMEOUT' })).reason).toBe('PAYMENT_TIMEOUT');
  expect(Object.keys(eventBodyOf(record())).sort()).toEqual(
    ['amount', 'at', 'channel', 'eventId', 'gameId', 'orderId', 'sequence', 'sku', 'status', 'type', 'userId'].sort(),
  );
});

it('queues a batch per order, each order by sequence, orders in the order they first appear', () => {
  const a = '00000000-0000-8000-8000-00000000000a';
  const b = '00000000-0000-8000-8000-00000000000b';
  const batch = [
    { orderId: a, sequence: 1 },
    { orderId: b, sequence: 4 },
    { orderId: a, sequence: 3 },
    { orderId: a, sequence: 2 },
    { orderId: b, sequence: 5 },
  ];
  expect(queuesPerOrder(batch)).toEqual([
    [{ orderId: a, sequence: 1 }, { orderId: a, sequence: 2 }, { orderId: a, sequence: 3 }],
    [{ orderId: b, sequence: 4 }, { orderId: b, sequence: 5 }],
  ]);
  expect(queuesPerOrder([])).toEqual([]);
});
