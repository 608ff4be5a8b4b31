import { addDays, dayOf, instantAt } from './reconciliation/days';

/**
 * The game's day and month: daily limits, card days and monthly spending caps count in the game's
 * time zone, its day starting at its reset hour (a day starting at 05:00 Shanghai time runs
 * 05:00–04:59). Pure: time zones come from the runtime's IANA database (Intl).
 */
export interface GameClock {
  /** IANA time zone, e.g. `Asia/Shanghai`. */
  timeZone: string;
  /** Hour (0–23, local) at which the game's day starts. */
  dailyResetHour: number;
}

/** When the game day (`YYYY-MM-DD`) starts. */
export function gameDayStart(day: string, clock: GameClock): Date {
  return instantAt(day, clock.dailyResetHour, clock.timeZone);
}

/** The game day (`YYYY-MM-DD`) an instant belongs to. */
export function gameDay(at: Date, clock: GameClock): string {
  const date = dayOf(at, clock.timeZone);
  return at < gameDayStart(date, clock) ? addDays(date, -1) : date;
}

/** When the game day after the one of `at` starts. */
export function nextGameDayStart(at: Date, clock: GameClock): Date {
  return gameDayStart(addDays(gameDay(at, clock), 1), clock);
}

/** The calendar month (`YYYY-MM`) of an instant in the game's time zone. */
export function gameMonth(at: Date, timeZone: string): string {
  return dayOf(at, timeZone).slice(0, 7);
}
