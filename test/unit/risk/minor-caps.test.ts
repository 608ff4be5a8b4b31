import { gameMonth } from '../../../domain/game-day';
import { BUILT_IN_MINOR_CAPS, capFor, capRefusal, monthlyCeiling } from '../../../domain/risk/minor-caps';

const cny = (value: number) => ({ currency: 'CNY', value });

describe("minors' spending caps", () => {
  it('holds CN minors to the built-in caps and leaves adults and uncapped regions alone', () => {
    expect(capFor('8_TO_15', 'CN', undefined)).toEqual({ currency: 'CNY', perPurchase: 5_000, monthly: 20_000 });
    expect(capFor('16_TO_17', 'CN', undefined)).toEqual({ currency: 'CNY', perPurchase: 10_000, monthly: 40_000 });
    expect(capFor('ADULT', 'CN', undefined)).toBeUndefined();
    expect(capFor(undefined, 'CN', undefined)).toBeUndefined();
    expect(capFor('8_TO_15', 'US', undefined)).toBeUndefined();
  });

  it("takes an operator's caps of a region over the built-in ones", () => {
    const stored = { currency: 'CNY', bands: { '8_TO_15': { perPurchase: 1_000, monthly: 3_000 } } };
    expect(capFor('8_TO_15', 'CN', stored)).toEqual({ currency: 'CNY', perPurchase: 1_000, monthly: 3_000 });
    expect(capFor('16_TO_17', 'CN', stored)).toBeUndefined(); // the operator left that band out
    expect(BUILT_IN_MINOR_CAPS.CN!.bands.UNDER_8).toEqual({ perPurchase: 0, monthly: 0 });
  });

  it('lets a month reach its cap only for orders within the purchase cap and of its currency', () => {
    const cap = capFor('8_TO_15', 'CN', undefined)!;
    expect(monthlyCeiling(cap, cny(3_000))).toBe(20_000);
    expect(monthlyCeiling(cap, cny(5_001))).toBe(-1);
    expect(monthlyCeiling(cap, { currency: 'USD', value: 100 })).toBe(-1);
    expect(monthlyCeiling(capFor('UNDER_8', 'CN', undefined)!, cny(1))).toBe(-1);
  });

  it('names the cap an order was refused by, with its limit and what the month held', () => {
    const cap = capFor('8_TO_15', 'CN', undefined)!;
    expect(capRefusal(cap, cny(3_000), 18_000)).toEqual({ cap: 'MONTHLY', limit: 20_000, used: 18_000 });
    expect(capRefusal(cap, cny(6_000), 0)).toEqual({ cap: 'PER_PURCHASE', limit: 5_000, used: 0 });
    expect(capRefusal(capFor('UNDER_8', 'CN', undefined)!, cny(100), 0)).toEqual({ cap: 'NO_PURCHASES', limit: 0, used: 0 });
  });

  it("counts a month in the game's time zone", () => {
    const at = new Date('2026-11-30T17:30:00Z');
    expect(gameMonth(at, 'Asia/Shanghai')).toBe('2026-12');
    expect(gameMonth(at, 'America/Los_Angeles')).toBe('2026-11');
    expect(gameMonth(new Date('2026-12-31T23:30:00Z'), 'Europe/London')).toBe('2026-12');
    expect(gameMonth(new Date('2026-12-31T23:30:00Z'), 'Europe/Berlin')).toBe('2027-01');
  });
});
