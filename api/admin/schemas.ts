import { CONSUMPTION_ANSWERS, PLAYER_CONSENT, REFUND_PREFERENCES } from '../../domain/stores/consumption';
import { AGE_BANDS } from '../../domain/risk/minor-caps';
import { z } from 'zod';
import { CHANNEL_TYPES, PLATFORMS } from '../../channels/types';
import { ITEM_KINDS } from '../../domain/catalog/items';
import { pricesClash } from '../../domain/catalog/pricing';
import { isTimeZone } from '../../domain/reconciliation/days';
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

const gameSecret = printableAscii(32, 256);

/** Answers to the App Store's consumption requests (issue 23). */
const consumptionAnswers = z
  .strictObject({
    answers: z.enum(CONSUMPTION_ANSWERS),
    playerConsent: z.enum(PLAYER_CONSENT).default('ALL'),
    sampleContentProvided: z.boolean().default(false),
    refundPreference: z.enum(REFUND_PREFERENCES).optional(),
  })
  .meta({
    description:
      "answers to the App Store's consumption requests (Send Consumption Information, before Apple decides a player's refund): OFF (the default) sends nothing; ON sends the order's delivery status, " +
      '`sampleContentProvided`, the latest `consumptionPercentage` of its grant-log lines and the default `refundPreference` (GRANT_PRORATED only with a consumption percentage above 0) when the player consented: ' +
      "ALL (by the game's terms) or PER_ORDER (only for orders created with `consumptionDataConsent: true`)",
    examples: [{ answers: 'ON', playerConsent: 'ALL', sampleContentProvided: false, refundPreference: 'DECLINE' }],
  });

