import { randomBytes } from 'node:crypto';
import { Router, type ErrorRequestHandler } from 'express';
import { z } from 'zod';
import { currencyExponent } from '../channels/amounts';
import { isCalendarDate } from '../domain/reconciliation/days';
import { FEE_RATES_BASIS_POINTS } from '../domain/reconciliation/fees';
import { CURRENCY_PATTERN, MAX_ORDER_AMOUNT } from '../domain/money';
import type { Database } from '../infra/db';
import {
  ADJUSTMENT_KINDS,
  paySilently,
  paymentStatus,
  plantForeignPayment,
  plantPaymentAdjustment,
  sandboxCurrencies,
  writeSandboxStatement,
  type PlantedAdjustment,
} from '../store/sandbox-statements';

/**
 * The sandbox provider's daily statements: its payments, refunds and fees of one calendar day (in
 * its time zone) as a CSV in the shape of WeChat Pay's trade bill — every cell starts with a backtick,
 * amounts are decimals in the currency's unit, a summary follows the lines — and the differences
 * tests and demos plant in them. The fee is 0.60% of every line (a refund returns its share).
 */
export const SANDBOX_FEE_RATE_BASIS_POINTS = FEE_RATES_BASIS_POINTS.sandbox!;

const channelId = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._:-]{0,63}$/, 'a channel account id');
const paymentId = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'a sandbox payment id');
export const statementDate = z.string().refine(isCalendarDate, 'a calendar date, YYYY-MM-DD').meta({ examples: ['2026-11-01'] });
export const statementQuery = z.object({ channelId: channelId.optional().meta({ examples: ['sandbox'] }) });

