import { refusalOf } from '../../../domain/catalog/allowances';
import { MAX_ORDER_AMOUNT } from '../../../domain/money';
import {
  priceOrder,
  quoteOrder,
  type ChannelCapabilities,
  type OrderRequest,
  type PricedOrder,
  type QuotingGame,
  type Quoted,
  type SellableItem,
} from '../../../domain/orders/quote';
import { routingWithDefaults } from '../../../domain/routing/fields';
import { route, type RoutableAccount, type RouterSettings, type RoutingDecision } from '../../../domain/routing/router';

const CLOCK = { timeZone: 'Asia/Shanghai', dailyResetHour: 5 };
const GAME: QuotingGame = { id: 'g1', channelPolicy: null, ...CLOCK };
const GEMS: SellableItem = {
  sku: 'gems-60',
  gameId: 'g1',
  name: '60 gems',
  grants: [
    { itemId: 'gem', quantity: 60 },
    { itemId: 'badge', quantity: 1 },
  ],
  prices: [
    { region: 'CN', currency: 'CNY', amount: 600 },
    { region: '*', currency: 'USD', amount: 99 },
  ],
  storeProducts: null,
  kind: 'CONSUMABLE',
  stockAvailable: null,
  saleWindow: null,
  retiredAt: null,
  limits: null,
  maxPerOrder: null,
  firstPurchaseBonus: null,
};
const NOW = new Date('2026-12-08T04:00:00Z');
const CN_ONE: OrderRequest = { sku: 'gems-60', quantity: 1, region: 'CN', platform: 'ios' };

const SETTINGS: RouterSettings = { failurePenaltyBps: 10_000, priorAttempts: 10, explorationShare: 0 };
const account = (channelId: string, type: string, storeChannel = false): RoutableAccount => ({
  channelId,
  type,
  enabled: true,
  routing: routingWithDefaults({}),
  storeChannel,
});
const adapter = (type: string, receipts: boolean, refund: boolean): ChannelCapabilities => ({ type, supports: { receipts, refund } });

const SANDBOX = { account: account('sandbox', 'sandbox'), adapter: adapter('sandbox', false, true) };
const APPSTORE = { account: account('appstore-1', 'appstore', true), adapter: adapter('appstore', true, false) };
const GOOGLEPLAY = { account: account('googleplay-1', 'googleplay', true), adapter: adapter('googleplay', true, true) };

function priced(quoted: Quoted<PricedOrder>): PricedOrder {
  if (quoted.outcome !== 'OK') throw new Error(`refused: ${quoted.refusal.code}`);
  return quoted.value;
}

/** The quote as the API makes it: priced, routed by the real router among `channels`, then quoted. */
function quote(item: SellableItem, request: OrderRequest, channels: { account: RoutableAccount; adapter: ChannelCapabilities }[]) {
  const order = priced(priceOrder(item, GAME, request, NOW));
  const decision = route(order.route, channels.map((c) => c.account), () => undefined, SETTINGS, () => 0.999);
  const chosen = channels.find((c) => c.account.channelId === decision.chosen);
  return quoteOrder(order, decision, chosen?.adapter);
}