export const gameBody = z
  .strictObject({
    name: text(200).trim().min(1),
    secret: gameSecret.optional().meta({
      description: 'HMAC key shared with the game server: signs its calls to us and our deliveries to it (or give `secrets`)',
    }),
    secrets: z
      .array(gameSecret)
      .min(1)
      .max(2)
      .optional()
      .meta({
        description:
          'rotation: one or two secrets (instead of `secret`); a call to us signed with either passes, our deliveries are signed with the first. ' +
          'Rotate by sending [new, old], then [new] once the game server signs with the new one',
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
    timeZone: timeZone.optional(),
    dailyResetHour: dailyResetHour.optional(),
    consumptionAnswers: consumptionAnswers.optional(),
    defaultAgeBand: z
      .enum(AGE_BANDS)
      .optional()
      .meta({ description: 'the age band of an order that names none (default ADULT): a minor band holds such orders to the region\'s spending caps' }),
  })
  .refine((game) => (game.secret === undefined) !== (game.secrets === undefined), {
    message: 'give exactly one of secret and secrets',
    path: ['secret'],
  })
  .meta({
    id: 'GameUpsert',
    examples: [
      { name: DEMO_GAME_NAME, secret: DEMO_SECRET, deliveryUrl: 'https://game.example.com/payments/deliveries' },
    ],
  });

/** A window: either end may be open, the start before the end. */
const window = (what: string) =>
  z
    .strictObject({
      startsAt: timestamp.optional().meta({ description: `${what} from (inclusive, ISO 8601 UTC)` }),
      endsAt: timestamp.optional().meta({ description: `${what} until (exclusive, ISO 8601 UTC)` }),
    })
    .refine((w) => !w.startsAt || !w.endsAt || Date.parse(w.startsAt) < Date.parse(w.endsAt), { message: 'startsAt must be before endsAt', path: ['endsAt'] });

/** A price for a region, optionally for one channel type and for a window (a scheduled price). */
export const itemPrice = price
  .extend({
    channel: z.enum(CHANNEL_TYPES).optional().meta({ description: 'a channel type: the price of orders paid through that type (it wins over the plain price)' }),
    startsAt: timestamp.optional().meta({ description: 'a scheduled price: in force from (inclusive)' }),
    endsAt: timestamp.optional().meta({ description: 'a scheduled price: in force until (exclusive); while in force it wins over the windowless price' }),
  })
  .refine((p) => !p.startsAt || !p.endsAt || Date.parse(p.startsAt) < Date.parse(p.endsAt), { message: 'startsAt must be before endsAt', path: ['endsAt'] });

const units = z.number().int().min(1).max(1_000_000);
export const itemLimits = z
  .strictObject({
    perUserDaily: units.optional().meta({ description: "units one user may buy per game day (the game's time zone and reset hour)" }),
    perUserLifetime: units.optional().meta({ description: 'units one user may buy, ever (closed and refunded-before-delivery orders give theirs back)' }),
    maxPendingPerUser: units.optional().meta({ description: "units one user's unpaid orders of the item may hold; more is refused 422 QUANTITY_NOT_ALLOWED until one is paid or closed (default maxPerOrder for limited stock; unlimited items: no cap unless set)" }),
  })
  .meta({ description: 'per-user limits in units', examples: [{ perUserDaily: 1, perUserLifetime: 3 }] });
export const firstPurchaseBonus = z
  .strictObject({
    grants: z.array(grant).min(1).max(50).meta({ description: "granted once, with the user's first order of this sku (or of any sku of the group)" }),
    group: slug(64).optional().meta({ description: 'items of one group share one bonus per user' }),
  })
  .meta({ examples: [{ grants: [{ itemId: 'gems', quantity: 60 }], group: 'gem-packs' }] });
const tag = slug(64);

export const itemBody = z
  .strictObject({
    gameId: gameIdPath,
    name: text(200).trim().min(1),
    grants: z.array(grant).min(1).max(50).meta({ description: 'what one unit grants in the game' }),
    prices: z
      .array(itemPrice)
      .min(1)
      .max(300)
      .meta({ description: 'per region (and optionally channel type and window); replaced as a whole. One windowless price per region and channel type; windows of one region and type do not overlap' }),
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
    saleWindow: window('on sale').optional(),
    limits: itemLimits.optional(),
    maxPerOrder: units.optional().meta({ description: 'units one order may buy (default 10 for limited stock, else unbounded)' }),
    firstPurchaseBonus: firstPurchaseBonus.optional(),
    tags: z.array(tag).max(20).optional().meta({ description: "operator's labels (filter of GET /v1/admin/items)" }),
  })
  .refine((item) => !item.prices.some((p, i) => item.prices.slice(i + 1).some((q) => pricesClash(p, q))), {
    message: 'one price per region and channel type at a time (windowless twice, or overlapping windows)',
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
  consumptionAnswers: consumptionAnswers.optional(),
  gameId: z.string(),
  name: z.string(),
  deliveryUrl: z.string(),
  revokeUrl: z.string().optional(),
  requireDeliveryEcho: z.boolean(),
  delivery: z.strictObject({ mode: z.enum(DELIVERY_MODES), ackTimeoutMs: z.number().int() }),
  channelPolicy: z.partialRecord(z.enum(PLATFORMS), z.array(z.enum(CHANNEL_TYPES))).optional(),
  timeZone: z.string(),
  dailyResetHour: z.number().int(),
  defaultAgeBand: z.enum(AGE_BANDS),
  updatedAt: timestamp,
});
export const itemResponse = z.strictObject({
  sku: z.string(),
  gameId: z.string(),
  name: z.string(),
  grants: z.array(grant),
  stock: z.number().int().nullable().meta({ description: 'units left to sell; null for unlimited' }),
  prices: z.array(itemPrice),
  storeProducts: storeProducts.optional(),
  kind: z.enum(ITEM_KINDS),
  monthlyCard: monthlyCard.optional(),
  saleWindow: window('on sale').optional(),
  limits: itemLimits.optional(),
  maxPerOrder: z.number().int().optional(),
  firstPurchaseBonus: firstPurchaseBonus.optional(),
  tags: z.array(z.string()),
  retiredAt: timestamp.optional().meta({ description: 'set once retired (DELETE): no new orders, not in the storefront' }),
});
export const itemList = z.strictObject({ items: z.array(itemResponse) }).meta({ id: 'ItemList' });
export const itemListQuery = z.strictObject({
  gameId: gameIdPath.optional().meta({ examples: [DEMO_GAME_ID] }),
  kind: z.enum(ITEM_KINDS).optional().meta({ examples: ['CONSUMABLE'] }),
  tag: tag.optional().meta({ examples: ['event'] }),
  after: skuPath.optional().meta({ description: 'the last sku of the previous page', examples: [DEMO_ITEMS[0]!.sku] }),
  limit: z.coerce.number().int().min(1).max(500).default(100).meta({ description: 'at most this many (default 100)', examples: [100] }),
});
export const itemAudit = z
  .strictObject({
    entries: z.array(
      z.strictObject({
        at: timestamp,
        actor: z.string(),
        action: z.enum(['CREATED', 'UPDATED', 'RETIRED']),
        before: z.unknown().nullable(),
        after: z.unknown().nullable(),
      }),
    ),
  })
  .meta({ id: 'ItemAudit' });

