import type { CardDay, CardOrder } from '../domain/catalog/card-days';
import type { Grant } from '../domain/catalog/pricing';
import type { GameClock } from '../domain/game-day';
import type { RunSql } from '../infra/db';
import type { SealedGameSecret } from './catalog';
import type { AttemptOutcome } from './deliveries';
import { NOW_UTC, isoOf, sql, utc, type Sql } from './sql';

/**
 * Monthly cards: each purchase of a card (monthly_card_orders) and each card day handed to the game
 * (monthly_card_days, one row per day, its id the delivery's deliveryId). The card's workflow reads
 * them to decide the next day (domain/catalog/card-days.ts): the rows, not the workflow, are the truth.
 */

/** A card with everything its days are decided from. */
export interface CardRecord {
  cardId: string;
  gameId: string;
  userId: string;
  sku: string;
  clock: GameClock;
  orders: CardOrder[];
  days: CardDay[];
}

/**
 * Records a delivered card order as a purchase of its card (once: a repeat changes nothing). False
 * when the order is not delivered (returned before its card began): it adds no days.
 */
export async function recordCardOrder(
  run: RunSql,
  params: { orderId: string; cardId: string; days: number; dailyGrants: Grant[] },
): Promise<boolean> {
  const rows = await run<{ order_id: string }>(sql`
    WITH added AS (
      INSERT INTO monthly_card_orders (order_id, card_id, game_id, user_id, sku, days, daily_grants, bought_at)
      SELECT o.id, ${params.cardId}::text, o.game_id, o.user_id, o.sku, ${params.days}::int,
        ${JSON.stringify(params.dailyGrants)}::jsonb, ${NOW_UTC}
      FROM orders o WHERE o.id = ${params.orderId}::uuid AND o.status = 'DELIVERED'
      ON CONFLICT (order_id) DO NOTHING
      RETURNING order_id)
    SELECT order_id::text FROM added
    UNION ALL SELECT order_id::text FROM monthly_card_orders WHERE order_id = ${params.orderId}::uuid`);
  return rows.length > 0;
}

/** Statement fragment of a reversal: the card order (CTE `moved`) hands out no more days. */
export const dropCardDays: Sql = sql`card_days_dropped AS (
    UPDATE monthly_card_orders SET reversed_at = ${NOW_UTC}
    WHERE order_id IN (SELECT id FROM moved) AND reversed_at IS NULL)`;

/** The card an order bought, if it is a card order that reached its card. */
export async function cardOfOrder(run: RunSql, orderId: string): Promise<string | undefined> {
  const [row] = await run<{ card_id: string }>(sql`SELECT card_id FROM monthly_card_orders WHERE order_id = ${orderId}::uuid`);
  return row?.card_id;
}

/** A card's purchases and days (undefined: the card was never bought). */
export async function readCard(run: RunSql, cardId: string): Promise<CardRecord | undefined> {
  return (await readCards(run, sql`mco.card_id = ${cardId}::text`))[0];
}

/** Every card of a user in a game. */
export function cardsOfUser(run: RunSql, gameId: string, userId: string): Promise<CardRecord[]> {
  return readCards(run, sql`mco.game_id = ${gameId}::text AND mco.user_id = ${userId}::text`);
}

interface CardOrderRow {
  card_id: string;
  game_id: string;
  user_id: string;
  sku: string;
  order_id: string;
  days: number;
  daily_grants: Grant[];
  bought_at: string;
  reversed: boolean;
  time_zone: string;
  daily_reset_hour: number;
}

