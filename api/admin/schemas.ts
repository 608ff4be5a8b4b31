import { z } from 'zod';
import { CHANNEL_TYPES, PLATFORMS } from '../../channels/types';
import { ITEM_KINDS } from '../../domain/catalog/items';
import { isTimeZone } from '../../domain/reconciliation/days';
import { DEMO_GAME_ID, DEMO_GAME_NAME, DEMO_ITEMS, DEMO_SECRET, itemUpsert } from '../shared/demo-catalog';
import { grant, price, printableAscii, slug, text, timestamp } from '../shared/schemas';

/** The item's product id in each store channel; a receipt for another product is never delivered. */
export const storeProducts = z
  .strictObject({ appstore: text(200).min(1).optional(), googleplay: text(200).min(1).optional() })
  .meta({ description: "the item's product id in each store", examples: [{ appstore: 'com.studio.game.gems60', googleplay: 'gems_60' }] });

// The examples are the demo catalog `npm run dev` serves, so the page and the running demo agree.

/** Path parameters the admin routes accept. */
export const gameIdPath = slug(64).meta({ examples: [DEMO_GAME_ID] });
export const skuPath = slug(128).meta({ examples: [DEMO_ITEMS[0]!.sku] });

/** The game's day: daily limits, card days and monthly caps count in it. */
const timeZone = z
  .string()
  .max(64)
  .refine(isTimeZone, 'an IANA time zone such as Asia/Shanghai')
  .meta({ description: "IANA time zone of the game's day (default Asia/Shanghai)", examples: ['Asia/Shanghai'] });
const dailyResetHour = z.number().int().min(0).max(23).meta({ description: "local hour (0-23) at which the game's day starts (default 0)" });

export const monthlyCard = z
  .strictObject({
    days: z.number().int().min(1).max(366).meta({ description: 'game days the card grants, counting the day of purchase' }),
    dailyGrants: z.array(grant).min(1).max(50).meta({ description: 'what each card day grants' }),
  })
  .meta({ description: "a monthly card's terms (required for kind MONTHLY_CARD, refused for others)", examples: [{ days: 30, dailyGrants: [{ itemId: 'gems', quantity: 100 }] }] });

export const gameBody = z
  .object({
    name: text(200).trim().min(1),
    secret: printableAscii(32, 256).meta({
      description: 'HMAC key shared with the game server: signs its calls to us and our deliveries to it',
    }),
    deliveryUrl: z.url({ protocol: /^https?$/ }).max(2048).meta({
      description:
        'where paid orders are delivered (signed POST; redirects are not followed). https outside development; no credentials in the URL; link-local addresses are refused, private and loopback ones unless EGRESS_ALLOW_PRIVATE_NETWORKS',
    }),
    revokeUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional()
      .meta({ description: 'where the game is told to take back goods of refunded or charged-back orders (signed POST; the same rules as deliveryUrl)' }),
    requireDeliveryEcho: z.boolean().optional().meta({
      description:
        "when true, a delivery counts only if the game's 2xx answer is JSON echoing the call's `deliveryId` (`{ \"deliveryId\": \"...\" }`); otherwise the attempt failed and is retried (something in front of the game may have answered). Default false",
    }),
    channelPolicy: z
      .partialRecord(z.enum(PLATFORMS), z.array(z.enum(CHANNEL_TYPES)).min(1).refine((types) => new Set(types).size === types.length, 'each type once'))
      .optional()
      .meta({
        description:
          "per platform, the channel types its orders may pay through (e.g. iOS digital goods only through appstore); platforms not named, and a game without a policy, may use every enabled account",
        examples: [{ ios: ['appstore'], android: ['googleplay', 'alipay', 'wechatpay'] }],
      }),
    timeZone: timeZone.optional(),
    dailyResetHour: dailyResetHour.optional(),
  })
  .meta({
    id: 'GameUpsert',
    examples: [
      { name: DEMO_GAME_NAME, secret: DEMO_SECRET, deliveryUrl: 'https://game.example.com/payments/deliveries' },
    ],
  });

export const itemBody = z
  .object({
    gameId: gameIdPath,
    name: text(200).trim().min(1),
    grants: z.array(grant).min(1).max(50).meta({ description: 'what one unit grants in the game' }),
    prices: z.array(price).min(1).max(300).meta({ description: 'one price per region; replaced as a whole' }),
    stock: z
      .number()
      .int()
      .min(0)
      .nullable()
      .optional()
      .meta({ description: 'units left to sell; null: unlimited; omitted: a new item is unlimited, an existing one keeps its stock' }),
    storeProducts: storeProducts.optional(),
    kind: z.enum(ITEM_KINDS).optional().meta({ description: 'CONSUMABLE (default), NON_CONSUMABLE, BUNDLE (a consumable with several grants) or MONTHLY_CARD' }),
    monthlyCard: monthlyCard.optional(),
  })
  .refine((item) => new Set(item.prices.map((p) => p.region)).size === item.prices.length, {
    message: 'one price per region',
    path: ['prices'],
  })
  .refine((item) => (item.kind === 'MONTHLY_CARD') === (item.monthlyCard !== undefined), {
    message: 'monthlyCard is required for kind MONTHLY_CARD and refused for other kinds',
    path: ['monthlyCard'],
  })
  .meta({
    id: 'ItemUpsert',
    examples: DEMO_ITEMS.map((item) => itemUpsert(item, DEMO_GAME_ID)),
  });

export const gameResponse = z.strictObject({
  gameId: z.string(),
  name: z.string(),
  deliveryUrl: z.string(),
  revokeUrl: z.string().optional(),
  requireDeliveryEcho: z.boolean(),
  channelPolicy: z.partialRecord(z.enum(PLATFORMS), z.array(z.enum(CHANNEL_TYPES))).optional(),
  timeZone: z.string(),
  dailyResetHour: z.number().int(),
  updatedAt: timestamp,
});
export const itemResponse = z.strictObject({
  sku: z.string(),
  gameId: z.string(),
  name: z.string(),
  grants: z.array(grant),
  stock: z.number().int().nullable().meta({ description: 'units left to sell; null for unlimited' }),
  prices: z.array(price),
  storeProducts: storeProducts.optional(),
  kind: z.enum(ITEM_KINDS),
  monthlyCard: monthlyCard.optional(),
});