describe('the quote: refusals', () => {
  it('refuses an unknown item with 404 ITEM_NOT_FOUND', () => {
    expect(priceOrder(null, GAME, CN_ONE, NOW)).toEqual({
      outcome: 'REFUSED',
      refusal: { status: 404, code: 'ITEM_NOT_FOUND', message: 'no item gems-60 in this game' },
    });
  });

  it("refuses another game's item as if it did not exist", () => {
    expect(priceOrder({ ...GEMS, gameId: 'g2' }, GAME, CN_ONE, NOW)).toMatchObject({ outcome: 'REFUSED', refusal: { status: 404, code: 'ITEM_NOT_FOUND' } });
  });

  it('refuses a region without a price and without a "*" price with 422 NO_PRICE_FOR_REGION', () => {
    const cnOnly = { ...GEMS, prices: GEMS.prices.filter((p) => p.region === 'CN') };
    expect(priceOrder(cnOnly, GAME, { ...CN_ONE, region: 'DE' }, NOW)).toEqual({
      outcome: 'REFUSED',
      refusal: { status: 422, code: 'NO_PRICE_FOR_REGION', message: 'gems-60 has no price for region DE' },
    });
  });

  it('refuses an amount above the order limit with 422 AMOUNT_TOO_LARGE and the limit', () => {
    const dear = { ...GEMS, prices: [{ region: 'CN', currency: 'CNY', amount: MAX_ORDER_AMOUNT }] };
    expect(priceOrder(dear, GAME, { ...CN_ONE, quantity: 2 }, NOW)).toMatchObject({
      outcome: 'REFUSED',
      refusal: { status: 422, code: 'AMOUNT_TOO_LARGE', details: { limit: MAX_ORDER_AMOUNT } },
    });
  });

  it('refuses with 422 CHANNEL_NOT_AVAILABLE naming the eligible accounts and the candidates when none is chosen', () => {
    const order = priced(priceOrder(GEMS, GAME, CN_ONE, NOW));
    const none: RoutingDecision = { candidates: [{ channel: 'off', score: 0, feeMinor: 0, successRate: 1, excludedBecause: 'DISABLED' }], ranked: [], eligible: [] };
    expect(quoteOrder(order, none, undefined)).toEqual({
      outcome: 'REFUSED',
      refusal: { status: 422, code: 'CHANNEL_NOT_AVAILABLE', message: 'no payment channel can take this order', details: { available: [], candidates: none.candidates } },
    });
  });

  it('names the requested account when it cannot take the order', () => {
    const order = priced(priceOrder(GEMS, GAME, { ...CN_ONE, channel: 'alipay-1' }, NOW));
    const decision: RoutingDecision = { candidates: [], ranked: [], eligible: ['sandbox'] };
    expect(quoteOrder(order, decision, undefined)).toMatchObject({
      refusal: { code: 'CHANNEL_NOT_AVAILABLE', message: 'payment channel alipay-1 is not available for this order', details: { available: ['sandbox'] } },
    });
  });

  it('refuses a chosen account that has no adapter in this process', () => {
    const order = priced(priceOrder(GEMS, GAME, CN_ONE, NOW));
    const decision: RoutingDecision = { candidates: [], ranked: ['gone'], eligible: ['gone'], chosen: 'gone', reason: 'CHEAPEST' };
    expect(quoteOrder(order, decision, undefined)).toMatchObject({ outcome: 'REFUSED', refusal: { code: 'CHANNEL_NOT_AVAILABLE' } });
  });
});

describe('the quote: what is on sale, and how many', () => {
  it('refuses a retired item, or one outside its sale window, with 422 NOT_ON_SALE', () => {
    expect(priceOrder({ ...GEMS, retiredAt: '2026-12-01T00:00:00.000Z' }, GAME, CN_ONE, NOW)).toMatchObject({ refusal: { status: 422, code: 'NOT_ON_SALE' } });
    expect(priceOrder({ ...GEMS, saleWindow: { startsAt: '2026-12-09T00:00:00Z' } }, GAME, CN_ONE, NOW)).toMatchObject({ refusal: { status: 422, code: 'NOT_ON_SALE' } });
    expect(priceOrder({ ...GEMS, saleWindow: { endsAt: NOW.toISOString() } }, GAME, CN_ONE, NOW)).toMatchObject({ refusal: { code: 'NOT_ON_SALE' } });
    expect(priceOrder({ ...GEMS, saleWindow: { endsAt: '2026-12-09T00:00:00Z' } }, GAME, CN_ONE, NOW)).toMatchObject({ outcome: 'OK' });
  });

  it('refuses more than one unit of a non-consumable, or more than maxPerOrder, with 422 QUANTITY_NOT_ALLOWED', () => {
    expect(priceOrder({ ...GEMS, kind: 'NON_CONSUMABLE' }, GAME, { ...CN_ONE, quantity: 2 }, NOW)).toMatchObject({
      refusal: { status: 422, code: 'QUANTITY_NOT_ALLOWED', details: { maxPerOrder: 1 } },
    });
    expect(priceOrder({ ...GEMS, stockAvailable: 50 }, GAME, { ...CN_ONE, quantity: 11 }, NOW)).toMatchObject({ refusal: { code: 'QUANTITY_NOT_ALLOWED', details: { maxPerOrder: 10 } } });
    expect(priceOrder({ ...GEMS, stockAvailable: 50 }, GAME, { ...CN_ONE, quantity: 10 }, NOW)).toMatchObject({ outcome: 'OK' });
    expect(priceOrder({ ...GEMS, maxPerOrder: 2 }, GAME, { ...CN_ONE, quantity: 3 }, NOW)).toMatchObject({ refusal: { code: 'QUANTITY_NOT_ALLOWED' } });
  });
});

