import { opsActionsFor } from '../../../domain/orders/ops-actions';
import { timeline, type TimelineFacts } from '../../../domain/orders/timeline';

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 8, 0, s));
const none: TimelineFacts = {
  createdAt: at(0),
  amount: { currency: 'CNY', value: 1234 },
  routing: null,
  history: [],
  channelAttempts: [],
  notifications: [],
  paymentAttempts: [],
  delivery: null,
  refund: null,
  revocation: null,
  opsActions: [],
};

describe("an order's timeline", () => {
  it('puts every fact in time order, a status after the step of the same instant that caused it', () => {
    const events = timeline({
      ...none,
      history: [
        { status: 'PENDING_PAYMENT', reason: null, at: at(0) },
        { status: 'PAID', reason: null, at: at(5) },
        { status: 'DELIVERED', reason: null, at: at(6) },
      ],
      paymentAttempts: [{ channel: 'sandbox', result: 'SUCCESS', amount: 1234, currency: 'CNY', createdAt: at(5) }],
      notifications: [{ channel: 'sandbox', notificationId: 'n1', result: 'SUCCESS', amount: 1234, currency: 'CNY', receivedCount: 2, firstReceivedAt: at(4) }],
      delivery: { attempts: 3, status: 'DELIVERED', lastStatusCode: 200, lastError: null, deliveredAt: at(6), updatedAt: at(6) },
      channelAttempts: [
        { attempt: 1, channel: 'a', outcome: 'FAILED', error: 'HTTP 503', at: at(1) },
        { attempt: 2, channel: 'sandbox', outcome: 'OPENED', error: null, at: at(2) },
      ],
    });
    expect(events.map((e) => `${e.kind}:${e.title}`)).toEqual([
      'CREATED:Created',
      'STATUS:PENDING_PAYMENT',
      'PAYMENT_OPEN:Payment attempt 1 at a: FAILED',
      'PAYMENT_OPEN:Payment attempt 2 at sandbox: OPENED',
      'NOTIFICATION:sandbox notified SUCCESS (received 2 times)',
      'PAYMENT_RESULT:Payment result SUCCESS from sandbox',
      'STATUS:PAID',
      'DELIVERY:Delivery DELIVERED after 3 attempt(s)',
      'STATUS:DELIVERED',
    ]);
    expect(events[0]!.amount).toEqual({ currency: 'CNY', value: 1234 });
    expect(events[2]!.detail).toBe('HTTP 503');
  });

  it('names the routing choice with the accounts left out and why, and every operator action with its reason', () => {
    const events = timeline({
      ...none,
      routing: { chosen: 'sandbox', reason: 'CHEAPEST', candidates: [{ channel: 'sandbox' }, { channel: 'alipay', excludedBecause: 'BREAKER_OPEN' }] },
      opsActions: [{ operator: 'alice', action: 'CLOSE', reason: 'ticket 1', outcome: 'REFUSED', detail: 'not allowed', createdAt: at(9) }],
    });
    expect(events[1]).toMatchObject({ kind: 'ROUTING', title: 'Routed to sandbox (CHEAPEST)', detail: 'left out: alipay: BREAKER_OPEN' });
    expect(events[2]).toMatchObject({ kind: 'OPS_ACTION', title: 'alice: CLOSE REFUSED', detail: 'ticket 1 — not allowed' });
  });
});

describe("the operators' actions a status allows", () => {
  it.each([
    ['PENDING_PAYMENT', ['CLOSE']],
    ['DELIVERING', ['RETRY_DELIVERY', 'REFUND']],
    ['MANUAL_REVIEW', ['REFUND', 'RESOLVE']],
    ['DELIVERED', ['REFUND']],
    ['REFUNDED', []],
    ['CLOSED', []],
  ] as const)('%s → %j', (status, actions) => {
    expect(opsActionsFor(status)).toEqual(actions);
  });
});
