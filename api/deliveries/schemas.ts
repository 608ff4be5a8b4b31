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
  bonusGrants: z
    .array(z.strictObject({ itemId: z.string(), quantity: z.number().int().min(1) }))
    .optional()
    .meta({ description: "the first-purchase bonus part of `grants` (already included there, after the item's grants; once per order)" }),
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

export const monthlyCardDayWebhookBody = z
  .strictObject({
    deliveryId: z.string().meta({ description: '`<cardId>:<day>`: one per card day, the same on every attempt; grant each once' }),
    kind: z.literal('MONTHLY_CARD_DAILY').meta({ description: 'a monthly card day (an order delivery has no `kind`)' }),
    cardId: z.string().meta({ description: 'one card per game, user and sku (GET /v1/monthly-cards)' }),
    orderId: goods.orderId.meta({ description: 'the card order whose days this day is one of' }),
    userId: goods.userId,
    sku: goods.sku,
    day: z.number().int().min(1).meta({ description: "the card's day number, counted on across purchases (never reused)" }),
    grants: z.array(z.strictObject({ itemId: z.string(), quantity: z.number().int().min(1) })).meta({ description: "the card's dailyGrants" }),
  })
  .meta({
    id: 'MonthlyCardDayWebhook',
    examples: [
      {
        deliveryId: 'mc_5b1f0c9e2d7a4e3f8a6b1c0d9e8f7a6b:2',
        kind: 'MONTHLY_CARD_DAILY',
        cardId: 'mc_5b1f0c9e2d7a4e3f8a6b1c0d9e8f7a6b',
        orderId: ORDER_ID,
        userId: 'player-42',
        sku: 'demo-monthly-card',
        day: 2,
        grants: [{ itemId: 'gems', quantity: 100 }],
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

// The game's acknowledgement of a broker revocation (POST /v1/revocations/{revocationId}/ack).

export const revocationIdParam = z
  .string()
  .regex(/^rv_[0-9a-f-]{36}$/, '`rv_<orderId>`')
  .meta({ description: 'the `revocationId` of the message', examples: [`rv_${ORDER_ID}`] });

export const revocationAckBody = z
  .strictObject({
    orderId: z.uuid().meta({ description: 'the order of the revocation (the message\'s `orderId`)' }),
  })
  .meta({ id: 'RevocationAck', examples: [{ orderId: ORDER_ID }] });

export const revocationAckResponse = z
  .strictObject({
    revocationId: z.string(),
    orderId: z.string(),
    status: z.literal('REVOKED').meta({ description: 'the goods are taken back: the revocation is done' }),
    acknowledgedAt: timestamp.meta({ description: 'when the first ack was recorded (the same on every repeat)' }),
  })
  .meta({ id: 'RevocationAckAnswer' });
