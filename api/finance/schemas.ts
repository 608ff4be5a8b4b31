import { z } from 'zod';
import { parseAccount } from '../../domain/ledger/accounts';
import { LEDGER_EVENT_KINDS } from '../../domain/ledger/events';
import { DIFFERENCE_KINDS, RESOLUTIONS } from '../../domain/reconciliation/differences';
import { isCalendarDate } from '../../domain/reconciliation/days';
import { DEMO_GAME_ID } from '../shared/demo-catalog';
import { rangeBound } from '../shared/ranges';
import { currency, slug, text, timestamp } from '../shared/schemas';

// Finance: the ledger, reconciliation runs and their differences, reports (admin token).

export const MAX_RECONCILIATION_DAYS = 92;
export const MAX_REPORT_DAYS = 731;

export const calendarDate = z.string().refine(isCalendarDate, 'a calendar date, YYYY-MM-DD');
const runId = z.uuid().meta({ examples: ['0f8e3c1a-7b2d-4c5e-9a6f-1b2c3d4e5f60'] });
const channelId = slug(64).meta({ examples: ['sandbox'] });

export const operatorHeader = text(128).trim().min(1).meta({ description: 'who acts, for the record', examples: ['finance@studio.example'] });
export const optionalOperatorHeader = operatorHeader.optional().meta({ description: 'who asked, for the record', examples: ['finance@studio.example'] });

// ---- Ledger ------------------------------------------------------------------------------------------

export const trialBalanceQuery = z.object({
  currency: currency.optional().meta({ examples: ['CNY'] }),
  at: timestamp.optional().meta({ description: 'entries effective up to this instant (default: all)', examples: ['2026-11-30T16:00:00.000Z'] }),
});

const minor = z.number().int().meta({ description: 'minor units' });
export const trialBalanceResponse = z.strictObject({
  currency: z.string().optional(),
  at: z.string().optional(),
  accounts: z.array(
    z.strictObject({
      account: z.string(),
      currency: z.string(),
      debits: minor,
      credits: minor,
      balance: minor.meta({ description: 'debits − credits' }),
    }),
  ),
  totals: z.array(z.strictObject({ currency: z.string(), debits: minor, credits: minor })).meta({
    description: 'per currency: debits always equal credits',
  }),
});

export const accountPath = z
  .string()
  .refine((v) => parseAccount(v) !== undefined, 'an account: <kind>:<owner> (e.g. revenue:demo-game) or suspense')
  .meta({ examples: ['channel_clearing:sandbox', `revenue:${DEMO_GAME_ID}`, 'suspense'] });

export const pageQuery = {
  after: z.string().regex(/^\d{1,18}$/, 'the `nextAfter` of the previous page').optional().meta({ examples: ['1042'] }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ examples: [100] }),
};

export const accountEntriesQuery = z.object({
  from: rangeBound.optional().meta({ examples: ['2026-11-01', '2026-11-01T00:00:00+08:00'] }),
  to: rangeBound.optional().meta({ examples: ['2026-11-30', '2026-12-01T00:00:00+08:00'] }),
  ...pageQuery,
});

const posting = z.strictObject({ account: z.string(), currency: z.string(), amount: minor.meta({ description: 'debit > 0, credit < 0' }) });
export const accountEntriesResponse = z.strictObject({
  account: z.string(),
  entries: z.array(
    z.strictObject({
      id: z.string(),
      eventId: z.string(),
      kind: z.enum(LEDGER_EVENT_KINDS),
      orderId: z.string().optional(),
      reference: z.string().optional(),
      memo: z.string().optional(),
      effectiveAt: timestamp,
      recordedAt: timestamp,
      currency: z.string(),
      amount: minor.meta({ description: "this account's posting: debit > 0, credit < 0" }),
      postings: z.array(posting),
    }),
  ),
  page: z.strictObject({ nextAfter: z.string().optional() }),
});

// ---- Reconciliation ----------------------------------------------------------------------------------

export const reconciliationRequest = z
  .strictObject({
    channel: channelId,
    from: rangeBound,
    to: rangeBound,
  })
  .meta({ id: 'ReconciliationRequest', examples: [{ channel: 'sandbox', from: '2026-11-01', to: '2026-11-07' }] });

