import { z } from 'zod';
import { grant, id, price, timestamp } from '../shared/schemas';

/** Path parameters the admin routes accept. */
export const gameIdPath = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).meta({ examples: ['dragon-quest-m'] });
export const skuPath = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/).meta({ examples: ['gems-60'] });

export const gameBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    secret: z.string().min(32, 'at least 32 characters').max(256).meta({
      description: 'HMAC key shared with the game server: signs its calls to us and our deliveries to it',
    }),
    deliveryUrl: z.url({ protocol: /^https?$/ }).meta({ description: 'where paid orders are delivered (signed POST)' }),
  })
  .meta({
    id: 'GameUpsert',
    examples: [
      {
        name: 'Dragon Quest Mobile',
        secret: '9f2c4e7a1b3d5f6e8a0c2e4b6d8f0a1c3e5b7d9f',
        deliveryUrl: 'https://game.example.com/payments/deliveries',
      },
    ],
  });

export const itemBody = z
  .object({
    gameId: id,
    name: z.string().trim().min(1).max(200),
    grants: z.array(grant).min(1).max(50).meta({ description: 'what one unit grants in the game' }),
    prices: z.array(price).min(1).max(300).meta({ description: 'one price per region; replaced as a whole' }),
    stock: z
      .number()
      .int()
      .min(0)
      .nullable()
      .optional()
      .meta({ description: 'units left to sell; omit or null for unlimited virtual goods' }),
  })
  .refine((item) => new Set(item.prices.map((p) => p.region)).size === item.prices.length, {
    message: 'one price per region',
    path: ['prices'],
  })
  .meta({
    id: 'ItemUpsert',
    examples: [
      {
        gameId: 'dragon-quest-m',
        name: '60 Gems',
        grants: [{ itemId: 'gem', quantity: 60 }],
        prices: [
          { region: 'CN', currency: 'CNY', amount: 600 },
          { region: 'JP', currency: 'JPY', amount: 120 },
          { region: '*', currency: 'USD', amount: 99 },
        ],
      },
      {
        gameId: 'dragon-quest-m',
        name: 'Founder Pack',
        grants: [
          { itemId: 'gem', quantity: 300 },
          { itemId: 'skin-founder', quantity: 1 },
        ],
        prices: [{ region: '*', currency: 'USD', amount: 1999 }],
        stock: 5000,
      },
    ],
  });

export const blacklistBody = z
  .object({ reason: z.string().max(500).optional() })
  .meta({ id: 'BlacklistEntryUpsert', examples: [{ reason: 'chargeback fraud, ticket RISK-1042' }] });
export const blacklistKind = z.enum(['USER', 'DEVICE', 'IP']).meta({ examples: ['USER'] });

export const gameResponse = z.strictObject({
  gameId: z.string(),
  name: z.string(),
  deliveryUrl: z.string(),
  updatedAt: timestamp,
});
export const itemResponse = z.strictObject({
  sku: z.string(),
  gameId: z.string(),
  name: z.string(),
  grants: z.array(grant),
  stock: z.number().int().nullable().meta({ description: 'units left to sell; null for unlimited' }),
  prices: z.array(price),
});
export const blacklistEntry = z.strictObject({ kind: blacklistKind, value: z.string(), reason: z.string().optional() });