const minor = z.number().int().min(0).max(MAX_ORDER_AMOUNT);
export const adjustmentBody = z
  .strictObject({
    kind: z.enum(ADJUSTMENT_KINDS),
    channelPaymentId: paymentId.optional(),
    amount: minor.optional().meta({ description: 'AMOUNT: the statement\'s amount; EXTRA without a payment: what was taken (minor units)' }),
    fee: minor.optional().meta({ description: 'FEE: the statement\'s fee (minor units); EXTRA: its fee' }),
    currency: z.string().regex(CURRENCY_PATTERN).optional().meta({ description: 'EXTRA without a payment: its currency (CNY when absent)' }),
    channelId: channelId.optional().meta({ description: "EXTRA without a payment: the account whose statement lists it (every account's when absent)" }),
  })
  .superRefine((a, ctx) => {
    const need = (field: 'channelPaymentId' | 'amount' | 'fee', why: string) => {
      if (a[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${a.kind} needs ${field}: ${why}` });
    };
    if (a.kind !== 'EXTRA') need('channelPaymentId', 'the payment whose line changes');
    if (a.kind === 'AMOUNT') need('amount', 'the amount the statement shows');
    if (a.kind === 'FEE') need('fee', 'the fee the statement shows');
    if (a.kind === 'EXTRA' && a.channelPaymentId === undefined) need('amount', 'what the foreign payment took');
  })
  .meta({
    examples: [
      { kind: 'DROP', channelPaymentId: 'sbx_9a7c3e1f5b2d4c6e8a0b1c2d' },
      { kind: 'AMOUNT', channelPaymentId: 'sbx_9a7c3e1f5b2d4c6e8a0b1c2d', amount: 500 },
      { kind: 'FEE', channelPaymentId: 'sbx_9a7c3e1f5b2d4c6e8a0b1c2d', fee: 9 },
      { kind: 'EXTRA', amount: 600, currency: 'CNY', channelId: 'sandbox' },
      { kind: 'EXTRA', channelPaymentId: 'sbx_9a7c3e1f5b2d4c6e8a0b1c2d' },
      { kind: 'MOVE_TO_NEXT_DAY', channelPaymentId: 'sbx_9a7c3e1f5b2d4c6e8a0b1c2d' },
      { kind: 'STATUS', channelPaymentId: 'sbx_9a7c3e1f5b2d4c6e8a0b1c2d' },
    ],
  });
export type AdjustmentBody = z.infer<typeof adjustmentBody>;

export const adjustmentView = z.strictObject({
  id: z.string(),
  statementDate: z.string(),
  kind: z.enum(ADJUSTMENT_KINDS),
  channelPaymentId: z.string().optional(),
  channelTradeNo: z.string().optional().meta({ description: 'the trade number the statement lists (EXTRA)' }),
  channelId: z.string().optional(),
  amount: z.number().int().optional(),
  fee: z.number().int().optional(),
  currency: z.string().optional(),
});

class StatementError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Mounted at /sandbox/statements (the sandbox router parses JSON bodies before it). */
export function statementsRouter({ database, timeZone }: { database: Database; timeZone: string }): Router {
  const router = Router();
  const parse = <T extends z.ZodType>(schema: T, value: unknown): z.infer<T> => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`);
      throw new StatementError(400, 'VALIDATION_ERROR', issues.join('; '));
    }
    return parsed.data;
  };

  router.get('/:date', async (req, res) => {
    const date = parse(statementDate, req.params.date);
    const { channelId: account } = parse(statementQuery, req.query);
    const currencies = await sandboxCurrencies(database.sql);
    const exponents = Object.fromEntries(currencies.map((c) => [c, currencyExponent(c)]).filter(([, e]) => e !== 2));
    res.status(200).type('text/csv; charset=utf-8').set('Cache-Control', 'no-store');
    const scope = { date, timeZone, channelId: account, feeRateBasisPoints: SANDBOX_FEE_RATE_BASIS_POINTS, exponents };
    try {
      await writeSandboxStatement(database, scope, res);
    } catch (err) {
      // Once lines went out, an error can only cut the statement short: its reader sees no summary.
      if (!res.headersSent) throw err;
      res.destroy();
    }
  });

  router.post('/:date/adjustments', async (req, res) => {
    const date = parse(statementDate, req.params.date);
    const body = parse(adjustmentBody, req.body ?? {});
    res.status(201).json(view(await plant(database, timeZone, date, body)));
  });

  const errors: ErrorRequestHandler = (err, _req, res, next) => {
    if (!(err instanceof StatementError)) return next(err);
    res.status(err.status).json({ error: { code: err.code, message: err.message } });
  };
  router.use(errors);
  return router;
}

const PAYABLE = ['CREATED', 'FAILED', 'CLOSED'];

async function plant(database: Database, timeZone: string, date: string, a: AdjustmentBody): Promise<PlantedAdjustment> {
  const run = database.sql;
  if (a.kind === 'EXTRA' && a.channelPaymentId === undefined) {
    const tradeNo = `sbxtxn_${randomBytes(12).toString('hex')}`;
    const amount = { currency: a.currency ?? 'CNY', value: a.amount! };
    return plantForeignPayment(run, { date, tradeNo, amount, fee: a.fee, channelId: a.channelId });
  }
  const id = a.channelPaymentId!;
  const status = await paymentStatus(run, id);
  if (!status) throw new StatementError(404, 'PAYMENT_NOT_FOUND', `no sandbox payment ${id}`);
  if (a.kind === 'EXTRA') {
    if (!PAYABLE.includes(status)) throw new StatementError(409, 'PAYMENT_ALREADY_PAID', `payment ${id} is ${status}: it is listed already`);
    await paySilently(run, { paymentId: id, date, timeZone, txnId: `sbxtxn_${randomBytes(12).toString('hex')}` });
    return plantPaymentAdjustment(run, { date, kind: 'EXTRA', paymentId: id });
  }
  if (PAYABLE.includes(status)) throw new StatementError(409, 'PAYMENT_NOT_LISTED', `payment ${id} is ${status}: no statement lists it`);
  return plantPaymentAdjustment(run, { date, kind: a.kind, paymentId: id, amount: a.amount, fee: a.fee });
}

function view(a: PlantedAdjustment): z.infer<typeof adjustmentView> {
  return {
    id: a.id,
    statementDate: a.statementDate,
    kind: a.kind,
    ...(a.paymentId !== null && { channelPaymentId: a.paymentId }),
    ...(a.tradeNo !== null && { channelTradeNo: a.tradeNo }),
    ...(a.channelId !== null && { channelId: a.channelId }),
    ...(a.amount !== null && { amount: a.amount }),
    ...(a.fee !== null && { fee: a.fee }),
    ...(a.currency !== null && { currency: a.currency }),
  };
}
