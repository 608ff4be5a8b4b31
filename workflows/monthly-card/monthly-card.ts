import { allHandlersFinished, condition, continueAsNew, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { monthlyCardChangedSignal, type MonthlyCardInput } from '../contract';
import { booksOptions, cardDayOptions } from '../shared/options';

/**
 * A monthly card: one workflow per (game, user, sku), its id the card id. Each run hands out one card
 * day and continues as new, so a card's history never grows with its length:
 *
 *   read the card's purchases and days; the domain decides the next day (card-days.ts)
 *   wait until it is due (a purchase or a reversal wakes the card to decide again)
 *   open the day (not if its order was reversed meanwhile) and deliver it until the game server takes it
 *
 * The rows are the truth, not this workflow's memory: signals only wake it, so a repeated or lost
 * signal changes nothing. With no day left to hand out the card ends; buying again starts it anew.
 */
export async function monthlyCard(input: MonthlyCardInput): Promise<'ENDED'> {
  const { cardId, timing } = input;
  const books = proxyLocalActivities<Activities>(booksOptions(timing));
  const delivery = proxyActivities<Activities>(cardDayOptions(timing));
  let changes = 0;
  setHandler(monthlyCardChangedSignal, () => {
    changes += 1;
  });

  for (;;) {
    const seen = changes;
    const plan = await books.planMonthlyCard({ cardId, gameDayMs: timing.gameDayMs });
    let day = plan.pendingDay;
    if (day === undefined && plan.next) {
      const wait = Date.parse(plan.next.dueAt) - Date.now();
      if (wait > 0 && (await condition(() => changes !== seen, wait))) continue;
      if (!(await books.openMonthlyCardDay({ cardId, day: plan.next }))) continue; // its order was reversed
      day = plan.next.day;
    }
    if (day !== undefined) {
      await delivery.deliverMonthlyCardDay({ cardId, day, deliveryAttemptTimeoutMs: timing.deliveryAttemptTimeoutMs });
      await condition(allHandlersFinished);
      return continueAsNew<typeof monthlyCard>(input);
    }
    // Nothing left: the card ends, unless a purchase came while it was being read.
    await condition(allHandlersFinished);
    if (changes === seen) return 'ENDED';
  }
}
