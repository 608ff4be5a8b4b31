import { cardDayLength, cardStatus, nextCardDay, type CardDay, type CardOrder } from '../../../domain/catalog/card-days';

const shanghai5 = { clock: { timeZone: 'Asia/Shanghai', dailyResetHour: 5 } };
const gems = [{ itemId: 'gem', quantity: 100 }];
const order = (orderId: string, boughtAt: string, days = 3, reversed = false): CardOrder => ({
  orderId,
  days,
  dailyGrants: gems,
  boughtAt: new Date(boughtAt),
  reversed,
});
const given = (day: number, orderId: string, dueAt: string, delivered = true): CardDay => ({ day, orderId, dueAt: new Date(dueAt), delivered });
const iso = (d: Date | undefined) => d?.toISOString();

describe('monthly card days', () => {
  it('grants day 1 when the card is bought, then each day at the game reset hour', () => {
    // Bought 2026-12-07 15:00 Shanghai (07:00Z); the game's day starts at 05:00 Shanghai (21:00Z the day before).
    const orders = [order('a', '2026-12-07T07:00:00Z')];
    const first = nextCardDay(orders, [], shanghai5);
    expect(first).toEqual({ day: 1, orderId: 'a', dailyGrants: gems, dueAt: new Date('2026-12-07T07:00:00Z') });
    const second = nextCardDay(orders, [given(1, 'a', '2026-12-07T07:00:00Z')], shanghai5);
    expect(iso(second?.dueAt)).toBe('2026-12-07T21:00:00.000Z');
    expect(second?.day).toBe(2);
  });

  it('ends after the days bought', () => {
    const orders = [order('a', '2026-12-07T07:00:00Z', 2)];
    const days = [given(1, 'a', '2026-12-07T07:00:00Z'), given(2, 'a', '2026-12-07T21:00:00Z')];
    expect(nextCardDay(orders, days, shanghai5)).toBeUndefined();
  });

  it('extends a running card by the days of the next purchase, continuing its schedule', () => {
    const orders = [order('a', '2026-12-07T07:00:00Z', 2), order('b', '2026-12-07T10:00:00Z', 2)];
    const days = [given(1, 'a', '2026-12-07T07:00:00Z'), given(2, 'a', '2026-12-07T21:00:00Z')];
    expect(nextCardDay(orders, days, shanghai5)).toMatchObject({ day: 3, orderId: 'b', dueAt: new Date('2026-12-08T21:00:00Z') });
    const status = cardStatus(orders, days, shanghai5);
    expect(status).toEqual({
      startedAt: new Date('2026-12-07T07:00:00Z'),
      endsAt: new Date('2026-12-10T21:00:00Z'),
      daysGranted: 2,
      daysRemaining: 2,
      nextGrantAt: new Date('2026-12-08T21:00:00Z'),
    });
  });

  it('starts a new term at once when bought after the card lapsed, numbering days on', () => {
    const orders = [order('a', '2026-12-01T07:00:00Z', 1), order('b', '2026-12-07T07:00:00Z', 2)];
    const days = [given(1, 'a', '2026-12-01T07:00:00Z')];
    expect(nextCardDay(orders, days, shanghai5)).toMatchObject({ day: 2, orderId: 'b', dueAt: new Date('2026-12-07T07:00:00Z') });
    expect(cardStatus(orders, days, shanghai5)).toMatchObject({
      startedAt: new Date('2026-12-07T07:00:00Z'),
      daysGranted: 0,
      daysRemaining: 2,
    });
  });

  it('keeps the schedule of days missed while the game server was down (caught up in order)', () => {
    const orders = [order('a', '2026-12-01T07:00:00Z', 5)];
    const days = [given(1, 'a', '2026-12-01T07:00:00Z'), given(2, 'a', '2026-12-01T21:00:00Z')];
    // Day 3 was due on 2026-12-02 21:00Z: still due then, whenever it is handed out.
    expect(iso(nextCardDay(orders, days, shanghai5)?.dueAt)).toBe('2026-12-02T21:00:00.000Z');
  });

  it("drops a reversed order's days not yet granted; what was granted stays", () => {
    const orders = [order('a', '2026-12-07T07:00:00Z', 3, true), order('b', '2026-12-07T08:00:00Z', 2)];
    const days = [given(1, 'a', '2026-12-07T07:00:00Z')];
    expect(nextCardDay(orders, days, shanghai5)).toMatchObject({ day: 2, orderId: 'b', dueAt: new Date('2026-12-07T21:00:00Z') });
    expect(cardStatus(orders, days, shanghai5)).toMatchObject({ daysGranted: 1, daysRemaining: 2, endsAt: new Date('2026-12-09T21:00:00Z') });
    expect(nextCardDay([order('a', '2026-12-07T07:00:00Z', 3, true)], days, shanghai5)).toBeUndefined();
  });

  it('counts a day being delivered as remaining, due when it was due', () => {
    const orders = [order('a', '2026-12-07T07:00:00Z', 2)];
    const status = cardStatus(orders, [given(1, 'a', '2026-12-07T07:00:00Z', false)], shanghai5);
    expect(status).toMatchObject({ daysGranted: 0, daysRemaining: 2, nextGrantAt: new Date('2026-12-07T07:00:00Z') });
  });

  it('follows the reset hour across a daylight saving change', () => {
    const la = { clock: { timeZone: 'America/Los_Angeles', dailyResetHour: 4 } };
    const orders = [order('a', '2026-03-07T06:00:00Z', 3)];
    // Los Angeles moves to PDT on 2026-03-08 at 02:00: 04:00 PST on 03-07 is 12:00Z, 04:00 PDT on 03-08 is 11:00Z.
    const days = [given(1, 'a', '2026-03-07T06:00:00Z')];
    expect(iso(nextCardDay(orders, days, la)?.dueAt)).toBe('2026-03-07T12:00:00.000Z');
    expect(iso(nextCardDay(orders, [...days, given(2, 'a', '2026-03-07T12:00:00Z')], la)?.dueAt)).toBe('2026-03-08T11:00:00.000Z');
  });

  it('with a GAME_DAY_MS other than a day, counts days of that length from the purchase', () => {
    const clock = { timeZone: 'Asia/Shanghai', dailyResetHour: 5 };
    expect(cardDayLength(86_400_000, clock)).toEqual({ clock });
    const short = cardDayLength(2_000, clock);
    const orders = [order('a', '2026-12-07T07:00:00.500Z', 3)];
    expect(iso(nextCardDay(orders, [given(1, 'a', '2026-12-07T07:00:00.500Z')], short)?.dueAt)).toBe('2026-12-07T07:00:02.500Z');
    expect(cardStatus(orders, [], short)?.endsAt).toEqual(new Date('2026-12-07T07:00:06.500Z'));
  });

  it('has no status before anything was bought', () => {
    expect(cardStatus([], [], shanghai5)).toBeUndefined();
  });
});
