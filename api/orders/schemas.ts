import { z } from 'zod';
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

