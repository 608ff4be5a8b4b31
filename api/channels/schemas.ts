import { z } from 'zod';
import { CHANNEL_TYPES, PLATFORMS } from '../../channels/types';
import { ANY_REGION } from '../../domain/catalog/pricing';
import { MAX_ORDER_AMOUNT } from '../../domain/money';
import { DEFAULT_ROUTING } from '../../domain/routing/fields';
import { currency, minorUnits, region, slug, text, timestamp } from '../shared/schemas';

export const channelIdPath = slug(64).meta({
  description: 'the channel account: orders name it as `channel`, its notifications arrive at /v1/callbacks/{channelId}',
  examples: ['wechat-main'],
});

const distinct = <T>(items: T[]) => new Set(items).size === items.length;

/** Where an account may take payments and what it costs; every field has a default (see docs/routing.md). */
export const routingFields = z
  .strictObject({
    platforms: z
      .array(z.enum(PLATFORMS))
      .min(1)
      .refine(distinct, 'each platform once')
      .optional()
      .meta({ description: `where payers pay; default: all (${PLATFORMS.join(', ')})` }),
    regions: z
      .array(z.union([region, z.literal(ANY_REGION)]))
      .min(1)
      .max(300)
      .refine(distinct, 'each region once')
      .optional()
      .meta({ description: `ISO 3166-1 alpha-2 codes, or "${ANY_REGION}" for every region (the default)` }),
    currencies: z
      .array(currency)
      .min(1)
      .max(200)
      .refine(distinct, 'each currency once')
      .optional()
      .meta({ description: 'ISO 4217 codes the account takes; default: every currency' }),
    feeRateBps: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .optional()
      .meta({ description: `percentage fee in basis points (60 = 0.60%), rounded half up to the minor unit; default ${DEFAULT_ROUTING.feeRateBps}` }),
    fixedFee: z
      .strictObject({ currency, value: z.number().int().min(0).max(MAX_ORDER_AMOUNT).meta({ description: minorUnits }) })
      .optional()
      .meta({ description: 'a fee per payment on top; an account with one takes only its currency' }),
    priority: z
      .number()
      .int()
      .min(-1_000)
      .max(1_000)
      .optional()
      .meta({ description: `higher wins between accounts of equal expected cost; default ${DEFAULT_ROUTING.priority}` }),
    weight: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .optional()
      .meta({
        description:
          `share of the orders between accounts of equal cost and priority, relative to each other; default ${DEFAULT_ROUTING.weight}: ` +
          'no share, such accounts follow the weighted ones in configuration order',
      }),
  })
  .refine((r) => !r.fixedFee || !r.currencies || (r.currencies.length === 1 && r.currencies[0] === r.fixedFee.currency), {
    path: ['currencies'],
    message: 'an account with a fixed fee takes only the fixed fee\'s currency',
  })
  .meta({ id: 'ChannelRouting', examples: [{ platforms: ['android', 'web'], regions: ['CN'], currencies: ['CNY'], feeRateBps: 60 }] });

/** Sandbox accounts only: the faults they inject (see channels/sandbox/adapter.ts). */
export const SANDBOX_FAULT_SETTINGS = ['failCreateRate', 'createLatencyMs', 'declineRate'] as const;

export const channelAccountBody = z
  .strictObject({
    type: z.enum(CHANNEL_TYPES),
    enabled: z.boolean(),
    displayName: text(200).optional(),
    credentials: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({
        description:
          'Write-only: validated for the type, stored encrypted, never returned or logged; replaced only when present. ' +
          'The fields per type are listed in docs/channels.md. Sandbox accounts also take fault settings for demos and ' +
          'tests: `failCreateRate` (0..1, creates that fail as an outage would), `createLatencyMs`, `declineRate` (0..1, ' +
          'payments the provider declines).',
      }),
    routing: routingFields
      .nullable()
      .optional()
      .meta({ description: 'replaced only when present; null: back to the defaults (every platform, region and currency, no fee)' }),
  })
  .meta({
    id: 'ChannelAccountUpsert',
    examples: [
      { type: 'sandbox', enabled: true, displayName: 'Sandbox (development)' },
      {
        type: 'sandbox',
        enabled: true,
        displayName: 'Sandbox, second merchant (fails every create: a failover demo)',
        credentials: { failCreateRate: 1, createLatencyMs: 50 },
        routing: { platforms: ['android', 'web', 'pc'], regions: ['CN', 'HK'], currencies: ['CNY'], feeRateBps: 55, priority: 1 },
      },
      {
        type: 'wechatpay',
        enabled: true,
        displayName: 'WeChat Pay, main merchant',
        credentials: {
          mchId: '1900000109',
          appId: 'wxd678efh567hg6787',
          apiV3Key: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
          merchantPrivateKey: '-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----',
          merchantSerialNo: '1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C',
          platformPublicKeys: [{ id: 'PUB_KEY_ID_0114232134912410000000000001', pem: '-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----' }],
        },
      },
    ],
  });

