import { catalogItemOf } from '../../../store/catalog';

/** An item's row as Prisma reads it: JSON columns untyped, prices as rows. */
const row = (storeProducts: unknown) => ({
  sku: 'gems-60',
  gameId: 'g1',
  name: '60 gems',
  grants: [{ itemId: 'gem', quantity: 60 }],
  stockAvailable: null,
  storeProducts,
  kind: 'CONSUMABLE',
  monthlyCard: null,
  saleStartsAt: null,
  saleEndsAt: null,
  retiredAt: null,
  tags: [],
  limits: null,
  maxPerOrder: null,
  firstPurchaseBonus: null,
  createdAt: new Date('2026-12-07T00:00:00Z'),
  updatedAt: new Date('2026-12-07T00:00:00Z'),
  prices: [{ id: 1n, sku: 'gems-60', region: 'CN', currency: 'CNY', amount: 600, channel: null, startsAt: null, endsAt: null }],
});

describe('an item read from the catalog', () => {
  it('has its grants, prices and store products typed, and nothing of the row it does not use', () => {
    expect(catalogItemOf(row({ appstore: 'com.g1.gems60' }) as never)).toEqual({
      sku: 'gems-60',
      gameId: 'g1',
      name: '60 gems',
      grants: [{ itemId: 'gem', quantity: 60 }],
      prices: [{ region: 'CN', currency: 'CNY', amount: 600 }],
      storeProducts: { appstore: 'com.g1.gems60' },
      stockAvailable: null,
      kind: 'CONSUMABLE',
      monthlyCard: null,
      saleWindow: null,
      retiredAt: null,
      tags: [],
      limits: null,
      maxPerOrder: null,
      firstPurchaseBonus: null,
    });
  });

  it('keeps "no store products" apart from an empty set, and drops entries that are not a product id', () => {
    expect(catalogItemOf(row(null) as never).storeProducts).toBeNull();
    expect(catalogItemOf(row({}) as never).storeProducts).toEqual({});
    expect(catalogItemOf(row({ appstore: 42, googleplay: 'gems_60' }) as never).storeProducts).toEqual({ googleplay: 'gems_60' });
  });
});

describe("an item's prices and sale window read from the catalog", () => {
  it('keeps a price\'s channel type and window, and the sale window, as ISO 8601', () => {
    const item = catalogItemOf({
      ...row(null),
      saleEndsAt: new Date('2026-12-31T16:00:00Z'),
      prices: [{ id: 2n, sku: 'gems-60', region: 'CN', currency: 'CNY', amount: 300, channel: 'alipay', startsAt: new Date('2026-12-01T00:00:00Z'), endsAt: null }],
    } as never);
    expect(item.prices).toEqual([{ region: 'CN', currency: 'CNY', amount: 300, channel: 'alipay', startsAt: '2026-12-01T00:00:00.000Z' }]);
    expect(item.saleWindow).toEqual({ endsAt: '2026-12-31T16:00:00.000Z' });
  });
});
