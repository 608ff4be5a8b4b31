import { z } from 'zod';
import { DEMO_GAME_ID } from '../shared/demo-catalog';
import { ORDER_STATUSES } from '../../domain/orders/status';
import { orderView } from '../orders/schemas';
import { currency, money, orderStatus, slug, text, timestamp } from '../shared/schemas';

/** Ten years: older than any order the books keep online. */
const MAX_AGE_SECONDS = 10 * 366 * 24 * 3600;

/** Operations: finding stuck orders and acting on them (admin token plus the operator's identity). */
export const operatorHeader = text(128)
  .trim()
  .min(1)
  .meta({ description: 'who acts, for the audit trail', examples: ['alice@studio.example'] });
/** Reads record nobody: optional there (a console sign-in is its own operator). */
export const optionalOperatorHeader = operatorHeader.optional().meta({ description: 'who asks (optional on reads)', examples: ['alice@studio.example'] });

export const opsOrdersQuery = z.object({
  status: z.enum(ORDER_STATUSES).optional().meta({ examples: ['DELIVERING'] }),
  olderThanSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_AGE_SECONDS)
    .optional()
    .meta({ description: 'only orders unchanged for at least this long', examples: [600] }),
  gameId: slug(64).optional().meta({ examples: [DEMO_GAME_ID] }),
  sort: z
    .enum(['updated', 'newest'])
    .optional()
    .meta({
      description: '`updated`: least recently changed first (the default); `newest`: newest first, keyset paged (the default with any search filter)',
      examples: ['newest'],
    }),
  q: text(128)
    .trim()
    .min(1)
    .optional()
    .meta({ description: 'an order id, user id, channel payment id or trade number: the orders it names, newest first', examples: ['player-10086'] }),
  userId: text(128).trim().min(1).optional().meta({ examples: ['player-10086'] }),
  channel: slug(64).optional().meta({ description: 'the channel account', examples: ['sandbox'] }),
  from: timestamp.optional().meta({ description: 'created at or after', examples: ['2026-11-30T00:00:00.000Z'] }),
  to: timestamp.optional().meta({ description: 'created before', examples: ['2026-12-01T00:00:00.000Z'] }),
  after: z
    .string()
    .regex(/^\d{4}-\d\d-\d\dT[\d:.]+Z_[0-9a-f-]{36}$/, 'the `next` cursor of the previous page')
    .optional()
    .meta({
      description: 'keyset paging: the `next` of the previous page (newest-first listings)',
      examples: ['2026-11-30T08:00:00.000Z_3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b'],
    }),
  limit: z.coerce.number().int().min(1).max(500).default(100).meta({ examples: [50] }),
});

export const opsActionBody = z
  .strictObject({ reason: text(500).trim().min(1) })
  .meta({ id: 'OpsAction', examples: [{ reason: 'game server was down 14:00-15:10 UTC, ticket OPS-311' }] });

export const opsRefundBody = opsActionBody
  .extend({
    revoke: z
      .boolean()
      .optional()
      .meta({ description: 'a DELIVERED order: tell the game to take the goods back (default true)' }),
  })
  .meta({ id: 'OpsRefund', examples: [{ reason: 'player charged twice, ticket CS-8812', revoke: true }] });

export const revocationsQuery = z.object({
  status: z.enum(['PENDING', 'REVOKED', 'NO_REVOKE_URL']).optional().meta({ examples: ['NO_REVOKE_URL'] }),
  limit: z.coerce.number().int().min(1).max(500).default(100).meta({ examples: [50] }),
});

export const revocationsResponse = z.strictObject({
  revocations: z.array(
    z.strictObject({
      revocationId: z.string(),
      orderId: z.uuid(),
      reason: z.enum(['REFUND', 'CHARGEBACK', 'REVOKED']),
      status: z.enum(['PENDING', 'REVOKED', 'NO_REVOKE_URL']),
      attempts: z.number().int(),
      lastError: z.string().optional(),
      createdAt: timestamp,
      revokedAt: timestamp.optional(),
    }),
  ),
});

export const storeSweepsQuery = z.object({
  channel: slug(64).optional().meta({ description: 'one store account', examples: ['appstore'] }),
  from: timestamp.optional().meta({ description: 'runs started at or after (default: 7 days ago)', examples: ['2026-12-01T00:00:00Z'] }),
  to: timestamp.optional().meta({ description: 'runs started before (default: now)', examples: ['2026-12-08T00:00:00Z'] }),
  limit: z.coerce.number().int().min(1).max(500).default(100).meta({ examples: [50] }),
});

export const storeSweepsResponse = z.strictObject({
  sweeps: z.array(
    z.strictObject({
      sweepId: z.uuid(),
      channel: z.string(),
      pass: z.enum(['FAILURES', 'ALL', 'VOIDED']),
      windowStart: timestamp,
      windowEnd: timestamp,
      status: z.enum(['RUNNING', 'COMPLETED', 'FAILED']),
      pages: z.number().int(),
      items: z.strictObject({ seen: z.number().int(), known: z.number().int(), recovered: z.number().int(), failed: z.number().int() }),
      recoveredByKind: z.record(z.string(), z.number().int()),
      error: z.string().optional(),
      startedAt: timestamp,
      finishedAt: timestamp.optional(),
      recoveries: z.array(
        z.strictObject({
          orderId: z.uuid().optional(),
          kind: z.string(),
          dedupeKey: z.string(),
          firstTriedAt: timestamp.optional().meta({ description: "the store's first try (Apple's first attemptDate, Google's voidedTimeMillis)" }),
          recoveredAt: timestamp,
          notice: z
            .string()
            .optional()
            .meta({ description: 'what a person should know of it, e.g. a Google Play purchase refunded as never acknowledged (voidedReason 8) for an order never seen paid: its purchase notification was lost' }),
        }),
      ),
    }),
  ),
});