describe('the quote: allowances', () => {
  it("takes ownership, lifetime and daily units (in the game's day) and the bonus, in that order", () => {
    const item = { ...GEMS, kind: 'NON_CONSUMABLE' as const, limits: { perUserDaily: 1, perUserLifetime: 3 }, firstPurchaseBonus: { grants: [{ itemId: 'gem', quantity: 6 }], group: 'gems' } };
    // 04:00Z is 12:00 in Shanghai; 2026-12-07T20:00Z is 04:00 on the 8th there, before the 05:00 reset: still the 7th.
    expect(priced(priceOrder(item, GAME, CN_ONE, NOW)).allowances).toEqual({
      takes: [
        { kind: 'OWNED', key: 'OWNED:gems-60', quantity: 1, limit: 1 },
        { kind: 'LIFETIME', key: 'LIFETIME:gems-60', quantity: 1, limit: 3 },
        { kind: 'DAILY', key: 'DAILY:gems-60:2026-12-08', quantity: 1, limit: 1 },
        { kind: 'BONUS', key: 'BONUS:gems', quantity: 1, limit: 1 },
      ],
      bonusGrants: [{ itemId: 'gem', quantity: 6 }],
    });
    expect(priced(priceOrder(item, GAME, CN_ONE, new Date('2026-12-07T20:00:00Z'))).allowances?.takes[2]?.key).toBe('DAILY:gems-60:2026-12-07');
  });

  it('takes nothing for an item without limits, ownership or bonus, and carries the takes to the terms', () => {
    expect(priced(priceOrder(GEMS, GAME, CN_ONE, NOW)).allowances).toBeUndefined();
    const result = quote({ ...GEMS, limits: { perUserLifetime: 2 } }, CN_ONE, [SANDBOX]);
    expect(result).toMatchObject({ value: { allowances: { takes: [{ kind: 'LIFETIME', limit: 2 }] } } });
  });

  it("caps the units a user's unpaid orders hold: maxPendingPerUser, else maxPerOrder for limited stock, else no cap", () => {
    const two = { ...CN_ONE, quantity: 2 };
    const takes = (item: SellableItem) => priced(priceOrder(item, GAME, two, NOW)).allowances?.takes;
    expect(takes({ ...GEMS, stockAvailable: 50 })).toEqual([{ kind: 'PENDING', key: 'PENDING:gems-60', quantity: 2, limit: 10 }]);
    expect(takes({ ...GEMS, stockAvailable: 50, maxPerOrder: 4 })).toEqual([{ kind: 'PENDING', key: 'PENDING:gems-60', quantity: 2, limit: 4 }]);
    expect(takes({ ...GEMS, stockAvailable: 50, limits: { maxPendingPerUser: 3 } })?.[0]?.limit).toBe(3);
    expect(takes({ ...GEMS, limits: { maxPendingPerUser: 3 } })?.[0]).toMatchObject({ kind: 'PENDING', limit: 3 });
    expect(takes({ ...GEMS, maxPerOrder: 4 })).toBeUndefined();
    // Told after the limits a user cannot change by paying, before the bonus.
    const all = takes({ ...GEMS, stockAvailable: 50, limits: { perUserDaily: 5 }, firstPurchaseBonus: { grants: [{ itemId: 'gem', quantity: 6 }] } });
    expect(all?.map((t) => t.kind)).toEqual(['DAILY', 'PENDING', 'BONUS']);
  });
});

