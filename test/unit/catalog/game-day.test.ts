import { gameDay, gameDayStart, gameMonth, nextGameDayStart } from '../../../domain/game-day';
import { isTimeZone } from '../../../domain/reconciliation/days';

const shanghai5 = { timeZone: 'Asia/Shanghai', dailyResetHour: 5 };

describe("the game's day", () => {
  it('starts at the reset hour in the game time zone', () => {
    // 2026-12-07 04:59 and 05:00 in Shanghai (UTC+8).
    expect(gameDay(new Date('2026-12-06T20:59:00Z'), shanghai5)).toBe('2026-12-06');
    expect(gameDay(new Date('2026-12-06T21:00:00Z'), shanghai5)).toBe('2026-12-07');
  });

  it('with reset hour 0 is the local calendar date', () => {
    const clock = { timeZone: 'America/Los_Angeles', dailyResetHour: 0 };
    expect(gameDay(new Date('2026-12-07T07:59:00Z'), clock)).toBe('2026-12-06');
    expect(gameDay(new Date('2026-12-07T08:00:00Z'), clock)).toBe('2026-12-07');
  });

  it('knows when the next day starts, across a daylight saving change', () => {
    expect(nextGameDayStart(new Date('2026-12-06T22:00:00Z'), shanghai5).toISOString()).toBe('2026-12-07T21:00:00.000Z');
    // Los Angeles moves to PDT on 2026-03-08 at 02:00: the day of the 8th starts at 00:00 PST, the 9th at 00:00 PDT.
    const la = { timeZone: 'America/Los_Angeles', dailyResetHour: 0 };
    expect(gameDayStart('2026-03-08', la).toISOString()).toBe('2026-03-08T08:00:00.000Z');
    expect(nextGameDayStart(new Date('2026-03-08T12:00:00Z'), la).toISOString()).toBe('2026-03-09T07:00:00.000Z');
  });

  it('counts months in the game time zone', () => {
    expect(gameMonth(new Date('2026-11-30T16:00:00Z'), 'Asia/Shanghai')).toBe('2026-12');
    expect(gameMonth(new Date('2026-11-30T15:59:59Z'), 'Asia/Shanghai')).toBe('2026-11');
  });

  it('tells known time zones from unknown ones', () => {
    expect(isTimeZone('Asia/Tokyo')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});
