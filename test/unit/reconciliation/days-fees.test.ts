import fc from 'fast-check';
import { addDays, dayOf, daysFrom, isCalendarDate, parseTimeOfDay, previousDay } from '../../../domain/reconciliation/days';
import { channelFee } from '../../../domain/routing/fees';

describe('statement days', () => {
  it('are calendar days in the reconciliation time zone', () => {
    // 16:30 UTC is already the next day in Shanghai (UTC+8), still the same day in Los Angeles.
    const instant = new Date('2026-11-01T16:30:00Z');
    expect(dayOf(instant, 'Asia/Shanghai')).toBe('2026-11-02');
    expect(dayOf(instant, 'America/Los_Angeles')).toBe('2026-11-01');
    // A run at 10:00 Shanghai reconciles the previous calendar day there.
    expect(previousDay(new Date('2026-11-02T02:00:00Z'), 'Asia/Shanghai')).toBe('2026-11-01');
    expect(previousDay(new Date('2026-01-01T02:00:00Z'), 'Asia/Shanghai')).toBe('2025-12-31');
  });

  it('step over month and leap-year ends, and list a range both ends included', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(daysFrom('2026-10-30', '2026-11-02')).toEqual(['2026-10-30', '2026-10-31', '2026-11-01', '2026-11-02']);
    expect(daysFrom('2026-11-02', '2026-11-01')).toEqual([]);
  });

  it('refuse what is not a date or a time of day', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '26-11-01', '2026-11-1', '', '2026-11-01T00:00:00Z']) expect(isCalendarDate(bad)).toBe(false);
    expect(parseTimeOfDay('10:00')).toEqual({ hour: 10, minute: 0 });
    expect(parseTimeOfDay('23:59')).toEqual({ hour: 23, minute: 59 });
    for (const bad of ['24:00', '9:00', '10:60', '10']) expect(parseTimeOfDay(bad)).toBeUndefined();
  });
});

describe('channel fees', () => {
  const fee = (value: number, feeRateBps: number) => channelFee({ currency: 'CNY', value }, { feeRateBps });

  it('are the contracted rate of the amount, rounded half up to the minor unit', () => {
    expect(fee(600, 60)).toBe(4); // 3.6
    expect(fee(500, 60)).toBe(3); // 3.0
    expect(fee(2500, 60)).toBe(15); // 15.0
    expect(fee(250, 60)).toBe(2); // 1.5 rounds up
    expect(fee(0, 60)).toBe(0);
    expect(() => fee(-1, 60)).toThrow(RangeError);
    expect(() => fee(600, 10_001)).toThrow(RangeError);
  });

  it('never differ from the exact rate by more than half a minor unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000_000 }), fc.integer({ min: 0, max: 10_000 }), (amount, rate) => {
        const exact = (BigInt(amount) * BigInt(rate) * 2n) / 10_000n; // twice the exact fee, truncated
        const charged = BigInt(fee(amount, rate));
        expect(charged * 2n - exact).toBeLessThanOrEqual(1n);
        expect(exact - charged * 2n).toBeLessThanOrEqual(1n);
      }),
    );
  });
});
