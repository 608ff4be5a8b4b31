import { orderIdFor, requestHash } from '../../../domain/ids';
import { MAX_ORDER_AMOUNT, multiply, sameMoney } from '../../../domain/money';
import { grantsFor, orderAmount, priceFor } from '../../../domain/catalog/pricing';
import { evaluateRisk } from '../../../domain/risk/rules';

describe('pricing', () => {
  const prices = [
    { region: 'CN', currency: 'CNY', amount: 600 },
    { region: 'JP', currency: 'JPY', amount: 120 },
    { region: '*', currency: 'USD', amount: 99 },
  ];
  it('prefers the regional price and falls back to the wildcard', () => {
    expect(priceFor(prices, 'CN')).toEqual({ currency: 'CNY', value: 600 });
    expect(priceFor(prices, 'DE')).toEqual({ currency: 'USD', value: 99 });
    expect(priceFor(prices.slice(0, 2), 'DE')).toBeUndefined();
  });
  it('multiplies in integer minor units and refuses overflow', () => {
    expect(orderAmount(prices, 'JP', 3)).toEqual({ currency: 'JPY', value: 360 });
    expect(multiply({ currency: 'CNY', value: 199 }, 3)).toEqual({ currency: 'CNY', value: 597 });
    expect(() => multiply({ currency: 'CNY', value: MAX_ORDER_AMOUNT }, 2)).toThrow(RangeError);
    expect(sameMoney({ currency: 'CNY', value: 1 }, { currency: 'USD', value: 1 })).toBe(false);
  });
  it('scales grants with the quantity', () => {
    expect(grantsFor([{ itemId: 'gem', quantity: 60 }, { itemId: 'skin', quantity: 1 }], 2)).toEqual([
      { itemId: 'gem', quantity: 120 },
      { itemId: 'skin', quantity: 2 },
    ]);
  });
});

describe('risk rules', () => {
  const rules = { maxOrdersPerUserInWindow: 3 };
  it('allows a clean order', () => {
    expect(evaluateRisk({ blacklisted: [], recentOrdersOfUser: 2 }, rules)).toEqual({ decision: 'ALLOW', reasons: [] });
  });
  it('denies blacklisted subjects and fast buyers, naming every reason', () => {
    expect(evaluateRisk({ blacklisted: ['IP', 'DEVICE', 'IP'], recentOrdersOfUser: 3 }, rules)).toEqual({
      decision: 'DENY',
      reasons: ['BLACKLISTED_DEVICE', 'BLACKLISTED_IP', 'USER_VELOCITY'],
    });
  });
});

describe('ids', () => {
  it('derives one order id per game and idempotency key', () => {
    const id = orderIdFor('game-1', 'key-1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(orderIdFor('game-1', 'key-1')).toBe(id);
    expect(orderIdFor('game-2', 'key-1')).not.toBe(id);
    expect(orderIdFor('game-1', 'key-2')).not.toBe(id);
  });
  it('hashes request bodies independently of key order', () => {
    expect(requestHash({ a: 1, b: [1, { c: 2, d: 3 }] })).toBe(requestHash({ b: [1, { d: 3, c: 2 }], a: 1 }));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: 2 }));
    expect(requestHash({ a: 1, b: undefined })).toBe(requestHash({ a: 1 }));
  });
});