export const resolveBody = opsActionBody
  .extend({ action: z.enum(['DELIVER', 'REFUND']) })
  .meta({
    id: 'OpsResolve',
    examples: [{ action: 'DELIVER', reason: 'paid 1200 CNY as asked; the channel reported 12.00 as 1200.00' }],
  });

/** An operator's decision on an order held for risk review. */
export const riskDecisionBody = z
  .strictObject({ decision: z.enum(['APPROVE', 'DENY']), reason: text(500).trim().min(1) })
  .meta({ id: 'RiskReviewDecision', examples: [{ decision: 'APPROVE', reason: 'known player, card verified by phone, ticket RISK-88' }] });

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
export const opsOrdersResponse = z.strictObject({
  orders: z.array(opsOrderSummary),
  next: z.string().optional().meta({ description: 'pass as `after` for the next page (newest-first listings)' }),
});

const timelineEvent = z.strictObject({
  at: timestamp,
  kind: z.enum(['CREATED', 'ROUTING', 'PAYMENT_OPEN', 'NOTIFICATION', 'PAYMENT_RESULT', 'STATUS', 'DELIVERY', 'REFUND', 'REVOCATION', 'OPS_ACTION']),
  title: z.string(),
  detail: z.string().optional(),
  amount: money.optional(),
});

/** What risk decided about an order and why: for operators only (a game's view never names a rule). */
export const opsOrderRisk = z
  .strictObject({
    decision: z.enum(['ALLOW', 'REVIEW', 'DENY']),
    reasons: z.array(z.string()).meta({ description: 'the blacklist kinds, the built-in guard and the rule kinds that hit' }),
    hits: z.array(
      z.strictObject({
        ruleId: z.string(),
        kind: z.string(),
        action: z.enum(['REVIEW', 'DENY']),
        figures: z.record(z.string(), z.number()).meta({ description: 'the counts and amounts (minor units) the rule weighed, never an IP or a device' }),
      }),
    ),
    decidedAt: timestamp,
    operatorDecision: z
      .strictObject({ decision: z.enum(['APPROVE', 'DENY']), operator: z.string(), reason: z.string(), at: timestamp })
      .optional()
      .meta({ description: "the operator's decision on a review hold (the first one stands)" }),
  })
  .meta({
    id: 'OpsOrderRisk',
    description: 'Kept when a rule applied to the order as it was checked; absent otherwise (a blacklist, built-in guard or minor cap refusal is its `statusReason`).',
    examples: [
      {
        decision: 'REVIEW',
        reasons: ['VELOCITY'],
        hits: [{ ruleId: 'velocity-user-10m', kind: 'VELOCITY', action: 'REVIEW', figures: { orders: 11, max: 10 } }],
        decidedAt: '2026-12-07T09:30:00.000Z',
        operatorDecision: { decision: 'APPROVE', operator: 'alice', reason: 'known player, card verified by phone, ticket RISK-88', at: '2026-12-07T09:41:12.000Z' },
      },
    ],
  });

export const opsOrderStory = z
  .strictObject({
    order: opsOrderSummary.extend({
      quantity: z.number().int(),
      region: z.string(),
      paid: money.optional(),
      channelPaymentId: z.string().optional(),
      channelTradeNo: z.string().optional(),
      expiresAt: timestamp,
    }),
    risk: opsOrderRisk.optional(),
    actions: z
      .array(z.enum(['RETRY_DELIVERY', 'REFUND', 'RESOLVE', 'CLOSE']))
      .meta({ description: "the operators' actions the order's status allows now" }),
    timeline: z.array(timelineEvent).meta({ description: 'oldest first' }),
    opsActions: z.array(
      z.strictObject({ operator: z.string(), action: z.string(), reason: z.string(), outcome: z.string(), detail: z.string().optional(), at: timestamp }),
    ),
    ledger: z.array(
      z.strictObject({
        eventId: z.string(),
        kind: z.string(),
        postings: z.array(z.strictObject({ account: z.string(), currency, debit: z.number().int(), credit: z.number().int() })),
      }),
    ),
    differences: z.array(
      z.strictObject({
        differenceId: z.string(),
        runId: z.uuid(),
        kind: z.string(),
        resolution: z.string(),
        channelTradeNo: z.string().optional(),
        currency: z.string().optional(),
        ours: z.string().optional(),
        theirs: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'OpsOrderStory' });
export const opsActionResponse = z.strictObject({ accepted: z.literal(true), order: orderView });


export const stuckQuery = z.object({
  olderThanSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_AGE_SECONDS)
    .default(300)
    .meta({ description: 'only activities failing for at least this long (default 5 minutes)', examples: [60] }),
  limit: z.coerce.number().int().min(1).max(500).default(100).meta({ examples: [50] }),
});

export const stuckResponse = z.strictObject({
  stuck: z.array(
    z.strictObject({
      workflowId: z.string().meta({ description: 'the Temporal workflow (`temporal workflow show --workflow-id …`)' }),
      orderId: z.uuid().optional().meta({ description: 'the order, for purchase workflows' }),
      activity: z.string().meta({ examples: ['deliverOrder'] }),
      attempts: z.number().int(),
      failingSince: timestamp,
      lastFailedAt: timestamp,
      lastError: z.string(),
    }),
  ),
});