const runStatus = z.enum(['RUNNING', 'COMPLETED', 'FAILED']);
const runRef = z.strictObject({ id: z.string(), channel: z.string(), date: z.string(), status: runStatus });
export const reconciliationStarted = z.strictObject({ runs: z.array(runRef) });

export const runsQuery = z.object({
  channel: channelId.optional().meta({ examples: ['sandbox'] }),
  date: calendarDate.optional().meta({ examples: ['2026-11-01'] }),
  from: calendarDate.optional().meta({ description: 'statement days from (inclusive)', examples: ['2026-11-01'] }),
  to: calendarDate.optional().meta({ description: 'statement days to (inclusive)', examples: ['2026-11-30'] }),
  limit: z.coerce.number().int().min(1).max(500).default(50).meta({ examples: [50] }),
});

const countsByKind = z.record(z.string(), z.number().int());
export const runView = runRef.extend({
  trigger: z.enum(['SCHEDULE', 'API']),
  requestedBy: z.string().optional(),
  timeZone: z.string(),
  superseded: z.boolean().meta({ description: 'a later run of the same day stands instead (this one is history)' }),
  supersededBy: z.string().optional(),
  progress: z.strictObject({ rowsRead: z.number().int(), rowsMatched: z.number().int() }),
  summary: z
    .strictObject({
      statementRows: z.number().int(),
      platformRows: z.number().int(),
      matched: z.number().int(),
      differences: countsByKind.meta({ description: 'by kind' }),
      resolutions: countsByKind.meta({ description: 'by resolution' }),
    })
    .optional(),
  error: z.string().optional(),
  createdAt: timestamp,
  startedAt: timestamp.optional(),
  finishedAt: timestamp.optional(),
});
export const runsResponse = z.strictObject({ runs: z.array(runView) });

export const runPath = runId;
export const runQuery = z.object({
  kind: z.enum(DIFFERENCE_KINDS).optional().meta({ examples: ['MISSING_IN_PLATFORM'] }),
  resolution: z.enum(RESOLUTIONS).optional().meta({ examples: ['OPEN'] }),
  ...pageQuery,
});

export const differenceView = z.strictObject({
  id: z.string(),
  runId: z.string(),
  kind: z.enum(DIFFERENCE_KINDS),
  reason: z.string(),
  resolution: z.enum(RESOLUTIONS),
  resolvable: z.boolean().meta({ description: 'a person may resolve it now (open, or held for the next day)' }),
  side: z.enum(['PAYMENT', 'REFUND', 'GRANT']),
  channelTradeNo: z.string().optional(),
  orderId: z.string().optional(),
  refundId: z.string().optional(),
  ours: z.strictObject({ currency: z.string(), value: minor }).optional().meta({ description: 'our books (FEE_MISMATCH: the contracted fee)' }),
  theirs: z.strictObject({ currency: z.string(), value: minor }).optional().meta({ description: "the channel's statement" }),
  detail: z.string().optional(),
  repair: z.string().optional().meta({ description: 'what the run did about it by itself' }),
  note: z.string().optional(),
  resolvedBy: z.string().optional(),
  resolvedAt: timestamp.optional(),
  recheckedBy: z.string().optional().meta({ description: 'the next day\'s run that settled a held difference' }),
});
export const runResponse = runView.extend({
  differences: z.array(differenceView),
  page: z.strictObject({ nextAfter: z.string().optional() }),
});

export const differencesQuery = z.object({
  channel: channelId.optional().meta({ examples: ['sandbox'] }),
  from: calendarDate.optional().meta({ description: 'statement days from (inclusive)', examples: ['2026-11-01'] }),
  to: calendarDate.optional().meta({ description: 'statement days to (inclusive)', examples: ['2026-11-30'] }),
  kind: z.enum(DIFFERENCE_KINDS).optional().meta({ examples: ['MISSING_IN_PLATFORM'] }),
  resolution: z.enum(RESOLUTIONS).optional().meta({ examples: ['OPEN'] }),
  ...pageQuery,
});
export const differencesResponse = z.strictObject({
  differences: z.array(differenceView.extend({ channel: z.string(), date: z.string().meta({ description: 'the statement day of its run' }) })),
  page: z.strictObject({ nextAfter: z.string().optional() }),
});

