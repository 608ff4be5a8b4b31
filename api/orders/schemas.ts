import { AGE_BANDS } from '../../domain/risk/minor-caps';
import { z } from 'zod';
import type { Exclusion, RouteReason } from '../../domain/routing/router';
import { PLATFORMS } from '../../channels/types';
import { grant, id, money, orderStatus, printableAscii, region, slug, timestamp } from '../shared/schemas';

export const createOrderBody = z
  .strictObject({
    userId: id,
    sku: id,
    quantity: z.number().int().min(1).max(10_000).default(1),
    region,
    channel: slug(64)
      .optional()
      .meta({ description: 'a channel account, used only if it can take the order; omitted: the router chooses and fails over (docs/routing.md)' }),
    clientIp: z.union([z.ipv4(), z.ipv6()]).optional(),
    platform: z.enum(PLATFORMS).optional().meta({ description: 'where the payer pays: decides e.g. app pay or page pay' }),
    deviceId: id.optional(),
    ageBand: z
      .enum(AGE_BANDS)
      .optional()
      .meta({ description: "the payer's age band; omitted: the game's defaultAgeBand (ADULT unless set). A minor's orders are held to the region's spending caps (403 MINOR_SPENDING_LIMIT)" }),
    consumptionDataConsent: z
      .boolean()
      .optional()
      .meta({
        description:
          "the player agreed that the store may be told how much of the purchase they used when they ask it for a refund (App Store consumption requests). Read only by a game whose consumptionAnswers.playerConsent is PER_ORDER: it answers only for orders that said true",
      }),
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
      { userId: 'player-30512', sku: 'gems-60', region: 'CN', ageBand: '8_TO_15' },
      { userId: 'player-40233', sku: 'gems-60', region: 'US', channel: 'appstore', platform: 'ios', consumptionDataConsent: true },
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
    bonusGrants: z.array(grant).optional().meta({ description: "the first-purchase bonus this order claimed (delivered after the item's grants)" }),
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

const EXCLUSIONS = [
  'DISABLED',
  'PLATFORM',
  'REGION',
  'CURRENCY',
  'GAME_POLICY',
  'PRICE_CHANNEL',
  'NO_STORE_PRODUCT',
  'BREAKER_OPEN',
  'BREAKER_HALF_OPEN',
  'STORE_CHANNEL',
  'NOT_REQUESTED',
  'FALLBACK_ONLY',
] as const satisfies readonly Exclusion[];
const REASONS = ['CHEAPEST', 'EXPLORATION', 'PROBE', 'REQUESTED', 'LAST_RESORT'] as const satisfies readonly RouteReason[];

export const orderRouting = z
  .strictObject({
    candidates: z
      .array(
        z.strictObject({
          channel: z.string(),
          score: z.number().meta({ description: 'expected cost in the order\'s minor units: fee + (1 − successRate) × the failure penalty' }),
          feeMinor: z.number().int().meta({ description: 'the fee for this order, rounded half up to the minor unit' }),
          successRate: z.number().meta({ description: 'recent create attempts that opened the payment, with a prior for new accounts' }),
          excludedBecause: z.enum(EXCLUSIONS).optional().meta({ description: 'why the account was not tried' }),
        }),
      )
      .meta({ description: 'every account considered: the ones tried first, in the order tried, then the others' }),
    chosen: z.string().meta({ description: "the router's choice (the first account tried)" }),
    reason: z
      .enum(REASONS)
      .optional()
      .meta({ description: 'cheapest expected cost, exploration share, half-open probe, the game named it, or every account that could take it was cut off by its breaker' }),
    failedOver: z.array(z.string()).optional().meta({ description: 'accounts that failed to open the payment, in the order tried' }),
    attempts: z
      .array(
        z.strictObject({
          attempt: z.number().int(),
          channel: z.string(),
          outcome: z.enum(['OPENED', 'FAILED', 'TIMED_OUT', 'CLOSED_LATE']),
          at: timestamp,
          error: z.string().optional(),
        }),
      )
      .meta({ description: 'each attempt to open the payment (CLOSED_LATE: it opened after the order moved on, and was closed)' }),
  })
  .meta({ id: 'OrderRouting', description: 'how the channel was chosen (orders created since routing)' });

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
    bonusGrants: z.array(grant).optional().meta({ description: 'the first-purchase bonus this order claimed' }),
    history: z.array(z.strictObject({ status: orderStatus, at: timestamp, reason: z.string().optional() })),
    routing: orderRouting.optional(),
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
        routing: {
          candidates: [
            { channel: 'sandbox-cn', score: 7, feeMinor: 7, successRate: 1 },
            { channel: 'sandbox', score: 19.26, feeMinor: 0, successRate: 0.9839 },
            { channel: 'wechat-main', score: 7, feeMinor: 7, successRate: 1, excludedBecause: 'BREAKER_OPEN' },
          ],
          chosen: 'sandbox-cn',
          reason: 'CHEAPEST',
          failedOver: ['sandbox-cn'],
          attempts: [
            { attempt: 1, channel: 'sandbox-cn', outcome: 'FAILED', at: '2026-11-30T08:00:00.021Z', error: 'sandbox create payment: HTTP 503' },
            { attempt: 2, channel: 'sandbox', outcome: 'OPENED', at: '2026-11-30T08:00:00.048Z' },
          ],
        },
      },
    ],
  });

