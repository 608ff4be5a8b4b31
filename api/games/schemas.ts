import { z } from 'zod';
import { calendarDate } from '../finance/schemas';
import { id, timestamp } from '../shared/schemas';

/** A signed request's body must fit 64 KiB: a batch of this many grants does; send more in several. */
export const MAX_GRANTS_PER_CALL = 400;

export const grantLogBody = z
  .strictObject({
    date: calendarDate.meta({ description: "the game's day the grants belong to (its log of that day)" }),
    grants: z
      .array(
        z.strictObject({
          deliveryId: id.meta({ description: 'the deliveryId our delivery carried' }),
          orderId: z.uuid(),
          grantedAt: timestamp,
          consumptionPercentage: z
            .number()
            .int()
            .min(0)
            .max(100_000)
            .optional()
            .meta({
              description:
                'how much of the grant the player has used so far, in milliunits (0-100000 = 0-100%); may be sent again on a later day with a new figure (the latest report wins). Sent to the App Store when it asks before a refund; omitted: not told',
            }),
        }),
      )
      .max(MAX_GRANTS_PER_CALL),
  })
  .meta({
    id: 'GrantLog',
    examples: [
      {
        date: '2026-11-01',
        grants: [
          {
            deliveryId: 'dlv_3f0e9a4c-1b2d-8e6f-8a7b-9c0d1e2f3a4b',
            orderId: '3f0e9a4c-1b2d-8e6f-8a7b-9c0d1e2f3a4b',
            grantedAt: '2026-11-01T08:05:00.000Z',
            consumptionPercentage: 25_000,
          },
        ],
      },
      { date: '2026-11-02', grants: [] },
    ],
  });

export const grantLogResponse = z.strictObject({
  date: z.string(),
  received: z.number().int(),
  recorded: z.number().int().meta({ description: 'grants new to us (the others were sent before: kept as first sent, only a consumptionPercentage is taken again)' }),
});
