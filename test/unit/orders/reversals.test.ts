import { paidUnpricedOtherProduct, paymentResultOf } from '../../../channels/events';
import type { ChannelEvent } from '../../../channels/types';
import { storeProductPrice } from '../../../domain/catalog/pricing';
import { isPartialRefund } from '../../../domain/orders/reversals';

const cny = (value: number) => ({ currency: 'CNY', value });

describe("a channel's refund of part of an order", () => {
  it('is partial only when the channel states an amount under what the order still holds', () => {
    expect(isPartialRefund({ cause: 'CHANNEL_REFUND', amount: cny(200) }, cny(600))).toBe(true);
    expect(isPartialRefund({ cause: 'CHANNEL_REFUND', amount: cny(599) }, cny(600))).toBe(true);
    // All it holds, more, or no amount: the refund ends the order.
    expect(isPartialRefund({ cause: 'CHANNEL_REFUND', amount: cny(600) }, cny(600))).toBe(false);
    expect(isPartialRefund({ cause: 'CHANNEL_REFUND', amount: cny(700) }, cny(600))).toBe(false);
    expect(isPartialRefund({ cause: 'CHANNEL_REFUND' }, cny(600))).toBe(false);
    // Nothing booked yet (the refund came before the payment), another currency, nothing.
    expect(isPartialRefund({ cause: 'CHANNEL_REFUND', amount: cny(200) }, undefined)).toBe(false);
    expect(isPartialRefund({ cause: 'CHANNEL_REFUND', amount: { currency: 'JPY', value: 1 } }, cny(600))).toBe(false);
    expect(isPartialRefund({ cause: 'CHANNEL_REFUND', amount: cny(0) }, cny(600))).toBe(false);
  });

  it("is never a chargeback, a revocation, an operator refund or a store's refund, whatever the amount", () => {
    for (const cause of ['CHARGEBACK', 'REVOKED', 'OPS_REFUND'] as const) expect(isPartialRefund({ cause, amount: cny(1) }, cny(600))).toBe(false);
    // Apple states its own price (598 where our catalog booked 600): still the whole purchase.
    expect(isPartialRefund({ cause: 'CHANNEL_REFUND', amount: cny(598), fromStore: true }, cny(600))).toBe(false);
  });
});

describe('a store paid with another product than the order asked, naming no price', () => {
  const AT = new Date('2026-12-08T04:00:00Z');
  const item = (amount: number, channel?: string) => ({ prices: [{ region: 'CN', currency: 'CNY', amount, ...(channel && { channel }) }] });
  const event: ChannelEvent = { kind: 'PAYMENT_SUCCEEDED', dedupeKey: 'k', merchantOrderId: 'o', channelPaymentId: 'p', storeProductId: 'gems_300' };

  it("is paid our catalog's price of that product, when the items that sell it agree on one", () => {
    expect(storeProductPrice([item(3000)], { region: 'CN', channelType: 'googleplay', at: AT })).toEqual(cny(3000));
    expect(storeProductPrice([item(3000), item(2800, 'googleplay')], { region: 'CN', channelType: 'googleplay', at: AT })).toBeUndefined();
    expect(storeProductPrice([item(3000)], { region: 'JP', channelType: 'googleplay', at: AT })).toBeUndefined();
    expect(storeProductPrice([], { region: 'CN', channelType: 'googleplay', at: AT })).toBeUndefined();
  });

  it('is held for review at that price (or unpriced), while the right product pays the order and a stated price wins', () => {
    const order = { amount: cny(600), storeProductId: 'gems_60' };
    expect(paidUnpricedOtherProduct(event, order)).toBe(true);
    expect(paymentResultOf(event, { ...order, otherProductPrice: cny(3000) })).toMatchObject({ paid: cny(3000), productMismatch: true });
    expect(paymentResultOf(event, order)?.paid).toBeUndefined();
    const stated = { ...event, amount: cny(2500) };
    expect(paidUnpricedOtherProduct(stated, order)).toBe(false);
    expect(paymentResultOf(stated, { ...order, otherProductPrice: cny(3000) })?.paid).toEqual(cny(2500));
    const right = { ...event, storeProductId: 'gems_60' };
    expect(paidUnpricedOtherProduct(right, order)).toBe(false);
    expect(paymentResultOf(right, { ...order, otherProductPrice: cny(3000) })?.paid).toEqual(cny(600));
  });
});
