import { orderViolations, type OrderFacts } from '../../../testkit/order-invariants';

describe('the per-order invariants the drills and the model share', () => {
  const order = (facts: Partial<OrderFacts>): OrderFacts => ({ orderId: 'o1', status: 'DELIVERED', channelMoney: 'KEPT', grantedDeliveries: 1, ...facts });
  const rules = (...args: Parameters<typeof orderViolations>) => orderViolations(...args).map((v) => v.rule);

  it('passes a delivered order whose money was kept, and a refunded one whose money went back', () => {
    expect(rules(order({}))).toEqual([]);
    expect(rules(order({ status: 'REFUNDED', channelMoney: 'RETURNED', grantedDeliveries: 0 }))).toEqual([]);
  });

  it('flags goods given twice, DELIVERED without goods, and goods without DELIVERED unless excused', () => {
    expect(rules(order({ grantedDeliveries: 2 }))).toEqual(['deliveredOnce']);
    expect(rules(order({ grantedDeliveries: 0 }))).toEqual(['grantsMatchDelivered']);
    const tookAndFailed = order({ status: 'REFUNDED', channelMoney: 'RETURNED' });
    expect(rules(tookAndFailed)).toEqual(['grantsMatchDelivered']);
    expect(rules(tookAndFailed, { goodsTakenUnanswered: true })).toEqual([]);
  });

  it('asks a settled paid order to be delivered, returned or resting with a person; not before it settled', () => {
    const waiting = order({ status: 'MANUAL_REVIEW', grantedDeliveries: 0 });
    expect(rules(waiting, {}, false)).toEqual([]);
    expect(rules(waiting)).toEqual(['paidSettled', 'channelAgrees']);
    expect(rules(waiting, { restingWhilePaid: ['MANUAL_REVIEW'] })).toEqual([]);
    expect(rules(order({ status: 'REFUNDED', channelMoney: 'KEPT', grantedDeliveries: 0 }))).toEqual(['channelAgrees']);
  });
});
