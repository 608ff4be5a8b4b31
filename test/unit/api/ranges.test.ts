import { ApiError } from '../../../api/errors';
import { dayRange, instantRange, rangeBound } from '../../../api/shared/ranges';
import { startOfDay } from '../../../domain/reconciliation/days';

const SHANGHAI = 'Asia/Shanghai';

describe('a range parameter', () => {
  it('takes a date or an ISO datetime with any offset, and nothing else', () => {
    for (const good of ['2026-11-01', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00.000Z', '2026-11-01T08:30:00+08:00']) {
      expect(rangeBound.safeParse(good).success).toBe(true);
    }
    for (const bad of ['2026-02-30', '2026-11-1', '2026-11-01T00:00:00', 'yesterday', '1764547200']) {
      expect(rangeBound.safeParse(bad).success).toBe(false);
    }
  });

  it('reads a date as the whole day in the time zone: from its first instant to the next day\'s, excluded', () => {
    expect(instantRange({ from: '2026-11-01', to: '2026-11-30' }, SHANGHAI)).toEqual({
      from: '2026-10-31T16:00:00.000Z',
      to: '2026-11-30T16:00:00.000Z',
    });
  });

  it('keeps a datetime as the instant it names, in UTC', () => {
    expect(instantRange({ from: '2026-11-01T08:00:00+08:00', to: '2026-11-02T00:00:00Z' }, SHANGHAI)).toEqual({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-11-02T00:00:00.000Z',
    });
    expect(instantRange({}, SHANGHAI)).toEqual({});
  });

  it('reads a datetime as its day where days count: `to` excluded, so midnight ends the day before', () => {
    expect(dayRange({ from: '2026-10-31T16:00:00Z', to: '2026-11-30T16:00:00Z' }, SHANGHAI)).toEqual({ from: '2026-11-01', to: '2026-11-30' });
    expect(dayRange({ from: '2026-11-01', to: '2026-11-30' }, SHANGHAI)).toEqual({ from: '2026-11-01', to: '2026-11-30' });
  });

  it('refuses an empty range (from after to, or the same instant) with 400 VALIDATION_ERROR', () => {
    const empty = [
      () => dayRange({ from: '2026-11-02', to: '2026-11-01' }, SHANGHAI),
      () => instantRange({ from: '2026-11-02', to: '2026-11-01T00:00:00Z' }, SHANGHAI),
      () => instantRange({ from: '2026-11-02', to: '2026-11-01' }, SHANGHAI),
      () => instantRange({ from: '2026-11-01T00:00:00Z', to: '2026-11-01T00:00:00Z' }, SHANGHAI),
    ];
    for (const reversed of empty) {
      expect(reversed).toThrow(ApiError);
      expect(reversed).toThrow(expect.objectContaining({ status: 400, code: 'VALIDATION_ERROR' }));
    }
  });
});

describe('the first instant of a day in a time zone', () => {
  it('is local midnight, also on the days daylight saving time begins and ends', () => {
    expect(startOfDay('2026-11-01', SHANGHAI).toISOString()).toBe('2026-10-31T16:00:00.000Z');
    expect(startOfDay('2026-03-08', 'America/New_York').toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(startOfDay('2026-03-09', 'America/New_York').toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(startOfDay('2026-11-01', 'America/New_York').toISOString()).toBe('2026-11-01T04:00:00.000Z');
    expect(startOfDay('2026-11-02', 'America/New_York').toISOString()).toBe('2026-11-02T05:00:00.000Z');
    expect(startOfDay('2026-06-01', 'UTC').toISOString()).toBe('2026-06-01T00:00:00.000Z');
  });

  it('is the first time after a gap when midnight itself does not exist', () => {
    // Santiago skips from 00:00 to 01:00 when its summer time begins (6 Sep 2026).
    expect(startOfDay('2026-09-06', 'America/Santiago').toISOString()).toBe('2026-09-06T04:00:00.000Z');
  });
});
