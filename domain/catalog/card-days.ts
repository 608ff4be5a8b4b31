import { nextGameDayStart, type GameClock } from '../game-day';
import type { Grant } from './pricing';

/**
 * A monthly card's days: which day comes next, when it is due and what it grants, from the card's
 * orders and the days already handed to the game (pure; the workflow and GET /v1/monthly-cards use
 * the same rules). Day 1 of a term is due when the card is bought, each next day at the start of the
 * next game day (the game's reset hour); an order bought while the card runs adds its days at the end,
 * one bought after the card lapsed starts a new term at once. Day numbers run on across terms, so a
 * card day's deliveryId (`<card id>:<day>`) is never reused.
 */

/** How long a card day is: the game's day, or a fixed length counted from the purchase (GAME_DAY_MS, tests). */
export type CardDayLength = { clock: GameClock } | { dayMs: number };

/** One purchase of the card. */
export interface CardOrder {
  orderId: string;
  days: number;
  dailyGrants: Grant[];
  /** When the card's purchase step recorded it (the order was delivered). */
  boughtAt: Date;
  /** Refunded or charged back: its days not yet handed out are dropped. */
  reversed: boolean;
}

/** A day handed to the game (delivered, or being delivered). */
export interface CardDay {
  day: number;
  orderId: string;
  /** When it was due (catch-up days keep their own due time, so the schedule does not drift). */
  dueAt: Date;
  delivered: boolean;
}

export interface NextCardDay {
  day: number;
  orderId: string;
  dailyGrants: Grant[];
  dueAt: Date;
}

/** The default GAME_DAY_MS: a card day is the game's own day. */
export const GAME_DAY_MS_DEFAULT = 86_400_000;

/** The day length a setting of GAME_DAY_MS means for a game with this clock. */
export function cardDayLength(gameDayMs: number, clock: GameClock): CardDayLength {
  return gameDayMs === GAME_DAY_MS_DEFAULT ? { clock } : { dayMs: gameDayMs };
}

/** When the card day after one due at `dueAt` is due. */
export function nextDayStart(dueAt: Date, length: CardDayLength): Date {
  return 'dayMs' in length ? new Date(dueAt.getTime() + length.dayMs) : nextGameDayStart(dueAt, length.clock);
}

/** The day to hand out next (undefined: every day bought was handed out or dropped). */
export function nextCardDay(orders: readonly CardOrder[], days: readonly CardDay[], length: CardDayLength): NextCardDay | undefined {
  const taken = new Map<string, number>();
  let last: CardDay | undefined;
  for (const d of days) {
    taken.set(d.orderId, (taken.get(d.orderId) ?? 0) + 1);
    if (!last || d.day > last.day) last = d;
  }
  for (const order of inPurchaseOrder(orders)) {
    const remaining = order.reversed ? 0 : order.days - (taken.get(order.orderId) ?? 0);
    if (remaining <= 0) continue;
    const continues = last ? nextDayStart(last.dueAt, length) : order.boughtAt;
    const dueAt = continues < order.boughtAt ? order.boughtAt : continues;
    return { day: (last?.day ?? 0) + 1, orderId: order.orderId, dailyGrants: order.dailyGrants, dueAt };
  }
  return undefined;
}

/** A card as its owner sees it: its current term. */
export interface CardStatus {
  startedAt: Date;
  endsAt: Date;
  daysGranted: number;
  daysRemaining: number;
  nextGrantAt?: Date;
}

/** The current term of a card (undefined: nothing was ever handed out nor is due). */
export function cardStatus(orders: readonly CardOrder[], days: readonly CardDay[], length: CardDayLength): CardStatus | undefined {
  const planned = [...days].sort((a, b) => a.day - b.day);
  for (let next = nextCardDay(orders, planned, length); next; next = nextCardDay(orders, planned, length)) {
    planned.push({ day: next.day, orderId: next.orderId, dueAt: next.dueAt, delivered: false });
  }
  if (planned.length === 0) return undefined;
  // The term began at the last day that did not follow the one before it.
  let start = 0;
  for (let i = 1; i < planned.length; i += 1) {
    if (planned[i]!.dueAt > nextDayStart(planned[i - 1]!.dueAt, length)) start = i;
  }
  const term = planned.slice(start);
  const open = term.find((d) => !d.delivered);
  return {
    startedAt: term[0]!.dueAt,
    endsAt: nextDayStart(term[term.length - 1]!.dueAt, length),
    daysGranted: term.filter((d) => d.delivered).length,
    daysRemaining: term.filter((d) => !d.delivered).length,
    ...(open && { nextGrantAt: open.dueAt }),
  };
}

function inPurchaseOrder(orders: readonly CardOrder[]): CardOrder[] {
  return [...orders].sort((a, b) => a.boughtAt.getTime() - b.boughtAt.getTime() || (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
}

/** How long an ended card is still listed to its owner. */
export const ENDED_CARDS_LISTED_MS = 30 * 86_400_000;

/** Whether a card is listed to its owner: running, or ended in the last 30 days. */
export function cardListed(status: CardStatus, now: Date): boolean {
  return status.daysRemaining > 0 || status.endsAt.getTime() > now.getTime() - ENDED_CARDS_LISTED_MS;
}
