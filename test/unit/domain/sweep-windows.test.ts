import { nextSweepWindow } from '../../../domain/sweeps/windows';

const now = new Date('2026-12-08T12:00:00.000Z');
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
const daysAgo = (d: number) => hoursAgo(24 * d);

describe('store sweep windows', () => {
  it("keeps Apple's failures pass 8 days deep, from the last good end, overlapping the previous window", () => {
    expect(nextSweepWindow('FAILURES', now, hoursAgo(1), 180)).toEqual({ start: new Date(hoursAgo(1).getTime() - 8 * 86_400_000), end: now });
    expect(nextSweepWindow('FAILURES', now, undefined, 180)).toEqual({ start: daysAgo(8), end: now });
  });

  it('starts from the last good window when the runs since failed', () => {
    const lastGood = daysAgo(2);
    expect(nextSweepWindow('ALL', now, lastGood, 180).start).toEqual(new Date(lastGood.getTime() - 3 * 86_400_000));
  });

  it('never asks further back than the store answers (Apple sandbox 30 days, Google 30 days), with a margin', () => {
    const { start } = nextSweepWindow('FAILURES', now, daysAgo(40), 30);
    expect(start.getTime()).toBe(daysAgo(30).getTime() + 10 * 60_000);
    expect(nextSweepWindow('VOIDED', now, undefined, 30).start.getTime()).toBe(daysAgo(30).getTime() + 10 * 60_000);
  });

  it("ends Google's window 5 minutes before now and starts it an hour before the last one ended", () => {
    const lastEnd = new Date(hoursAgo(1).getTime() - 5 * 60_000);
    expect(nextSweepWindow('VOIDED', now, lastEnd, 30)).toEqual({
      start: new Date(lastEnd.getTime() - 3_600_000),
      end: new Date(now.getTime() - 5 * 60_000),
    });
  });

  it('never starts after it ends, even with a last good end in the future (a clock moved back)', () => {
    const w = nextSweepWindow('VOIDED', now, new Date(now.getTime() + 86_400_000), 30);
    expect(w.start.getTime()).toBeLessThanOrEqual(w.end.getTime());
    expect(w.start).toEqual(new Date(w.end.getTime() - 3_600_000));
  });
});
