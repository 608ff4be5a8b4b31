import { z } from 'zod';
import { PLATFORMS } from '../../channels/types';
import { id, money, orderStatus, printableAscii, region, slug, timestamp } from '../shared/schemas';

export const createOrderBody = z
  .object({
    userId: id,
    sku: id,
    quantity: z.number().int().min(1).max(10_000).default(1),
    region,
    channel: slug(64)
      .optional()
      .meta({ description: 'payment channel; the first configured one when omitted' }),
    clientIp: z.union([z.ipv4(), z.ipv6()]).optional(),
    platform: z.enum(PLATFORMS).optional().meta({ description: 'where the payer pays: decides e.g. app pay or page pay' }),
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

export const idempotencyKey = printableAscii(1, 128).meta({
  description: "the game server's id for this purchase: a retry with the same key and body answers the same order",
  examples: ['purchase-6a1f0e52-881'],
});
export const orderIdParam = z.uuid().meta({ examples: ['3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b'] });

/** A store's proof of purchase, as the game server received it from the game client. */
export const receiptBody = z
  .union([
    z.strictObject({
      signedTransaction: z
        .string()
        .min(1)
        .max(16_384)
        .regex(/^[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+$/, 'a JWS (compact serialization)')
        .meta({ description: 'App Store: the StoreKit 2 `Transaction.jwsRepresentation`' }),
    }),
    z.strictObject({
      purchaseToken: z.string().min(1).max(4_096).regex(/^[\x21-\x7e]+$/).meta({ description: "Google Play: the purchase's token" }),
      productId: z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/),
    }),
  ])
  .meta({
    id: 'StoreReceipt',
    examples: [
      { signedTransaction: 'eyJhbGciOiJFUzI1NiIsIng1YyI6WyJNSUlCLi4uIl19.eyJ0cmFuc2FjdGlvbklkIjoiMjAwMDAwMDEifQ.c2lnbmF0dXJl' },
      { purchaseToken: 'opaque-token-from-google-play', productId: 'gems_60' },
    ],
  });

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
  .meta({
    id: 'CreatedOrder',
    examples: [
      {
        orderId: '3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b',
        status: 'PENDING_PAYMENT',
        amount: { currency: 'CNY', value: 1200 },
        channel: 'sandbox',
        payment: {
          channelPaymentId: 'sbx_9a7c3e1f5b2d4c6e8a0b1c2d',
          payUrl: 'http://127.0.0.1:3000/sandbox/checkout/sbx_9a7c3e1f5b2d4c6e8a0b1c2d',
        },
        expiresAt: '2026-11-30T08:15:00.000Z',
      },
    ],
  });

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
  .meta({
    id: 'Order',
    examples: [
      {
        orderId: '3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b',
        status: 'DELIVERED',
        userId: 'player-10086',
        sku: 'demo-gems-60',
        quantity: 2,
        amount: { currency: 'CNY', value: 1200 },
        channel: 'sandbox',
        createdAt: '2026-11-30T08:00:00.000Z',
        expiresAt: '2026-11-30T08:15:00.000Z',
        paidAt: '2026-11-30T08:01:12.345Z',
        deliveredAt: '2026-11-30T08:01:12.610Z',
        history: [
          { status: 'PENDING_PAYMENT', at: '2026-11-30T08:00:00.000Z' },
          { status: 'PAID', at: '2026-11-30T08:01:12.345Z' },
          { status: 'DELIVERING', at: '2026-11-30T08:01:12.400Z' },
          { status: 'DELIVERED', at: '2026-11-30T08:01:12.610Z' },
        ],
      },
    ],
  });

