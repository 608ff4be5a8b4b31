import { z } from 'zod';
import { money, text, timestamp } from '../shared/schemas';

// The bodies we POST to a game server (activities/delivery.ts, activities/reversals.ts revokeGrants).

const ORDER_ID = '6628662b-0f14-8bd6-8d28-74575f84a0ec';

const goods = {
  orderId: z.string().meta({ description: 'the order (a UUID)' }),
  userId: z.string().meta({ description: 'the player, as the game sent it when it created the order' }),
  sku: z.string(),
  quantity: z.number().int().min(1).meta({ description: 'units of the item bought' }),
  grants: z.array(z.strictObject({ itemId: z.string(), quantity: z.number().int().min(1) })).meta({
    description: "what to grant (or take back) in the game: totals, already multiplied by `quantity` (grant these, don't multiply again)",
  }),
  amount: money.meta({ description: 'what the order cost, in minor units' }),
};

export const deliveryWebhookBody = z
  .strictObject({
    deliveryId: z.string().meta({ description: '`dlv_<orderId>`: one per order, the same on every attempt; grant each once' }),
    ...goods,
    paidAt: z.iso.datetime().optional().meta({ description: 'when the payment was captured' }),
  })
  .meta({
    id: 'DeliveryWebhook',
    examples: [
      {
        deliveryId: `dlv_${ORDER_ID}`,
        orderId: ORDER_ID,
        userId: 'player-42',
        sku: 'demo-gems-60',
        quantity: 2,
        grants: [{ itemId: 'gems', quantity: 120 }],
        amount: { currency: 'CNY', value: 1200 },
        paidAt: '2026-12-07T10:00:03.512Z',
      },
    ],
  });

export const revocationWebhookBody = z
  .strictObject({
    revocationId: z.string().meta({ description: '`rv_<orderId>`: one per order, the same on every attempt; take the goods back once' }),
    ...goods,
    reason: z.enum(['REFUND', 'CHARGEBACK', 'REVOKED']).meta({
      description: 'REFUND: the money went back (the channel or an operator); CHARGEBACK: the payer disputed it; REVOKED: the store revoked it',
    }),
  })
  .meta({
    id: 'RevocationWebhook',
    examples: [
      {
        revocationId: `rv_${ORDER_ID}`,
        orderId: ORDER_ID,
        userId: 'player-42',
        sku: 'demo-gems-60',
        quantity: 2,
        grants: [{ itemId: 'gems', quantity: 120 }],
        reason: 'REFUND',
        amount: { currency: 'CNY', value: 1200 },
      },
    ],
  });

// The game's acknowledgement of a broker delivery (POST /v1/deliveries/{deliveryId}/ack).

export const deliveryIdParam = z
  .string()
  .regex(/^dlv_[0-9a-f-]{36}$/, '`dlv_<orderId>`')
  .meta({ description: 'the `deliveryId` of the message', examples: [`dlv_${ORDER_ID}`] });

const ackResult = z.enum(['GRANTED', 'REJECTED']).meta({
  description: 'GRANTED: the goods are the player\'s (the order becomes DELIVERED); REJECTED: the game cannot take them (refunded at once, DELIVERY_REJECTED)',
});

export const deliveryAckBody = z
  .strictObject({
    orderId: z.uuid().meta({ description: 'the order of the delivery (the message\'s `orderId`)' }),
    result: ackResult,
    reason: text(500).optional().meta({ description: 'why, for people (e.g. why a delivery was rejected)' }),
  })
  .meta({
    id: 'DeliveryAck',
    examples: [
      { orderId: ORDER_ID, result: 'GRANTED' },
      { orderId: ORDER_ID, result: 'REJECTED', reason: 'the player account was deleted' },
    ],
  });

export const deliveryAckResponse = z
  .strictObject({
    deliveryId: z.string(),
    orderId: z.string(),
    result: ackResult,
    acknowledgedAt: timestamp.meta({ description: 'when the first ack was recorded (the same on every repeat)' }),
  })
  .meta({ id: 'DeliveryAckAnswer' });
