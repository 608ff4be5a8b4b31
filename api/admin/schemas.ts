import { z } from 'zod';
import { CHANNEL_TYPES, PLATFORMS } from '../../channels/types';
import { ACK_TIMEOUT_MS, DELIVERY_MODES } from '../../domain/fulfillment/modes';
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
    delivery: z
      .strictObject({
        mode: z.enum(DELIVERY_MODES),
        ackTimeoutMs: z.number().int().min(ACK_TIMEOUT_MS.min).max(ACK_TIMEOUT_MS.max).optional(),
      })
      .optional()
      .meta({
        description:
          'how the game takes deliveries and revocations: HTTP (a signed POST to deliveryUrl / revokeUrl, the default), NATS (JetStream subject `payments.deliveries.<gameId>`) or RABBITMQ (exchange `payments.deliveries`, routing key the game id); over a broker the game acknowledges each delivery with POST /v1/deliveries/{deliveryId}/ack, and an attempt without an ack within `ackTimeoutMs` (default 30000) is republished',
        examples: [{ mode: 'NATS', ackTimeoutMs: 30000 }],
      }),
    channelPolicy: z
      .partialRecord(z.enum(PLATFORMS), z.array(z.enum(CHANNEL_TYPES)).min(1).refine((types) => new Set(types).size === types.length, 'each type once'))
      .optional()
      .meta({
        description:
          "per platform, the channel types its orders may pay through (e.g. iOS digital goods only through appstore); platforms not named, and a game without a policy, may use every enabled account",
        examples: [{ ios: ['appstore'], android: ['googleplay', 'alipay', 'wechatpay'] }],
      }),
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
  })
  .refine((item) => new Set(item.prices.map((p) => p.region)).size === item.prices.length, {
    message: 'one price per region',
    path: ['prices'],
  })
  .meta({
    id: 'ItemUpsert',
    examples: DEMO_ITEMS.map((item) => itemUpsert(item, DEMO_GAME_ID)),
  });

export const blacklistBody = z
  .object({ reason: text(500).optional() })
  .meta({ id: 'BlacklistEntryUpsert', examples: [{ reason: 'chargeback fraud, ticket RISK-1042' }] });
export const blacklistKind = z.enum(['USER', 'DEVICE', 'IP']).meta({ examples: ['USER'] });
/** A user id, device id or IP address to block (path parameter). */
export const blacklistValue = text(256).min(1).meta({ examples: ['player-66666'] });

export const gameResponse = z.strictObject({
  gameId: z.string(),
  name: z.string(),
  deliveryUrl: z.string(),
  revokeUrl: z.string().optional(),
  requireDeliveryEcho: z.boolean(),
  delivery: z.strictObject({ mode: z.enum(DELIVERY_MODES), ackTimeoutMs: z.number().int() }),
  channelPolicy: z.partialRecord(z.enum(PLATFORMS), z.array(z.enum(CHANNEL_TYPES))).optional(),
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
});
export const blacklistEntry = z.strictObject({ kind: blacklistKind, value: z.string(), reason: z.string().optional() });

