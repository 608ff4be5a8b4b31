import { z } from 'zod';
import { ITEM_KINDS } from '../../domain/catalog/items';
import { PLATFORMS } from '../../channels/types';
import { grant, id, money, region, slug, timestamp } from '../shared/schemas';

export const storefrontQuery = z.object({
  userId: id.meta({ description: "the player the storefront is for (the game's own user id)", examples: ['player-10086'] }),
  region: region.meta({ description: 'where the player buys: prices resolve for this region (or the "*" price)', examples: ['CN'] }),
  platform: z
    .enum(PLATFORMS)
    .optional()
    .meta({ description: "the player's platform: with the game's channel policy it may decide the channel type, and so the price", examples: ['ios'] }),
  channel: slug(64)
    .optional()
    .meta({ description: 'a channel account or channel type the player pays through: its type\'s prices apply (as for POST /v1/orders)', examples: ['alipay'] }),
});

export const storefrontItem = z
  .strictObject({
    sku: z.string(),
    name: z.string(),
    kind: z.enum(ITEM_KINDS),
    price: money.meta({ description: 'the unit price in force now for this region and channel type' }),
    grants: z.array(grant).meta({ description: 'what one unit grants' }),
    bonusGrants: z.array(grant).optional().meta({ description: "the first-purchase bonus this player's next order of the item would claim" }),
    stockRemaining: z.number().int().min(0).nullable().meta({ description: 'units left to sell (0: sold out); null: unlimited' }),
    userRemaining: z
      .strictObject({ daily: z.number().int().min(0).optional(), lifetime: z.number().int().min(0).optional() })
      .optional()
      .meta({ description: "units this player may still buy today (the game's day) and ever, for items with per-user limits" }),
    saleEndsAt: timestamp.optional().meta({ description: 'the earlier end of the sale window and of the price in force' }),
    owned: z.literal(true).optional().meta({ description: 'a non-consumable the player holds or has an unpaid order of' }),
  })
  .meta({ id: 'StorefrontItem' });

export const storefrontResponse = z
  .strictObject({ items: z.array(storefrontItem) })
  .meta({
    id: 'Storefront',
    examples: [
      {
        items: [
          {
            sku: 'gems-60',
            name: '60 Gems',
            kind: 'CONSUMABLE',
            price: { currency: 'CNY', value: 600 },
            grants: [{ itemId: 'gems', quantity: 60 }],
            bonusGrants: [{ itemId: 'gems', quantity: 60 }],
            stockRemaining: null,
          },
          {
            sku: 'winter-pack',
            name: 'Winter pack',
            kind: 'BUNDLE',
            price: { currency: 'CNY', value: 3000 },
            grants: [
              { itemId: 'gems', quantity: 300 },
              { itemId: 'skin-snow', quantity: 1 },
            ],
            stockRemaining: 42,
            userRemaining: { daily: 1, lifetime: 2 },
            saleEndsAt: '2026-12-31T16:00:00.000Z',
          },
          {
            sku: 'no-ads',
            name: 'No ads',
            kind: 'NON_CONSUMABLE',
            price: { currency: 'CNY', value: 1800 },
            grants: [{ itemId: 'no-ads', quantity: 1 }],
            stockRemaining: null,
            owned: true,
          },
        ],
      },
    ],
  });