async function readCards(run: RunSql, where: Sql): Promise<CardRecord[]> {
  const orders = await run<CardOrderRow>(sql`
    SELECT mco.card_id, mco.game_id, mco.user_id, mco.sku, mco.order_id::text, mco.days, mco.daily_grants,
      ${isoOf(sql`mco.bought_at`)} AS bought_at, mco.reversed_at IS NOT NULL AS reversed, g.time_zone, g.daily_reset_hour
    FROM monthly_card_orders mco JOIN games g ON g.id = mco.game_id
    WHERE ${where} ORDER BY mco.card_id, mco.bought_at, mco.order_id`);
  if (orders.length === 0) return [];
  const cardIds = [...new Set(orders.map((o) => o.card_id))];
  const days = await run<{ card_id: string; day: number; order_id: string; due_at: string; delivered: boolean }>(sql`
    SELECT card_id, day, order_id::text, ${isoOf(sql`due_at`)} AS due_at, status = 'DELIVERED' AS delivered
    FROM monthly_card_days WHERE card_id = ANY(${cardIds}::text[]) ORDER BY card_id, day`);
  const cards = new Map<string, CardRecord>();
  for (const o of orders) {
    let card = cards.get(o.card_id);
    if (!card) {
      card = {
        cardId: o.card_id,
        gameId: o.game_id,
        userId: o.user_id,
        sku: o.sku,
        clock: { timeZone: o.time_zone, dailyResetHour: o.daily_reset_hour },
        orders: [],
        days: [],
      };
      cards.set(o.card_id, card);
    }
    card.orders.push({ orderId: o.order_id, days: o.days, dailyGrants: o.daily_grants, boughtAt: new Date(o.bought_at), reversed: o.reversed });
  }
  for (const d of days) {
    cards.get(d.card_id)?.days.push({ day: d.day, orderId: d.order_id, dueAt: new Date(d.due_at), delivered: d.delivered });
  }
  return [...cards.values()];
}

/**
 * Opens a card day for delivery with the day's grants, unless its order was reversed meanwhile (the
 * check and the write are one statement). True when the day is open (now or by an earlier attempt).
 */
export async function openCardDay(
  run: RunSql,
  day: { deliveryId: string; cardId: string; day: number; orderId: string; grants: Grant[]; dueAt: string },
): Promise<boolean> {
  const rows = await run<{ id: string }>(sql`
    WITH opened AS (
      INSERT INTO monthly_card_days (id, card_id, day, order_id, grants, due_at, status, updated_at)
      SELECT ${day.deliveryId}::text, ${day.cardId}::text, ${day.day}::int, order_id, ${JSON.stringify(day.grants)}::jsonb,
        ${utc(day.dueAt)}, 'PENDING', ${NOW_UTC}
      FROM monthly_card_orders WHERE order_id = ${day.orderId}::uuid AND card_id = ${day.cardId}::text AND reversed_at IS NULL
      ON CONFLICT DO NOTHING
      RETURNING id)
    SELECT id FROM opened UNION ALL
    SELECT id FROM monthly_card_days WHERE id = ${day.deliveryId}::text AND order_id = ${day.orderId}::uuid`);
  return rows.length > 0;
}

export interface CardDayDeliveryRow extends SealedGameSecret {
  id: string;
  card_id: string;
  day: number;
  order_id: string;
  user_id: string;
  sku: string;
  game_id: string;
  grants: Grant[];
  status: string;
  delivery_url: string;
  require_delivery_echo: boolean;
}

/** What a card day's delivery sends, with where and how to sign it. */
export async function cardDayDelivery(run: RunSql, deliveryId: string): Promise<CardDayDeliveryRow | undefined> {
  const [row] = await run<CardDayDeliveryRow>(sql`
    SELECT d.id, d.card_id, d.day, d.order_id::text, mco.user_id, mco.sku, mco.game_id, d.grants, d.status,
      g.delivery_url, g.require_delivery_echo,
      g.secret, g.secret_ciphertext AS "secretCiphertext", g.secret_key_id AS "secretKeyId"
    FROM monthly_card_days d JOIN monthly_card_orders mco ON mco.order_id = d.order_id JOIN games g ON g.id = mco.game_id
    WHERE d.id = ${deliveryId}::text`);
  return row;
}

/** Records one attempt to deliver a card day (a success marks it DELIVERED). */
export async function recordCardDayAttempt(run: RunSql, deliveryId: string, { statusCode, error }: AttemptOutcome): Promise<void> {
  await run(sql`
    UPDATE monthly_card_days SET attempts = attempts + 1, last_status_code = ${statusCode ?? null}::int,
      last_error = ${error ?? null}::text, updated_at = ${NOW_UTC}
      ${error ? sql`` : sql`, status = 'DELIVERED', delivered_at = ${NOW_UTC}`}
    WHERE id = ${deliveryId}::text`);
}
