import { z } from 'zod';
import { MINOR_BANDS } from '../../domain/risk/minor-caps';
import { BLACKLIST_KINDS, RULE_KINDS, WINDOW_SUBJECTS } from '../../domain/risk/rules';
import { currency, minorUnits, region, slug, text, timestamp } from '../shared/schemas';

// Risk administration: rules as data (one params schema per kind) and the blacklist.

/** A threshold: an amount in minor units of one currency. */
const threshold = z
  .strictObject({ currency, value: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: minorUnits }) })
  .meta({ examples: [{ currency: 'CNY', value: 500_000 }] });
const seconds = z.number().int().min(1).max(366 * 86_400).meta({ description: 'seconds' });
const count = z.number().int().min(1).max(1_000_000);

export const ruleParams = {
  VELOCITY: z.strictObject({
    subject: z.enum(WINDOW_SUBJECTS).meta({ description: 'USER, DEVICE, IP or SUBNET (IPv4 /24, IPv6 /48)' }),
    metric: z.enum(['ORDERS', 'AMOUNT']),
    windowSeconds: seconds,
    max: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'orders, or minor units for AMOUNT; hit when exceeded' }),
    currency: currency.optional().meta({ description: 'AMOUNT: the currency summed (other orders are not counted against it)' }),
  }),
  AMOUNT_ANOMALY: z.strictObject({
    multipleOfAverage: z.number().int().min(1).max(1000),
    minPaidOrders: count,
    firstPurchaseMax: threshold,
  }),
  NEW_DEVICE_HIGH_VALUE: z.strictObject({ amount: threshold, deviceAgeSeconds: seconds }),
  SHARED_DEVICE: z.strictObject({ windowSeconds: seconds, maxUsers: count }),
  SHARED_IP: z.strictObject({ windowSeconds: seconds, maxUsers: count }),
  PAYMENT_FAILURES: z.strictObject({ windowSeconds: seconds, max: count }),
  AML_SINGLE: z.strictObject({ amount: threshold }),
  AML_DAILY: z.strictObject({ amount: threshold }),
} satisfies Record<(typeof RULE_KINDS)[number], z.ZodType>;

export const ruleIdPath = slug(64).meta({ examples: ['velocity-user-10m'] });

const ruleFields = {
  action: z.enum(['REVIEW', 'DENY']),
  enabled: z.boolean(),
  gameId: slug(64).optional().meta({ description: 'the one game it applies to; absent: every game' }),
};

/** A rule as written: its params are checked against its kind (a VELOCITY's params for a VELOCITY). */
export const ruleBody = z
  .discriminatedUnion(
    'kind',
    RULE_KINDS.map((kind) => z.strictObject({ kind: z.literal(kind), params: ruleParams[kind], ...ruleFields })) as unknown as [
      z.ZodObject,
      ...z.ZodObject[],
    ],
  )
  .meta({
    id: 'RiskRuleUpsert',
    examples: [{ kind: 'VELOCITY', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 10 }, action: 'REVIEW', enabled: true }],
  });

export const ruleResponse = z
  .strictObject({ ruleId: z.string(), kind: z.enum(RULE_KINDS), params: z.record(z.string(), z.unknown()), ...ruleFields })
  .meta({ id: 'RiskRule' });
export const rulesResponse = z.strictObject({ rules: z.array(ruleResponse) });

export const amlReportQuery = z.strictObject({
  from: timestamp.meta({ description: 'ISO 8601 instant, included', examples: ['2026-12-01T00:00:00Z'] }),
  to: timestamp.meta({ description: 'ISO 8601 instant, left out; at most 366 days after `from`', examples: ['2027-01-01T00:00:00Z'] }),
  format: z.enum(['json', 'csv']).default('json').meta({ examples: ['json'] }),
});
export const amlReportRow = z.strictObject({
  orderId: z.string(),
  gameId: z.string(),
  userId: z.string(),
  amount: z.strictObject({ currency: z.string(), value: z.number().int() }),
  ruleId: z.string(),
  kind: z.enum(['AML_SINGLE', 'AML_DAILY']),
  decision: z.enum(['ALLOW', 'REVIEW', 'DENY']),
  operatorDecision: z.enum(['APPROVE', 'DENY']).optional(),
  decidedAt: timestamp,
});
export const amlReportResponse = z.strictObject({ reports: z.array(amlReportRow) });
/** The longest range one AML report covers. */
export const MAX_AML_REPORT_DAYS = 366;

export const blacklistKind = z.enum(BLACKLIST_KINDS).meta({ examples: ['USER'] });
/** A user id, device id, IP address or CIDR block (its slash URL-encoded) to block (path parameter). */
export const blacklistValue = text(256).min(1).meta({ examples: ['player-66666'] });
export const blacklistBody = z
  .strictObject({
    reason: text(500).optional(),
    expiresAt: timestamp.optional().meta({ description: 'denies no more from then on; must lie in the future' }),
  })
  .meta({ id: 'BlacklistEntryUpsert', examples: [{ reason: 'chargeback fraud, ticket RISK-1042' }] });
export const blacklistEntry = z
  .strictObject({ kind: blacklistKind, value: z.string(), reason: z.string().optional(), expiresAt: timestamp.optional() })
  .meta({ id: 'BlacklistEntry' });
export const blacklistList = z.strictObject({ entries: z.array(blacklistEntry.extend({ createdAt: timestamp })) });

// ---- Minors' spending caps ----------------------------------------------------------------------------

export const capRegionPath = region.meta({ description: 'ISO 3166-1 alpha-2 region', examples: ['CN'] });
const capAmount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ description: minorUnits });
const bandCap = z.strictObject({ perPurchase: capAmount, monthly: capAmount });
export const minorCapsBody = z
  .strictObject({
    currency,
    bands: z.partialRecord(z.enum(MINOR_BANDS), bandCap).meta({ description: 'per minor band; a band left out has no cap (0 and 0: no purchases)' }),
  })
  .meta({
    id: 'MinorCaps',
    examples: [{ currency: 'CNY', bands: { UNDER_8: { perPurchase: 0, monthly: 0 }, '8_TO_15': { perPurchase: 5000, monthly: 20000 }, '16_TO_17': { perPurchase: 10000, monthly: 40000 } } }],
  });
export const minorCapsResponse = z.strictObject({ region: z.string(), currency: z.string(), bands: z.partialRecord(z.enum(MINOR_BANDS), bandCap) });
export const minorCapsList = z.strictObject({
  caps: z.array(minorCapsResponse.extend({ builtIn: z.boolean().meta({ description: 'the built-in caps (no operator set this region)' }) })),
});
