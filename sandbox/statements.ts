import { randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type ErrorRequestHandler } from 'express';
import { z } from 'zod';
import { currencyExponent } from '../channels/amounts';
import { isCalendarDate } from '../domain/reconciliation/days';
import { CURRENCY_PATTERN, MAX_ORDER_AMOUNT } from '../domain/money';
import type { Database } from '../infra/db';
import {
  ADJUSTMENT_KINDS,
  paySilently,
  paymentStatus,
  plantForeignPayment,
  plantPaymentAdjustment,
  rawStatementLine,
  streamSandboxStatement,
  type PlantedAdjustment,
  type RawStatementLine,
} from '../store/sandbox-statements';

/**
 * The sandbox provider's daily statements: its payments, refunds and fees of one calendar day (in
 * its time zone) as a CSV in the shape of WeChat Pay's trade bill — every cell starts with a backtick,
 * amounts are decimals in the currency's unit, a summary follows the lines — and the differences
 * tests and demos plant in them. The fee is 0.60% of every line (a refund returns its share), WeChat
 * Pay's and Alipay's standard rate for online merchants: an account of this provider whose fees should
 * reconcile is configured with `feeRateBps: 60`.
 */
export const SANDBOX_FEE_RATE_BASIS_POINTS = 60;

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
    res.status(200).type('text/csv; charset=utf-8').set('Cache-Control', 'no-store');
    const scope = { date, timeZone, channelId: account, feeRateBasisPoints: SANDBOX_FEE_RATE_BASIS_POINTS };
    const bill = tradeBill(timeZone, account ?? 'sandbox');
    try {
      // Both awaited together: a reader that hangs up fails both, and neither failure goes unhandled.
      await Promise.all([pipeline(bill, res), streamSandboxStatement(database, scope, bill)]);
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

// ---- The trade bill: how the provider writes its lines ----------------------------------------------

/** The columns of the trade bill, as WeChat Pay names them (its "ALL" bill, the subset the sandbox fills). */
const COLUMNS = ['交易时间', '公众账号ID', '商户号', '微信订单号', '商户订单号', '交易状态', '货币种类', '订单金额', '微信退款单号', '商户退款单号', '退款金额', '退款状态', '手续费', '费率'];
const SUMMARY_COLUMNS = ['总交易单数', '订单总金额', '退款总金额', '手续费总金额', '货币种类'];
const RATE = `${(SANDBOX_FEE_RATE_BASIS_POINTS / 100).toFixed(2)}%`;
const cells = (values: (string | number)[]) => `\`${values.join(',`')}\n`;

/**
 * Turns the statement's raw lines (COPY text rows) into the trade bill: a UTF-8 BOM and the header,
 * one line of backtick cells per row (amounts as decimals in the currency's unit, local times with
 * their offset), then the totals per currency.
 */
function tradeBill(timeZone: string, merchantId: string): Transform {
  const clock = localClock(timeZone);
  const totals = new Map<string, { lines: number; paid: number; refunded: number; fees: number }>();
  const fixed = `,\`sandbox-app,\`${merchantId},\``;
  let rest = '';
  // Written without per-line closures: a day of a million lines goes through here.
  const line = (raw: RawStatementLine): string => {
    const exponent = exponentOf(raw.currency);
    let total = totals.get(raw.currency);
    if (!total) totals.set(raw.currency, (total = { lines: 0, paid: 0, refunded: 0, fees: 0 }));
    total.lines += 1;
    total.paid += raw.amount;
    total.refunded += raw.refunded;
    total.fees += raw.fee;
    return (
      `\`${clock(raw.atMs)}${fixed}${raw.tradeNo},\`${raw.orderNo},\`${raw.state},\`${raw.currency},\`${decimal(raw.amount, exponent)}` +
      `,\`${raw.channelRefundNo ?? '0'},\`${raw.refundNo ?? '0'},\`${decimal(raw.refunded, exponent)},\`${raw.state === 'REFUND' ? 'SUCCESS' : ''}` +
      `,\`${decimal(raw.fee, exponent)},\`${RATE}\n`
    );
  };
  return new Transform({
    construct(callback) {
      this.push(`\uFEFF${COLUMNS.join(',')}\n`);
      callback();
    },
    transform(chunk: Buffer, _encoding, callback) {
      const rows = (rest + chunk.toString('utf8')).split('\n');
      rest = rows.pop()!;
      let out = '';
      for (const row of rows) out += line(rawStatementLine(row));
      callback(null, out);
    },
    flush(callback) {
      if (rest) this.push(line(rawStatementLine(rest)));
      this.push(`${SUMMARY_COLUMNS.join(',')}\n`);
      for (const [currency, t] of totals) {
        const exponent = exponentOf(currency);
        this.push(cells([t.lines, decimal(t.paid, exponent), decimal(t.refunded, exponent), decimal(t.fees, exponent), currency]));
      }
      callback();
    },
  });
}

const exponents = new Map<string, number>();
function exponentOf(currency: string): number {
  let exponent = exponents.get(currency);
  if (exponent === undefined) exponents.set(currency, (exponent = currencyExponent(currency)));
  return exponent;
}

/** Minor units as the bill writes them: `6.00` for 600 CNY, `160` for 160 JPY, `-0.04` for a fee returned. */
function decimal(value: number, exponent: number): string {
  if (exponent === 0) return String(value);
  const digits = String(Math.abs(value)).padStart(exponent + 1, '0');
  return `${value < 0 ? '-' : ''}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** Epoch milliseconds → `2026-11-01 08:05:00+08:00` in `timeZone` (offsets looked up once per quarter hour). */
function localClock(timeZone: string): (ms: number) => string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const offsets = new Map<number, number>();
  const offsetOf = (ms: number) => {
    const quarter = Math.floor(ms / 900_000);
    let offset = offsets.get(quarter);
    if (offset === undefined) {
      const p = Object.fromEntries(parts.formatToParts(new Date(quarter * 900_000)).map((x) => [x.type, Number(x.value)]));
      offset = (Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!) - quarter * 900_000) / 60_000;
      offsets.set(quarter, offset);
    }
    return offset;
  };
  const two = (n: number) => String(n).padStart(2, '0');
  return (ms) => {
    const offset = offsetOf(ms);
    const t = new Date(ms + offset * 60_000);
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset);
    return (
      `${t.getUTCFullYear()}-${two(t.getUTCMonth() + 1)}-${two(t.getUTCDate())} ` +
      `${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())}${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`
    );
  };
}
