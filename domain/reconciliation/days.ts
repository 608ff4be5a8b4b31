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

/** The calendar day an instant falls on in `timeZone`. */
export function dayOf(instant: Date, timeZone: string): string {
  // en-CA formats dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
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
