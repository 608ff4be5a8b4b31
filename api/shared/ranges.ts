import { z } from 'zod';
import { addDays, dayOf, isCalendarDate, startOfDay } from '../../domain/reconciliation/days';
import { ApiError } from '../errors';

/**
 * The one shape of every range parameter (`from`, `to`) of the finance and operations routes: a date
 * (`YYYY-MM-DD`, a whole day in RECON_TIME_ZONE) or an ISO 8601 datetime (an instant, any offset).
 * A date `from` starts at that day's first instant; a date `to` includes its day; a datetime `to` is
 * the first instant left out.
 */
export const rangeBound = z
  .union([z.string().refine(isCalendarDate), z.iso.datetime({ offset: true })], {
    error: 'a date (YYYY-MM-DD, a day in RECON_TIME_ZONE) or an ISO 8601 datetime',
  })
  .meta({
    description:
      'a date (YYYY-MM-DD: a whole day in RECON_TIME_ZONE) or an ISO 8601 datetime; a date `to` includes its day, ' +
      'a datetime `to` is the first instant left out',
    examples: ['2026-11-01', '2026-11-01T00:00:00+08:00'],
  });

/** A range as instants, `to` excluded (for rows stamped with a time, e.g. ledger entries). */
export function instantRange(q: { from?: string; to?: string }, timeZone: string): { from?: string; to?: string } {
  const from = q.from && (isCalendarDate(q.from) ? startOfDay(q.from, timeZone) : new Date(q.from));
  const to = q.to && (isCalendarDate(q.to) ? startOfDay(addDays(q.to, 1), timeZone) : new Date(q.to));
  if (from && to && from >= to) throw emptyRange();
  return { ...(from && { from: from.toISOString() }), ...(to && { to: to.toISOString() }) };
}

/** A range as days in `timeZone`, both included (for what is kept per day, e.g. reports, statements). */
export function dayRange(q: { from: string; to: string }, timeZone: string): { from: string; to: string } {
  const from = isCalendarDate(q.from) ? q.from : dayOf(new Date(q.from), timeZone);
  // A datetime `to` is left out itself, so the range ends on the day of the instant just before it.
  const to = isCalendarDate(q.to) ? q.to : dayOf(new Date(Date.parse(q.to) - 1), timeZone);
  if (from > to) throw emptyRange();
  return { from, to };
}

const emptyRange = () =>
  new ApiError(400, 'VALIDATION_ERROR', 'the request is invalid', { issues: [{ path: 'to', message: 'the range is empty: to must come after from' }] });
