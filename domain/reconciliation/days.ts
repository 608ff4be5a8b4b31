/**
 * Statement days: calendar days (`YYYY-MM-DD`) in the reconciliation time zone, as channels cut
 * their statements. Pure date arithmetic: the time zone's offsets come from Intl.
 */
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export class InvalidDateError extends Error {}

/** `2026-11-01` → its UTC midnight, for day arithmetic; refuses dates that do not exist. */
function utcDay(date: string): Date {
  const match = DATE.exec(date);
  const day = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (!day || day.toISOString().slice(0, 10) !== date) throw new InvalidDateError(`${JSON.stringify(date)} is not a date (YYYY-MM-DD)`);
  return day;
}

export const isCalendarDate = (value: string): boolean => {
  try {
    utcDay(value);
    return true;
  } catch {
    return false;
  }
};

export function addDays(date: string, days: number): string {
  const day = utcDay(date);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included. */
export function daysFrom(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/**
 * One formatter per time zone and use, kept: building an Intl.DateTimeFormat costs far more than
 * formatting with it (it was most of the risk step's own CPU time). Formatters are immutable.
 */
function formatterOf(cache: Map<string, Intl.DateTimeFormat>, timeZone: string, make: (timeZone: string) => Intl.DateTimeFormat) {
  let formatter = cache.get(timeZone);
  if (!formatter) cache.set(timeZone, (formatter = make(timeZone)));
  return formatter;
}
const dateFormatters = new Map<string, Intl.DateTimeFormat>();
const wallClockFormatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar day an instant falls on in `timeZone`. */
export function dayOf(instant: Date, timeZone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return formatterOf(dateFormatters, timeZone, (tz) => new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })).format(instant);
}

/** The first instant of `date` in `timeZone` (its local midnight, or the first time after a gap). */
export function startOfDay(date: string, timeZone: string): Date {
  return instantAt(date, 0, timeZone);
}

/** The instant `date` reaches `hour` o'clock in `timeZone` (where that hour falls in a gap, the first time after it). */
export function instantAt(date: string, hour: number, timeZone: string): Date {
  const wallUtc = utcDay(date).getTime() + hour * 3_600_000;
  // The wall time under the zone's offset at a guess, and under the offset at that answer: one of
  // them is right across one offset change; where the hour falls in a gap, the later one.
  const first = new Date(wallUtc - offsetAt(new Date(wallUtc), timeZone));
  const second = new Date(wallUtc - offsetAt(first, timeZone));
  const onTime = [first, second].filter((instant) => instant.getTime() + offsetAt(instant, timeZone) >= wallUtc);
  return new Date(Math.min(...(onTime.length ? onTime : [first, second]).map((instant) => instant.getTime())));
}

/** How far `timeZone`'s wall clock is ahead of UTC at `instant`, in milliseconds. */
function offsetAt(instant: Date, timeZone: string): number {
  const wallClock = formatterOf(
    wallClockFormatters,
    timeZone,
    (tz) => new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }),
  );
  const parts = wallClock.formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)!.value);
  const wallTime = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return wallTime - Math.floor(instant.getTime() / 1000) * 1000;
}

/** The day before the one `instant` falls on in `timeZone`: what a daily run at `instant` reconciles. */
export function previousDay(instant: Date, timeZone: string): string {
  return addDays(dayOf(instant, timeZone), -1);
}

/** Whether `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** `HH:MM` (24 h) → hour and minute. */
export function parseTimeOfDay(value: string): { hour: number; minute: number } | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
  return match ? { hour: Number(match[1]), minute: Number(match[2]) } : undefined;
}