export const differencePath = z.string().regex(/^\d{1,18}$/, 'a difference id').meta({ examples: ['1042'] });
export const resolveBody = z
  .strictObject({ note: text(1000).trim().min(1) })
  .meta({ id: 'ResolveDifference', examples: [{ note: 'refunded by the channel console, ticket FIN-204' }] });

// ---- Reports ---------------------------------------------------------------------------------------

const reportRange = { from: rangeBound, to: rangeBound };
const dimensions = z
  .string()
  .transform((v) => v.split(',').map((d) => d.trim()))
  .pipe(z.array(z.enum(['game', 'channel', 'region', 'currency'])).min(1).max(4));

export const revenueQuery = z
  .object({
    ...reportRange,
    groupBy: z.enum(['day', 'month']).default('day').meta({ examples: ['month'] }),
    by: dimensions.optional().meta({ description: 'comma-separated: game, channel, region, currency (amounts are always per currency)', examples: ['game,channel'] }),
    format: z.enum(['json', 'csv']).default('json').meta({ examples: ['json'] }),
    game: slug(64).optional().meta({ description: 'only this game', examples: [DEMO_GAME_ID] }),
    channel: channelId.optional().meta({ description: 'only this channel account', examples: ['sandbox'] }),
    currency: currency.optional().meta({ description: 'only this currency', examples: ['CNY'] }),
  });

const revenueRow = z.strictObject({
  period: z.string().meta({ description: 'YYYY-MM-DD or YYYY-MM' }),
  game: z.string().optional(),
  channel: z.string().optional(),
  region: z.string().optional(),
  currency: z.string(),
  ordersPaid: z.number().int(),
  paid: minor.meta({ description: 'what payers paid' }),
  delivered: z.number().int(),
  revenue: minor.meta({ description: 'earned: paid and delivered' }),
  refunds: z.number().int(),
  refunded: minor,
  chargebacks: z.number().int(),
  chargedBack: minor,
});
const coverage = z.array(z.strictObject({ channel: z.string(), days: z.number().int() })).meta({
  description: 'days of the range each channel account is rolled up for (a day appears once its reconciliation ran)',
});
export const revenueResponse = z.strictObject({
  from: z.string(),
  to: z.string(),
  timeZone: z.string().meta({ description: 'the business days are days of this zone (`RECON_TIME_ZONE`)', examples: ['Asia/Shanghai'] }),
  groupBy: z.enum(['day', 'month']),
  by: z.array(z.string()),
  rows: z.array(revenueRow),
  coverage,
  notRolledUp: z.array(z.string()).meta({ description: 'days of the range no channel account is rolled up for yet: their figures are missing, not zero' }),
});

export const channelsReportQuery = z.object({
  ...reportRange,
  groupBy: z.enum(['day', 'month']).optional().meta({ description: 'adds `periods`: orders placed and paid per account and period', examples: ['month'] }),
  format: z.enum(['json', 'csv']).default('json').meta({ description: 'csv: the periods with `groupBy`, else the amounts per account and currency', examples: ['csv'] }),
});
const channelPeriod = z.strictObject({
  period: z.string().meta({ description: 'YYYY-MM-DD or YYYY-MM' }),
  channel: z.string(),
  ordersCreated: z.number().int(),
  ordersPaid: z.number().int(),
  successRate: z.number().min(0).max(1),
});
export const channelsReportResponse = z.strictObject({
  from: z.string(),
  to: z.string(),
  groupBy: z.enum(['day', 'month']).optional(),
  periods: z.array(channelPeriod).optional(),
  channels: z.array(
    z.strictObject({
      channel: z.string(),
      ordersCreated: z.number().int(),
      ordersPaid: z.number().int(),
      successRate: z.number().min(0).max(1).meta({ description: 'paid / created (0 without orders)' }),
      refunds: z.number().int(),
      chargebacks: z.number().int(),
      amounts: z.array(
        z.strictObject({ currency: z.string(), paid: minor, refunded: minor, chargedBack: minor, fees: minor }),
      ),
    }),
  ),
  coverage,
});
