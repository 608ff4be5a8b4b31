import { storefront, storefrontEntry, storefrontFor, storefrontOffers, type StorefrontFigures, type StorefrontRequest } from '../../../domain/catalog/storefront';
import type { SellableItem } from '../../../domain/orders/quote';

const GEMS: SellableItem = {
  sku: 'gems-60',
  gameId: 'g1',
  name: '60 gems',
  grants: [{ itemId: 'gem', quantity: 60 }],
  prices: [
    { region: 'CN', currency: 'CNY', amount: 600 },
    { region: 'CN', currency: 'CNY', amount: 500, channel: 'alipay' },
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
const CN: StorefrontRequest = { region: 'CN', at: NOW, day: '2026-12-08' };
const NONE: StorefrontFigures = { used: new Map(), stock: new Map() };
const figures = (used: Record<string, number>, stock: Record<string, number> = {}): StorefrontFigures => ({
  used: new Map(Object.entries(used)),
  stock: new Map(Object.entries(stock)),
});

describe('the storefront: what is listed, at which price', () => {
  it('lists an item at the price an order would pay: region, else "*"; the channel type\'s own price for that type', () => {
    expect(storefrontEntry(GEMS, CN, NONE)).toEqual({ sku: 'gems-60', name: '60 gems', kind: 'CONSUMABLE', price: { currency: 'CNY', value: 600 }, grants: GEMS.grants, stockRemaining: null });
    expect(storefrontEntry(GEMS, { ...CN, region: 'US' }, NONE)?.price).toEqual({ currency: 'USD', value: 99 });
    expect(storefrontEntry(GEMS, { ...CN, channelType: 'alipay' }, NONE)?.price).toEqual({ currency: 'CNY', value: 500 });
    // The one type the game's policy allows for the platform decides, as for an order.
    expect(storefrontEntry(GEMS, { ...CN, allowedTypes: ['alipay'] }, NONE)?.price.value).toBe(500);
    expect(storefrontEntry(GEMS, { ...CN, allowedTypes: ['alipay', 'wechatpay'] }, NONE)?.price.value).toBe(600);
  });

  it('leaves out retired items, items outside their sale window and items without a price for the region', () => {
    const items: SellableItem[] = [
      GEMS,
      { ...GEMS, sku: 'retired', retiredAt: '2026-12-01T00:00:00.000Z' },
      { ...GEMS, sku: 'later', saleWindow: { startsAt: '2026-12-09T00:00:00.000Z' } },
      { ...GEMS, sku: 'over', saleWindow: { endsAt: '2026-12-08T04:00:00.000Z' } },
      { ...GEMS, sku: 'cn-only', prices: [{ region: 'CN', currency: 'CNY', amount: 600 }] },
    ];
    expect(storefront(items, CN, NONE).map((e) => e.sku)).toEqual(['gems-60', 'cn-only']);
    expect(storefront(items, { ...CN, region: 'JP' }, NONE).map((e) => e.sku)).toEqual(['gems-60']);
  });

  it('ends the sale at the earlier of the sale window and the scheduled price in force', () => {
    const promo = { region: 'CN', currency: 'CNY', amount: 300, startsAt: '2026-12-01T00:00:00.000Z', endsAt: '2026-12-10T00:00:00.000Z' };
    const item = { ...GEMS, prices: [...GEMS.prices, promo], saleWindow: { endsAt: '2026-12-20T00:00:00.000Z' } };
    expect(storefrontEntry(item, CN, NONE)).toMatchObject({ price: { value: 300 }, saleEndsAt: '2026-12-10T00:00:00.000Z' });
    expect(storefrontEntry({ ...item, saleWindow: { endsAt: '2026-12-09T00:00:00.000Z' } }, CN, NONE)?.saleEndsAt).toBe('2026-12-09T00:00:00.000Z');
    expect(storefrontEntry(GEMS, CN, NONE)?.saleEndsAt).toBeUndefined();
  });
});

describe("the storefront: stock and the user's figures", () => {
  it('shows the live stock (0 when sold out), null for unlimited items', () => {
    const limited = { ...GEMS, stockAvailable: 50 };
    expect(storefrontEntry(limited, CN, figures({}, { 'gems-60': 0 }))?.stockRemaining).toBe(0);
    expect(storefrontEntry(limited, CN, NONE)?.stockRemaining).toBe(50);
    expect(storefrontEntry(GEMS, CN, figures({}, { 'gems-60': 3 }))?.stockRemaining).toBeNull();
  });

  it("tells the units left of the daily limit (today's counter only) and of the lifetime limit", () => {
    const item = { ...GEMS, limits: { perUserDaily: 2, perUserLifetime: 5 } };
    const used = figures({ 'DAILY:gems-60:2026-12-07': 2, 'DAILY:gems-60:2026-12-08': 1, 'LIFETIME:gems-60': 5 });
    expect(storefrontEntry(item, CN, used)?.userRemaining).toEqual({ daily: 1, lifetime: 0 });
    expect(storefrontEntry(item, CN, NONE)?.userRemaining).toEqual({ daily: 2, lifetime: 5 });
    expect(storefrontEntry({ ...GEMS, limits: { perUserLifetime: 3 } }, CN, NONE)?.userRemaining).toEqual({ lifetime: 3 });
    expect(storefrontEntry(GEMS, CN, used)?.userRemaining).toBeUndefined();
  });

  it('offers the first-purchase bonus until the user (or the group) claimed it, and marks a non-consumable held or pending as owned', () => {
    const bonus = { grants: [{ itemId: 'gem', quantity: 6 }], group: 'packs' };
    const item = { ...GEMS, firstPurchaseBonus: bonus };
    expect(storefrontEntry(item, CN, NONE)?.bonusGrants).toEqual(bonus.grants);
    expect(storefrontEntry(item, CN, figures({ 'BONUS:packs': 1 }))?.bonusGrants).toBeUndefined();
    expect(storefrontEntry({ ...item, firstPurchaseBonus: { grants: bonus.grants } }, CN, figures({ 'BONUS:packs': 1 }))?.bonusGrants).toEqual(bonus.grants);

    const noAds = { ...GEMS, sku: 'no-ads', kind: 'NON_CONSUMABLE' as const };
    expect(storefrontEntry(noAds, CN, figures({ 'OWNED:no-ads': 1 }))?.owned).toBe(true);
    expect(storefrontEntry(noAds, CN, NONE)).not.toHaveProperty('owned');
  });
});

describe("the storefront's offers: what every player of a region and channel type sees, and until when", () => {
  it('holds until the first start or end of a price or sale window after now (none: for ever)', () => {
    const items: SellableItem[] = [
      { ...GEMS, prices: [...GEMS.prices, { region: 'JP', currency: 'JPY', amount: 160, startsAt: '2026-12-08T06:00:00.000Z' }] },
      { ...GEMS, sku: 'later', saleWindow: { startsAt: '2026-12-08T05:00:00.000Z', endsAt: '2026-12-09T00:00:00.000Z' } },
      { ...GEMS, sku: 'past', prices: [{ region: 'CN', currency: 'CNY', amount: 1, startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2026-12-08T04:00:00.000Z' }] },
    ];
    // A price of another region counts too: the offers are recomputed a little more often, never late.
    expect(storefrontOffers(items, CN).validUntil).toBe(Date.parse('2026-12-08T05:00:00.000Z'));
    expect(storefrontOffers([GEMS], CN).validUntil).toBeUndefined();
    // At the boundary the sale has started: the same answer as an uncached storefront.
    const later = { ...CN, at: new Date('2026-12-08T05:00:00.000Z') };
    expect(storefrontOffers(items, later).offers.map((o) => o.entry.sku)).toEqual(['gems-60', 'later']);
    expect(storefrontOffers(items, later).validUntil).toBe(Date.parse('2026-12-08T06:00:00.000Z'));
  });

  it("gives every user the same entry where nothing of the user's is in it, and this user's figures where there is", () => {
    const items: SellableItem[] = [GEMS, { ...GEMS, sku: 'limited', stockAvailable: 9, limits: { perUserDaily: 2 } }];
    const { offers } = storefrontOffers(items, CN);
    const one = storefrontFor(offers, CN.day, NONE);
    const other = storefrontFor(offers, CN.day, figures({ 'DAILY:limited:2026-12-08': 2 }, { limited: 4 }));
    expect(other[0]).toBe(one[0]);
    expect(one[1]).toMatchObject({ stockRemaining: 9, userRemaining: { daily: 2 } });
    expect(other[1]).toMatchObject({ stockRemaining: 4, userRemaining: { daily: 0 } });
    expect(offers[1]!.entry).toMatchObject({ stockRemaining: 9 });
    expect(storefrontFor(offers, CN.day, NONE)).toEqual(storefront(items, CN, NONE));
  });
});
