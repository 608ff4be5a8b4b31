import { z } from 'zod';
import { CURRENCY_PATTERN, MAX_ORDER_AMOUNT } from '../domain/money';
import { ORDER_STATUSES } from '../domain/order-status';
import { ANY_REGION } from '../domain/pricing';

const id = z.string().trim().min(1).max(128);
const region = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as CN or US');

export const gameBody = z.object({
  name: z.string().trim().min(1).max(200),
  secret: z.string().min(32, 'at least 32 characters').max(256),
  deliveryUrl: z.url({ protocol: /^https?$/ }),
});

export const itemBody = z
  .object({
    gameId: id,
    name: z.string().trim().min(1).max(200),
    grants: z.array(z.object({ itemId: id, quantity: z.number().int().min(1).max(1_000_000) })).min(1).max(50),
    prices: z
      .array(
        z.object({
          region: z.union([region, z.literal(ANY_REGION)]),
          currency: z.string().regex(CURRENCY_PATTERN, 'an ISO 4217 code such as CNY'),
          amount: z.number().int().min(1).max(MAX_ORDER_AMOUNT),
        }),
      )
      .min(1)
      .max(300),
    /** Units left to sell; omit or null for unlimited virtual goods. */
    stock: z.number().int().min(0).nullable().optional(),
  })
  .refine((item) => new Set(item.prices.map((p) => p.region)).size === item.prices.length, {
    message: 'one price per region',
    path: ['prices'],
  });

export const blacklistBody = z.object({ reason: z.string().max(500).optional() });
export const blacklistKind = z.enum(['USER', 'DEVICE', 'IP']);

export const createOrderBody = z.object({
  userId: id,
  sku: id,
  quantity: z.number().int().min(1).max(10_000).default(1),
  region,
  channel: z.string().min(1).max(32).optional(),
  clientIp: z.union([z.ipv4(), z.ipv6()]).optional(),
  deviceId: id.optional(),
});

export const idempotencyKey = z.string().min(1).max(128);
export const orderIdParam = z.uuid();

/** Operations: finding stuck orders and acting on them (admin token plus the operator's identity). */
export const operatorHeader = z.string().trim().min(1).max(128);

export const opsOrdersQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional(),
  olderThanSeconds: z.coerce.number().int().min(0).optional(),
  gameId: id.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const opsActionBody = z.object({ reason: z.string().trim().min(1).max(500) });

export const resolveBody = opsActionBody.extend({ action: z.enum(['DELIVER', 'REFUND']) });
