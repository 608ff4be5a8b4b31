import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { cardDayLength, nextCardDay } from '../domain/catalog/card-days';
import type { MonthlyCardTerms } from '../domain/catalog/items';
import type { Grant } from '../domain/catalog/pricing';
import { cardDayDeliveryId, monthlyCardIdFor } from '../domain/ids';
import { gameServerClientFor } from '../fulfillment/registry';
import { monthlyCardTiming } from '../infra/config';
import { credentialsKeyring } from '../infra/credentials';
import { openGameSecret } from '../store/catalog';
import type { AttemptOutcome } from '../store/deliveries';
import { cardDayDelivery, cardOfOrder, openCardDay, readCard, recordCardDayAttempt, recordCardOrder } from '../store/monthly-cards';
import { readOrder } from '../store/orders';
import { MONTHLY_CARD_WORKFLOW, monthlyCardChangedSignal, type MonthlyCardInput } from '../workflows/contract';
import type { ActivityDeps } from './deps';

/** The day a card's workflow hands out next, as the workflow receives it. */
export interface PlannedCardDay {
  day: number;
  orderId: string;
  dailyGrants: Grant[];
  /** ISO 8601: when it is due (in the past: a day to catch up). */
  dueAt: string;
}

/** What a card's workflow does next: finish a day already opened, open the next one, or end. */
export interface CardPlan {
  /** A day opened but not delivered yet (the run before stopped while delivering it). */
  pendingDay?: number;
  next?: PlannedCardDay;
}

/** Monthly cards: a delivered card order starts or extends its card; one delivery per card day. */
export function createMonthlyCardActivities({ database, config }: ActivityDeps) {
  const { sql } = database;
  const gameServers = gameServerClientFor(config);
  return {
    /**
     * The purchase's card step: records the delivered order as a purchase of its card and wakes the
     * card's workflow, starting it if it is not running (signal-with-start; repeats are harmless: the
     * workflow reads the card's purchases, not the signal).
     */
    async startMonthlyCard({ orderId, terms }: { orderId: string; terms: MonthlyCardTerms }): Promise<{ cardId?: string }> {
      const order = await readOrder(database.db, orderId);
      const cardId = monthlyCardIdFor(order.gameId, order.userId, order.sku);
      if (!(await recordCardOrder(sql, { orderId, cardId, days: terms.days, dailyGrants: terms.dailyGrants }))) return {};
      const input: MonthlyCardInput = { cardId, gameId: order.gameId, userId: order.userId, sku: order.sku, timing: monthlyCardTiming(config) };
      await Context.current().client.workflow.signalWithStart(MONTHLY_CARD_WORKFLOW, {
        workflowId: cardId,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        args: [input],
        signal: monthlyCardChangedSignal,
        signalArgs: [{ orderId, change: 'BOUGHT' }],
      });
      return { cardId };
    },

    /** The card's purchases and days → what its workflow does next (domain/catalog/card-days.ts decides). */
    async planMonthlyCard({ cardId, gameDayMs }: { cardId: string; gameDayMs: number }): Promise<CardPlan> {
      const card = await readCard(sql, cardId);
      if (!card) return {};
      const pending = card.days.find((d) => !d.delivered);
      if (pending) return { pendingDay: pending.day };
      const next = nextCardDay(card.orders, card.days, cardDayLength(gameDayMs, card.clock));
      return next ? { next: { ...next, dueAt: next.dueAt.toISOString() } } : {};
    },

    /** Opens a due card day for delivery; false when its order was reversed meanwhile (the day is dropped). */
    async openMonthlyCardDay({ cardId, day }: { cardId: string; day: PlannedCardDay }): Promise<boolean> {
      const deliveryId = cardDayDeliveryId(cardId, day.day);
      return openCardDay(sql, { deliveryId, cardId, day: day.day, orderId: day.orderId, grants: day.dailyGrants, dueAt: day.dueAt });
    },

    /** Hands a card day to the game server: a signed POST to its deliveryUrl, the same deliveryId every attempt. */
    async deliverMonthlyCardDay({ cardId, day, deliveryAttemptTimeoutMs }: { cardId: string; day: number; deliveryAttemptTimeoutMs: number }) {
      const deliveryId = cardDayDeliveryId(cardId, day);
      const row = await cardDayDelivery(sql, deliveryId);
      if (!row) throw ApplicationFailure.nonRetryable(`no card day ${deliveryId}`, 'CARD_DAY_NOT_FOUND');
      if (row.status === 'DELIVERED') return;
      const answer = await gameServers.send({
        kind: 'DELIVERY',
        gameId: row.game_id,
        secret: openGameSecret(credentialsKeyring(config), row),
        url: row.delivery_url,
        payload: {
          deliveryId,
          kind: 'MONTHLY_CARD_DAILY',
          cardId,
          orderId: row.order_id,
          userId: row.user_id,
          sku: row.sku,
          day,
          grants: row.grants,
        },
        ...(row.require_delivery_echo && { expectEcho: { deliveryId } }),
        timeoutMs: deliveryAttemptTimeoutMs,
        signal: Context.current().cancellationSignal,
      });
      const outcome: AttemptOutcome = { statusCode: answer.statusCode, ...(answer.outcome === 'RETRY' && { error: answer.error }) };
      await recordCardDayAttempt(sql, deliveryId, outcome);
      if (outcome.error) {
        Context.current().log.warn('card day delivery attempt failed', { cardId, day, ...outcome });
        throw ApplicationFailure.retryable(outcome.error, 'DELIVERY_FAILED');
      }
    },
  };
}

/**
 * Tells a card order's card that the order was reversed (its days not yet handed out were dropped in
 * the reversal's statement). A card whose workflow ended has nothing left to hand out.
 */
export async function wakeCardOfReversedOrder(run: Parameters<typeof cardOfOrder>[0], orderId: string): Promise<void> {
  const cardId = await cardOfOrder(run, orderId);
  if (!cardId) return;
  try {
    await Context.current().client.workflow.getHandle(cardId).signal(monthlyCardChangedSignal, { orderId, change: 'REVERSED' });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
