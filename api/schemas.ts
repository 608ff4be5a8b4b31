import { z } from 'zod';
import { CURRENCY_PATTERN, MAX_ORDER_AMOUNT } from '../domain/money';
import { ORDER_STATUSES } from '../domain/order-status';
import { ANY_REGION } from '../domain/pricing';

// `.meta()` only documents (api/openapi.ts renders it): it never changes what a schema accepts.

const id = z.string().trim().min(1).max(128);
const region = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as CN or US');
const currency = z.string().regex(CURRENCY_PATTERN, 'an ISO 4217 code such as CNY');
const minorUnits = 'integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120)';

const grant = z.object({ itemId: id, quantity: z.number().int().min(1).max(1_000_000) });
const price = z.object({
  region: z
    .union([region, z.literal(ANY_REGION)])
    .meta({ description: `ISO 3166-1 alpha-2, or "${ANY_REGION}" for every other region` }),
  currency,
  amount: z.number().int().min(1).max(MAX_ORDER_AMOUNT).meta({ description: minorUnits }),
});

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

export const createOrderBody = z
  .object({
    userId: id,
    sku: id,
    quantity: z.number().int().min(1).max(10_000).default(1),
    region,
    channel: z
      .string()
      .min(1)
      .max(32)
      .optional()
      .meta({ description: 'payment channel; the first configured one when omitted' }),
    clientIp: z.union([z.ipv4(), z.ipv6()]).optional(),
    deviceId: id.optional(),
  })
  .meta({
    id: 'CreateOrder',
    examples: [
      {
        userId: 'player-10086',
        sku: 'gems-60',
        quantity: 2,
        region: 'CN',
        channel: 'sandbox',
        clientIp: '203.0.113.7',
        deviceId: 'ios-7f3a9c',
      },
      { userId: 'player-20417', sku: 'gems-60', region: 'US' },
    ],
  });

export const idempotencyKey = z.string().min(1).max(128).meta({
  description: "the game server's id for this purchase: a retry with the same key and body answers the same order",
  examples: ['purchase-6a1f0e52-881'],
});
export const orderIdParam = z.uuid().meta({ examples: ['3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b'] });

/** Operations: finding stuck orders and acting on them (admin token plus the operator's identity). */
export const operatorHeader = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .meta({ description: 'who acts, for the audit trail', examples: ['alice@studio.example'] });

export const opsOrdersQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional().meta({ examples: ['DELIVERING'] }),
  olderThanSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: 'only orders unchanged for at least this long', examples: [600] }),
  gameId: id.optional().meta({ examples: ['dragon-quest-m'] }),
  limit: z.coerce.number().int().min(1).max(500).default(100).meta({ examples: [50] }),
});

export const opsActionBody = z
  .object({ reason: z.string().trim().min(1).max(500) })
  .meta({ id: 'OpsAction', examples: [{ reason: 'game server was down 14:00-15:10 UTC, ticket OPS-311' }] });

export const resolveBody = opsActionBody
  .extend({ action: z.enum(['DELIVER', 'REFUND']) })
  .meta({
    id: 'OpsResolve',
    examples: [{ action: 'DELIVER', reason: 'paid 1200 CNY as asked; the channel reported 12.00 as 1200.00' }],
  });

// ---- Responses (documentation, and the test that checks the API answers them) ----------------

const timestamp = z.iso.datetime();

export const money = z
  .strictObject({ currency, value: z.number().int().min(0).meta({ description: minorUnits }) })
  .meta({ id: 'Money' });
export const orderStatus = z.enum(ORDER_STATUSES).meta({ id: 'OrderStatus' });

export const healthResponse = z.strictObject({ database: z.boolean(), temporal: z.boolean() });
export const readinessResponse = z.strictObject({
  ready: z.boolean(),
  draining: z.boolean().meta({ description: 'the process is shutting down' }),
  database: z.boolean(),
  temporal: z.boolean(),
});

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

export const createOrderResponse = z
  .strictObject({
    orderId: z.uuid(),
    status: orderStatus.meta({ description: 'PENDING_PAYMENT; a retry after the order finished answers its status' }),
    amount: money,
    channel: z.string(),
    payment: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "what the payer needs, in the channel's terms (the sandbox: channelPaymentId, payUrl)" }),
    expiresAt: timestamp,
  })
  .meta({ id: 'CreatedOrder' });

export const orderView = z
  .strictObject({
    orderId: z.uuid(),
    status: orderStatus,
    userId: z.string(),
    sku: z.string(),
    quantity: z.number().int(),
    amount: money,
    channel: z.string(),
    createdAt: timestamp,
    expiresAt: timestamp,
    paidAt: timestamp.optional(),
    deliveredAt: timestamp.optional(),
    history: z.array(z.strictObject({ status: orderStatus, at: timestamp, reason: z.string().optional() })),
  })
  .meta({ id: 'Order' });

export const opsOrderSummary = z
  .strictObject({
    orderId: z.uuid(),
    gameId: z.string(),
    userId: z.string(),
    sku: z.string(),
    status: orderStatus,
    statusReason: z.string().optional(),
    amount: money,
    channel: z.string(),
    createdAt: timestamp,
    updatedAt: timestamp,
    workflowId: z.string().meta({ description: "the order's Temporal workflow id (`temporal workflow show`)" }),
  })
  .meta({ id: 'OpsOrderSummary' });
export const opsOrdersResponse = z.strictObject({ orders: z.array(opsOrderSummary) });
export const opsActionResponse = z.strictObject({ accepted: z.literal(true), order: orderView });

/** The error envelope, narrowed to the codes one response can carry. */
export function errorEnvelope(codes: readonly [string, ...string[]]) {
  return z.strictObject({
    error: z.strictObject({
      code: z.enum(codes),
      message: z.string(),
      details: z.unknown().optional().meta({ description: 'context such as the validation issues or the orderId' }),
    }),
  });
}