export const channelAccountView = z
  .strictObject({
    channelId: z.string(),
    type: z.enum(CHANNEL_TYPES),
    enabled: z.boolean(),
    displayName: z.string().optional(),
    builtIn: z
      .literal(true)
      .optional()
      .meta({
        description:
          'the implicit sandbox account (SANDBOX_ENABLED, not stored): it takes an order only when no configured account can; ' +
          'configuring an account named `sandbox` replaces it',
      }),
    hasCredentials: z.boolean().meta({ description: 'credentials are stored (they are never returned)' }),
    routing: z
      .strictObject({
        platforms: z.array(z.enum(PLATFORMS)),
        regions: z.array(z.string()),
        currencies: z.array(z.string()).optional().meta({ description: 'absent: every currency' }),
        feeRateBps: z.number().int(),
        fixedFee: z.strictObject({ currency: z.string(), value: z.number().int() }).optional(),
        priority: z.number().int(),
        weight: z.number().int(),
      })
      .optional()
      .meta({ description: 'the routing fields in force, omitted ones at their defaults; absent: none configured (every platform, region and currency, no fee)' }),
    updatedAt: timestamp.optional().meta({ description: 'absent for the built-in account' }),
  })
  .meta({ id: 'ChannelAccount' });

export const channelAccountsResponse = z.strictObject({ channels: z.array(channelAccountView) });

const breakerState = z.enum(['CLOSED', 'OPEN', 'HALF_OPEN']);

export const channelHealthResponse = z
  .strictObject({
    backend: z.enum(['postgresql', 'redis']).meta({ description: 'where the shared state lives (Redis when REDIS_URL is set)' }),
    checkedAt: timestamp,
    channels: z.array(
      z.strictObject({
        channelId: z.string(),
        type: z.enum(CHANNEL_TYPES).optional().meta({ description: 'absent for an account no longer configured' }),
        enabled: z.boolean().optional(),
        state: breakerState.meta({ description: 'the circuit breaker: OPEN accounts get no new orders; HALF_OPEN ones get a few probes' }),
        stateChangedAt: timestamp.optional().meta({ description: 'when the breaker last changed state' }),
        consecutiveFailures: z.number().int(),
        calls: z.number().int().meta({ description: "calls to the account's API (create, query, close, refund) in the breaker's window" }),
        failures: z.number().int().meta({ description: 'of which technical failures (errors, timeouts; not refusals or declines)' }),
        successRate: z.number().optional().meta({ description: 'share of the window\'s calls without a technical failure' }),
        createLatencyP95Ms: z.number().int().optional().meta({ description: 'p95 of the routing window\'s create calls' }),
        creates: z
          .strictObject({ attempts: z.number().int(), successes: z.number().int(), successRate: z.number() })
          .meta({ description: 'the routing window (the last N creates within T) and the success rate routing uses (with its prior)' }),
      }),
    ),
  })
  .meta({
    id: 'ChannelHealth',
    examples: [
      {
        backend: 'postgresql',
        checkedAt: '2026-11-30T08:00:00.000Z',
        channels: [
          {
            channelId: 'sandbox',
            type: 'sandbox',
            enabled: true,
            state: 'CLOSED',
            consecutiveFailures: 0,
            calls: 412,
            failures: 0,
            successRate: 1,
            createLatencyP95Ms: 14,
            creates: { attempts: 100, successes: 100, successRate: 1 },
          },
          {
            channelId: 'sandbox-backup',
            type: 'sandbox',
            enabled: true,
            state: 'OPEN',
            stateChangedAt: '2026-11-30T07:59:48.120Z',
            consecutiveFailures: 5,
            calls: 5,
            failures: 5,
            successRate: 0,
            createLatencyP95Ms: 3,
            creates: { attempts: 37, successes: 32, successRate: 0.8936 },
          },
        ],
      },
    ],
  });