describe('the refusal of a take', () => {
  it('tells a pending cap as QUANTITY_NOT_ALLOWED with the cap, the units held and the quantity asked', () => {
    expect(refusalOf({ kind: 'PENDING', key: 'PENDING:gems-60', quantity: 2, limit: 3 }, { used: 2 })).toEqual({
      reason: 'QUANTITY_NOT_ALLOWED',
      details: { maxPendingPerUser: 3, pending: 2, quantity: 2 },
    });
    expect(refusalOf({ kind: 'LIFETIME', key: 'LIFETIME:gems-60', quantity: 1, limit: 3 }, { used: 3 })).toEqual({
      reason: 'PURCHASE_LIMIT_REACHED',
      details: { limit: 'LIFETIME', allowed: 3, used: 3 },
    });
  });
});

describe('the quote: prices per channel type', () => {
  const ALIPAY_PRICED = { ...GEMS, prices: [...GEMS.prices, { region: 'CN', currency: 'CNY', amount: 500, channel: 'alipay' }] };
  const ALIPAY = { account: account('alipay-1', 'alipay'), adapter: adapter('alipay', false, true) };

  it("prices an order for the named account's type and routes it only among accounts of that type", () => {
    const order = priced(priceOrder(ALIPAY_PRICED, GAME, { ...CN_ONE, channel: 'alipay-1', channelType: 'alipay' }, NOW));
    expect(order.amount).toEqual({ currency: 'CNY', value: 500 });
    expect(order.route.channelType).toBe('alipay');
  });

  it("prices by the one type the game's policy allows for the platform", () => {
    const game = { id: 'g1', channelPolicy: { android: ['alipay' as const] }, ...CLOCK };
    expect(priced(priceOrder(ALIPAY_PRICED, game, { ...CN_ONE, platform: 'android' }, NOW)).amount.value).toBe(500);
  });

  it('prices an order of unknown type at the plain price, which any account may take', () => {
    const result = quote(ALIPAY_PRICED, CN_ONE, [SANDBOX, ALIPAY]);
    expect(result).toMatchObject({ outcome: 'OK', value: { amount: { value: 600 }, channel: 'sandbox' } });
  });

  it("keeps an order priced at one type's price away from other types' accounts", () => {
    const order = priced(priceOrder(ALIPAY_PRICED, GAME, { ...CN_ONE, channelType: 'alipay' }, NOW));
    const decision = route(order.route, [SANDBOX.account, ALIPAY.account], () => undefined, SETTINGS, () => 0.999);
    expect(decision.chosen).toBe('alipay-1');
    expect(decision.candidates.find((c) => c.channel === 'sandbox')?.excludedBecause).toBe('PRICE_CHANNEL');
  });
});

