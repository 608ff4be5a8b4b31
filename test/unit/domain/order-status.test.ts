import { ORDER_STATUSES, canTransition, hasPassed, type OrderStatus } from '../../../domain/orders/status';

describe('order state machine', () => {
  it.each<[OrderStatus, OrderStatus]>([
    ['PENDING_PAYMENT', 'PAID'],
    ['PENDING_PAYMENT', 'CLOSED'],
    ['PENDING_PAYMENT', 'MANUAL_REVIEW'],
    ['PAID', 'DELIVERING'],
    ['DELIVERING', 'DELIVERED'],
    ['DELIVERING', 'REFUNDED'],
    ['CLOSED', 'REFUNDED'],
    // A late payment the channel will not return (App Store): held for a person.
    ['CLOSED', 'MANUAL_REVIEW'],
    ['MANUAL_REVIEW', 'REFUNDED'],
    ['DELIVERED', 'REFUNDED'],
    ['DELIVERED', 'CHARGED_BACK'],
    ['DELIVERING', 'CHARGED_BACK'],
  ])('allows %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it.each<[OrderStatus, OrderStatus]>([
    ['PENDING_PAYMENT', 'DELIVERED'],
    ['PENDING_PAYMENT', 'DELIVERING'],
    ['CLOSED', 'PAID'],
    ['CLOSED', 'DELIVERING'],
    ['DELIVERED', 'DELIVERING'],
    ['CHARGED_BACK', 'REFUNDED'],
    ['CLOSED', 'CHARGED_BACK'],
    ['REFUNDED', 'DELIVERING'],
    ['REJECTED', 'PAID'],
    ['PAID', 'PENDING_PAYMENT'],
  ])('forbids %s -> %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });

  it('never lets a status repeat (so history rows are unique per status)', () => {
    for (const status of ORDER_STATUSES) expect(canTransition(status, status)).toBe(false);
    // Walk every path from PENDING_PAYMENT: no cycles.
    const walk = (status: OrderStatus, seen: Set<OrderStatus>) => {
      expect(seen.has(status)).toBe(false);
      for (const next of ORDER_STATUSES) if (canTransition(status, next)) walk(next, new Set([...seen, status]));
    };
    walk('PENDING_PAYMENT', new Set());
  });

  it('ends every paid path delivered, refunded or charged back', () => {
    const terminal = ORDER_STATUSES.filter((s) => ORDER_STATUSES.every((next) => !canTransition(s, next)));
    expect(terminal.sort()).toEqual(['CHARGED_BACK', 'REFUNDED', 'REJECTED']);
    // A delivered order stays delivered unless the money goes back (channel refund, chargeback, operator).
    expect(ORDER_STATUSES.filter((next) => canTransition('DELIVERED', next)).sort()).toEqual(['CHARGED_BACK', 'REFUNDED']);
    // Money is held from PAID on (and by a late payment to a CLOSED order): each can still be refunded.
    for (const status of ['PAID', 'DELIVERING', 'MANUAL_REVIEW', 'CLOSED'] as const) {
      expect(canTransition(status, 'REFUNDED')).toBe(true);
    }
  });

  it.each<[OrderStatus, OrderStatus]>([
    ['PAID', 'DELIVERING'],
    ['PAID', 'DELIVERED'],
    ['PAID', 'REFUNDED'],
    ['DELIVERING', 'DELIVERED'],
    ['CLOSED', 'REFUNDED'],
    ['MANUAL_REVIEW', 'DELIVERED'],
    ['PENDING_PAYMENT', 'DELIVERED'],
  ])('a re-run step to %s finds an order in %s already past it', (to, current) => {
    expect(hasPassed(to, current)).toBe(true);
  });

  it.each<[OrderStatus, OrderStatus]>([
    ['PAID', 'CLOSED'],
    ['PAID', 'PENDING_PAYMENT'],
    ['CLOSED', 'DELIVERED'],
    ['DELIVERED', 'REFUNDED'],
    ['DELIVERING', 'PAID'],
    ['REFUNDED', 'REFUNDED'],
  ])('a step to %s is not already done for an order in %s', (to, current) => {
    expect(hasPassed(to, current)).toBe(false);
  });
});
