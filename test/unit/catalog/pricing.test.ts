import { maxPerOrder, onSale } from '../../../domain/catalog/items';
import { orderChannelType, pricesClash, resolvePrice, type RegionalPrice } from '../../../domain/catalog/pricing';

const AT = new Date('2026-12-08T04:00:00Z');
const price = (region: string, amount: number, extra: Partial<RegionalPrice> = {}): RegionalPrice => ({ region, currency: 'CNY', amount, ...extra });

describe('price resolution: levels', () => {
  const prices = [price('*', 900), price('CN', 600), price('CN', 500, { channel: 'alipay' }), price('*', 800, { channel: 'wechatpay' })];

  it('takes the channel type and region price first', () => {
    expect(resolvePrice(prices, { region: 'CN', channelType: 'alipay', at: AT })).toEqual({ unit: { currency: 'CNY', value: 500 }, channel: 'alipay' });
  });

  it('takes the region price when the channel type has none for the region, before the type\'s "*" price', () => {
    expect(resolvePrice(prices, { region: 'CN', channelType: 'wechatpay', at: AT })?.unit.value).toBe(600);
  });

  it('takes the type\'s "*" price before the plain "*" price in a region without a price', () => {
    expect(resolvePrice(prices, { region: 'DE', channelType: 'wechatpay', at: AT })?.unit.value).toBe(800);
    expect(resolvePrice(prices, { region: 'DE', channelType: 'alipay', at: AT })?.unit.value).toBe(900);
  });

  it('never takes a channel price when the channel type is unknown', () => {
    expect(resolvePrice(prices, { region: 'CN', at: AT })).toEqual({ unit: { currency: 'CNY', value: 600 } });
    expect(resolvePrice([price('CN', 500, { channel: 'alipay' })], { region: 'CN', at: AT })).toBeUndefined();
  });
});

describe('price resolution: windows', () => {
  const sale = price('CN', 300, { startsAt: '2026-12-08T00:00:00Z', endsAt: '2026-12-09T00:00:00Z' });

  it('prefers a price whose window contains now over the windowless one, and says when it ends', () => {
    expect(resolvePrice([price('CN', 600), sale], { region: 'CN', at: AT })).toEqual({ unit: { currency: 'CNY', value: 300 }, endsAt: '2026-12-09T00:00:00Z' });
  });

  it('ignores a window not yet started or already ended (start inclusive, end exclusive)', () => {
    expect(resolvePrice([price('CN', 600), sale], { region: 'CN', at: new Date('2026-12-07T23:59:59.999Z') })?.unit.value).toBe(600);
    expect(resolvePrice([price('CN', 600), sale], { region: 'CN', at: new Date('2026-12-08T00:00:00Z') })?.unit.value).toBe(300);
    expect(resolvePrice([price('CN', 600), sale], { region: 'CN', at: new Date('2026-12-09T00:00:00Z') })?.unit.value).toBe(600);
  });

  it('falls to the next level when a level has only prices out of their window', () => {
    expect(resolvePrice([price('*', 900), { ...sale, startsAt: '2026-12-10T00:00:00Z', endsAt: undefined }], { region: 'CN', at: AT })?.unit.value).toBe(900);
  });
});

describe("an order's channel type before routing", () => {
  it("is the named account's type, else the one type the game's policy allows, else none", () => {
    expect(orderChannelType({ requestedType: 'alipay', allowedTypes: ['appstore'] })).toBe('alipay');
    expect(orderChannelType({ allowedTypes: ['appstore'] })).toBe('appstore');
    expect(orderChannelType({ allowedTypes: ['alipay', 'wechatpay'] })).toBeUndefined();
    expect(orderChannelType({})).toBeUndefined();
  });
});

describe('prices that may not stand together', () => {
  it('are two windowless prices, or overlapping windows, of one region and channel type', () => {
    expect(pricesClash(price('CN', 1), price('CN', 2))).toBe(true);
    expect(pricesClash(price('CN', 1), price('CN', 2, { channel: 'alipay' }))).toBe(false);
    expect(pricesClash(price('CN', 1), price('CN', 2, { startsAt: '2026-12-01T00:00:00Z' }))).toBe(false);
    const dec = { startsAt: '2026-12-01T00:00:00Z', endsAt: '2026-12-10T00:00:00Z' };
    expect(pricesClash(price('CN', 1, dec), price('CN', 2, { startsAt: '2026-12-09T00:00:00Z' }))).toBe(true);
    expect(pricesClash(price('CN', 1, dec), price('CN', 2, { startsAt: '2026-12-10T00:00:00Z' }))).toBe(false);
    expect(pricesClash(price('CN', 1, dec), price('US', 2, dec))).toBe(false);
  });
});

describe('an item on sale', () => {
  it('is not retired and inside its sale window', () => {
    expect(onSale({ retiredAt: null, saleWindow: null }, AT)).toBe(true);
    expect(onSale({ retiredAt: '2026-12-01T00:00:00Z', saleWindow: null }, AT)).toBe(false);
    expect(onSale({ retiredAt: null, saleWindow: { endsAt: '2026-12-08T04:00:00Z' } }, AT)).toBe(false);
    expect(onSale({ retiredAt: null, saleWindow: { startsAt: '2026-12-08T04:00:00Z' } }, AT)).toBe(true);
  });
});

describe('units per order', () => {
  it('is 1 for single-unit kinds, the item\'s own maximum, 10 for limited stock, else unbounded', () => {
    expect(maxPerOrder({ kind: 'NON_CONSUMABLE', maxPerOrder: 5, stockAvailable: null })).toBe(1);
    expect(maxPerOrder({ kind: 'MONTHLY_CARD', maxPerOrder: null, stockAvailable: null })).toBe(1);
    expect(maxPerOrder({ kind: 'CONSUMABLE', maxPerOrder: 5, stockAvailable: 100 })).toBe(5);
    expect(maxPerOrder({ kind: 'BUNDLE', maxPerOrder: null, stockAvailable: 100 })).toBe(10);
    expect(maxPerOrder({ kind: 'CONSUMABLE', maxPerOrder: null, stockAvailable: null })).toBeUndefined();
  });
});