describe('the quote: price and grants', () => {
  it("prices the request's region at its own price and other regions at the \"*\" price", () => {
    expect(priced(priceOrder(GEMS, GAME, CN_ONE, NOW)).amount).toEqual({ currency: 'CNY', value: 600 });
    expect(priced(priceOrder(GEMS, GAME, { ...CN_ONE, region: 'DE' }, NOW)).amount).toEqual({ currency: 'USD', value: 99 });
  });

  it('multiplies the amount and every grant by the quantity', () => {
    expect(quote(GEMS, { ...CN_ONE, quantity: 3 }, [SANDBOX])).toMatchObject({
      outcome: 'OK',
      value: {
        quantity: 3,
        amount: { currency: 'CNY', value: 1800 },
        grants: [
          { itemId: 'gem', quantity: 180 },
          { itemId: 'badge', quantity: 3 },
        ],
      },
    });
  });

  it('asks the router with the amount, the request and the game policy', () => {
    const game = { id: 'g1', channelPolicy: { ios: ['appstore'] }, ...CLOCK };
    expect(priced(priceOrder({ ...GEMS, storeProducts: { appstore: 'com.g1.gems60' } }, game, { ...CN_ONE, channel: 'appstore-1' }, NOW)).route).toEqual({
      amount: { currency: 'CNY', value: 600 },
      region: 'CN',
      platform: 'ios',
      policy: { ios: ['appstore'] },
      storeProducts: ['appstore'],
      requested: 'appstore-1',
    });
  });

  it("fixes the item's name and sku and the router's decision on the order", () => {
    const result = quote(GEMS, CN_ONE, [SANDBOX]);
    expect(result).toEqual({
      outcome: 'OK',
      value: {
        sku: 'gems-60',
        itemName: '60 gems',
        quantity: 1,
        grants: [
          { itemId: 'gem', quantity: 60 },
          { itemId: 'badge', quantity: 1 },
        ],
        region: 'CN',
        amount: { currency: 'CNY', value: 600 },
        channel: 'sandbox',
        channelCandidates: ['sandbox'],
        routing: { candidates: [{ channel: 'sandbox', score: 0, feeMinor: 0, successRate: 1 }], chosen: 'sandbox', reason: 'CHEAPEST' },
        storeProductId: undefined,
        confirmsDelivery: undefined,
        refundable: undefined,
      },
    });
  });
});

describe('the quote: store channels and flags', () => {
  it('cannot be bought through a store the item has no product in', () => {
    expect(quote(GEMS, { ...CN_ONE, channel: 'appstore-1' }, [APPSTORE])).toMatchObject({ outcome: 'REFUSED', refusal: { code: 'CHANNEL_NOT_AVAILABLE' } });
  });

  it("carries the store's product and asks the store to confirm the delivery; not refundable where the store alone refunds", () => {
    const item = { ...GEMS, storeProducts: { appstore: 'com.g1.gems60', googleplay: 'gems_60' } };
    expect(quote(item, { ...CN_ONE, channel: 'appstore-1' }, [APPSTORE])).toMatchObject({
      outcome: 'OK',
      value: { channel: 'appstore-1', storeProductId: 'com.g1.gems60', confirmsDelivery: true, refundable: false },
    });
    expect(quote(item, { ...CN_ONE, platform: 'android', channel: 'googleplay-1' }, [GOOGLEPLAY])).toMatchObject({
      outcome: 'OK',
      value: { channel: 'googleplay-1', storeProductId: 'gems_60', confirmsDelivery: true, refundable: undefined },
    });
  });

  it('sets neither flag nor a store product for a channel without receipts that refunds, even when the item has store products', () => {
    const item = { ...GEMS, storeProducts: { appstore: 'com.g1.gems60' } };
    const { value } = quote(item, CN_ONE, [SANDBOX]) as Extract<Quoted<unknown>, { outcome: 'OK' }>;
    expect(value).toMatchObject({ channel: 'sandbox', storeProductId: undefined, confirmsDelivery: undefined, refundable: undefined });
  });

  it('marks an order not refundable when its channel cannot refund', () => {
    const noRefunds = { account: account('wallet-1', 'wallet'), adapter: adapter('wallet', false, false) };
    expect(quote(GEMS, CN_ONE, [noRefunds])).toMatchObject({ outcome: 'OK', value: { refundable: false, confirmsDelivery: undefined } });
  });
});
