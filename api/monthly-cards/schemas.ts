import { z } from 'zod';
import { id, timestamp } from '../shared/schemas';

export const monthlyCardsQuery = z.object({
  userId: id.meta({ description: "the player whose cards to list (the game's own user id)", examples: ['player-10086'] }),
});

export const monthlyCard = z
  .strictObject({
    cardId: z.string().meta({ description: 'one card per game, user and sku; a card day is delivered with deliveryId `<cardId>:<day>`' }),
    sku: z.string(),
    startedAt: timestamp.meta({ description: "when the card's current term began (its day 1, or a purchase after it had lapsed)" }),
    endsAt: timestamp.meta({ description: 'when its last day ends (each purchase while it runs moves this by its days)' }),
    daysGranted: z.number().int().min(0).meta({ description: 'days of this term the game server took' }),
    daysRemaining: z.number().int().min(0).meta({ description: 'days still to deliver (a refunded purchase drops its days not yet granted)' }),
    nextGrantAt: timestamp.optional().meta({ description: 'when the next day is due (in the past: being delivered now); absent when none is left' }),
  })
  .meta({ id: 'MonthlyCard' });

export const monthlyCardsResponse = z
  .strictObject({ cards: z.array(monthlyCard) })
  .meta({
    id: 'MonthlyCards',
    examples: [
      {
        cards: [
          {
            cardId: 'mc_5b1f0c9e2d7a4e3f8a6b1c0d9e8f7a6b',
            sku: 'monthly-card-30',
            startedAt: '2026-12-01T07:12:40.000Z',
            endsAt: '2026-12-30T21:00:00.000Z',
            daysGranted: 7,
            daysRemaining: 23,
            nextGrantAt: '2026-12-07T21:00:00.000Z',
          },
        ],
      },
      { cards: [] },
    ],
  });
