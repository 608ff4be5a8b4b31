import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database, RunSql } from '../infra/db';
import { copyOut } from './copy';
import { feeAtRate } from './fees';
import { join, sql, type Sql } from './sql';

/**
 * The sandbox provider's statements, built from its own books (sandbox_payments, sandbox_refunds)
 * and the differences planted for tests and demos (sandbox_statement_adjustments). A statement day
 * is the provider's calendar day in its time zone.
 */

export const ADJUSTMENT_KINDS = ['DROP', 'AMOUNT', 'EXTRA', 'MOVE_TO_NEXT_DAY', 'STATUS', 'FEE'] as const;
export type AdjustmentKind = (typeof ADJUSTMENT_KINDS)[number];

export interface StatementScope {
  date: string;
  timeZone: string;
  /** The merchant account whose statement it is; all of the provider's payments when absent. */
  channelId?: string;
  /** The fee rate, in basis points, charged on every line. */
  feeRateBasisPoints: number;
  /** Each currency's minor-unit exponent where it is not 2. */
  exponents: Record<string, number>;
}

/** UTC bounds of a local calendar day (`offset` days from `date`), for the UTC timestamp columns. */
const dayStart = (date: string, timeZone: string, offset = 0) =>
  sql`(((${date}::date + ${offset}::int)::timestamp AT TIME ZONE ${timeZone}::text) AT TIME ZONE 'UTC')`;

/** A payment of this merchant account: its notifications go to `/v1/callbacks/<channelId>`. */
const ofAccount = (channelId: string | undefined) =>
  channelId === undefined
    ? sql`true`
    : sql`right(p.notify_url, length(${`/v1/callbacks/${channelId}`}::text)) = ${`/v1/callbacks/${channelId}`}::text`;

/** Minor units as the statement writes them: yuan-style decimals with the currency's exponent. */
function decimal(amount: Sql, currency: Sql, exponents: Record<string, number>): Sql {
  const exceptions = Object.entries(exponents);
  const exponent = exceptions.length
    ? sql`CASE ${currency} ${join(exceptions.map(([c, e]) => sql`WHEN ${c}::text THEN ${e}::int`), ' ')} ELSE 2 END`
    : sql`2`;
  return sql`(CASE WHEN ${exponent} = 0 THEN (${amount})::text ELSE
      CASE WHEN (${amount}) < 0 THEN '-' ELSE '' END || (abs(${amount}) / (10::bigint ^ ${exponent})::bigint)::text || '.' ||
      lpad((abs(${amount}) % (10::bigint ^ ${exponent})::bigint)::text, ${exponent}, '0') END)`;
}

const fee = feeAtRate;

/** The columns of the trade bill, as WeChat Pay names them (its "ALL" bill, the subset the sandbox fills). */
export const SANDBOX_STATEMENT_COLUMNS = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '微信订单号',
  '商户订单号',
  '交易状态',
  '货币种类',
  '订单金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '退款状态',
  '手续费',
  '费率',
] as const;
export const SANDBOX_SUMMARY_COLUMNS = ['总交易单数', '订单总金额', '退款总金额', '手续费总金额', '货币种类'] as const;

/**
 * The statement's lines and its per-currency summary, as COPY text rows (no tab or backslash can
 * occur: ids are tokens, amounts digits). Lines are ordered by time, as the channel lists them.
 */
function statementQuery(s: StatementScope): Sql {
  const { date, timeZone: tz } = s;
  const D = sql`${date}::date`;
  const local = (at: Sql) => sql`((${at}) AT TIME ZONE 'UTC') AT TIME ZONE ${tz}::text`;
  const offsetMinutes = (at: Sql) => sql`(extract(epoch FROM ${local(at)} - (${at})) / 60)::int`;
  const time = (at: Sql) => sql`to_char(${local(at)}, 'YYYY-MM-DD HH24:MI:SS') ||
      CASE WHEN ${offsetMinutes(at)} < 0 THEN '-' ELSE '+' END ||
      lpad((abs(${offsetMinutes(at)}) / 60)::text, 2, '0') || ':' || lpad((abs(${offsetMinutes(at)}) % 60)::text, 2, '0')`;
  const money = (amount: Sql) => decimal(amount, sql`r.currency`, s.exponents);
  const rate = `${(s.feeRateBasisPoints / 100).toFixed(2)}%`;
  const cells = (values: Sql[]) => sql`'\`' || ${join(values, " || ',`' || ")}`;
  return sql`
    WITH bounds AS (SELECT ${dayStart(date, tz)} AS lo, ${dayStart(date, tz, 1)} AS hi),
    adj AS (SELECT * FROM sandbox_statement_adjustments WHERE statement_date BETWEEN ${D} - 1 AND ${D}),
    listed AS (
      SELECT p.id, p.txn_id, p.merchant_order_id, p.currency, coalesce(p.paid_amount, p.amount)::bigint AS amount, p.paid_at AS at
      FROM sandbox_payments p, bounds b
      WHERE p.paid_at >= b.lo AND p.paid_at < b.hi AND p.status IN ('PAID', 'REFUNDED') AND ${ofAccount(s.channelId)}
        AND NOT EXISTS (SELECT 1 FROM adj a WHERE a.statement_date = ${D} AND a.payment_id = p.id
                          AND a.kind IN ('DROP', 'MOVE_TO_NEXT_DAY'))
      UNION ALL
      -- Moved here from the day before: the channel cut its day later than the payment.
      SELECT p.id, p.txn_id, p.merchant_order_id, p.currency, coalesce(p.paid_amount, p.amount)::bigint, p.paid_at
      FROM sandbox_payments p JOIN adj a ON a.payment_id = p.id AND a.kind = 'MOVE_TO_NEXT_DAY' AND a.statement_date = ${D} - 1
      WHERE p.status IN ('PAID', 'REFUNDED') AND ${ofAccount(s.channelId)}
    ), lines AS (
      SELECT l.at, l.txn_id AS trade_no, l.merchant_order_id AS order_no, 'SUCCESS' AS state, l.currency,
        coalesce(amt.amount, l.amount) AS amount, NULL::text AS channel_refund_no, NULL::text AS refund_no,
        0::bigint AS refunded, NULL::text AS refund_state,
        coalesce(f.fee, ${fee(sql`coalesce(amt.amount, l.amount)`, s.feeRateBasisPoints)}) AS fee
      FROM listed l
      LEFT JOIN adj amt ON amt.payment_id = l.id AND amt.kind = 'AMOUNT' AND amt.statement_date = ${D}
      LEFT JOIN adj f ON f.payment_id = l.id AND f.kind = 'FEE' AND f.statement_date = ${D}
      UNION ALL
      -- STATUS: the channel reports the payment as refunded, though nobody asked for it.
      SELECT l.at, l.txn_id, l.merchant_order_id, 'REFUND', l.currency, 0, 'sbxrf_status_' || l.id, NULL, l.amount, 'SUCCESS',
        -${fee(sql`l.amount`, s.feeRateBasisPoints)}
      FROM listed l JOIN adj st ON st.payment_id = l.id AND st.kind = 'STATUS' AND st.statement_date = ${D}
      UNION ALL
      SELECT r.created_at, p.txn_id, p.merchant_order_id, 'REFUND', r.currency, 0, r.id,
        -- The sandbox keeps its refund as sbxrf_<merchant refund id>.
        CASE WHEN r.id LIKE 'sbxrf\\_%' THEN substr(r.id, 7) END, r.amount, 'SUCCESS',
        -${fee(sql`r.amount`, s.feeRateBasisPoints)}
      FROM sandbox_refunds r JOIN sandbox_payments p ON p.id = r.payment_id, bounds b
      WHERE r.created_at >= b.lo AND r.created_at < b.hi AND ${ofAccount(s.channelId)}
      UNION ALL
      -- EXTRA without a payment: money from nowhere, under an order number nobody issued.
      SELECT greatest(b.lo, least(a.created_at, b.hi - interval '1 millisecond')), a.trade_no, md5(a.trade_no)::uuid::text,
        'SUCCESS', a.currency, a.amount, NULL, NULL, 0, NULL, coalesce(a.fee, ${fee(sql`a.amount`, s.feeRateBasisPoints)})
      FROM adj a, bounds b WHERE a.kind = 'EXTRA' AND a.payment_id IS NULL AND a.statement_date = ${D}
        AND (a.channel_id IS NULL OR ${s.channelId ?? null}::text IS NULL OR a.channel_id = ${s.channelId ?? null}::text)
    )
    SELECT line FROM (
      SELECT 1 AS section, r.at, r.trade_no, ${cells([
        time(sql`r.at`),
        sql`'sandbox-app'`,
        sql`${s.channelId ?? 'sandbox'}::text`,
        sql`r.trade_no`,
        sql`r.order_no`,
        sql`r.state`,
        sql`r.currency`,
        money(sql`r.amount`),
        sql`coalesce(r.channel_refund_no, '0')`,
        sql`coalesce(r.refund_no, '0')`,
        money(sql`r.refunded`),
        sql`coalesce(r.refund_state, '')`,
        money(sql`r.fee`),
        sql`${rate}::text`,
      ])} AS line
      FROM lines r
      UNION ALL
      SELECT 2, NULL, NULL, ${SANDBOX_SUMMARY_COLUMNS.join(',')}::text
      UNION ALL
      SELECT 3, NULL, r.currency, ${cells([
        sql`count(*)::text`,
        money(sql`sum(r.amount)`),
        money(sql`sum(r.refunded)`),
        money(sql`sum(r.fee)`),
        sql`r.currency`,
      ])}
      FROM lines r GROUP BY r.currency
    ) x ORDER BY section, at, trade_no`;
}

const SANDBOX_STATEMENT_HEADER = `\uFEFF${SANDBOX_STATEMENT_COLUMNS.join(',')}\n`;

/**
 * Writes the statement to `out` (a UTF-8 BOM and the header line, then the lines and the summary),
 * streamed by COPY from one consistent read, and ends it.
 */
export async function writeSandboxStatement(database: Database, scope: StatementScope, out: Writable): Promise<void> {
  out.write(SANDBOX_STATEMENT_HEADER);
  await database.withConnection(async (client, run) => {
    await run(sql`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`);
    // The day's lines are sorted by time in memory, not on disk.
    await run(sql`SET LOCAL work_mem = '128MB'`);
    await pipeline(copyOut(client, statementQuery(scope)), out);
    await run(sql`COMMIT`);
  });
}

/** The currencies the provider has taken payments in (their exponents format the statement). */
export async function sandboxCurrencies(run: RunSql): Promise<string[]> {
  const rows = await run<{ currency: string }>(sql`
    SELECT DISTINCT currency FROM sandbox_payments
    UNION SELECT DISTINCT currency FROM sandbox_statement_adjustments WHERE currency IS NOT NULL`);
  return rows.map((r) => r.currency);
}

export interface PlantedAdjustment {
  id: string;
  statementDate: string;
  kind: AdjustmentKind;
  paymentId: string | null;
  tradeNo: string | null;
  channelId: string | null;
  currency: string | null;
  amount: number | null;
  fee: number | null;
}

const ADJUSTMENT_COLUMNS = sql`id::text, statement_date::text AS "statementDate", kind, payment_id AS "paymentId",
  trade_no AS "tradeNo", channel_id AS "channelId", currency, amount, fee`;

/** Plants (or replaces) a difference of one payment in one day's statement. */
export async function plantPaymentAdjustment(
  run: RunSql,
  a: { date: string; kind: AdjustmentKind; paymentId: string; amount?: number; fee?: number },
): Promise<PlantedAdjustment> {
  const [row] = await run<PlantedAdjustment>(sql`
    INSERT INTO sandbox_statement_adjustments (statement_date, kind, payment_id, amount, fee)
    VALUES (${a.date}::date, ${a.kind}::text, ${a.paymentId}::text, ${a.amount ?? null}::int, ${a.fee ?? null}::int)
    ON CONFLICT (statement_date, kind, payment_id) DO UPDATE SET amount = EXCLUDED.amount, fee = EXCLUDED.fee
    RETURNING ${ADJUSTMENT_COLUMNS}`);
  return row!;
}

/** A payment nobody ordered in one day's statement (each call adds one, under a new trade number). */
export async function plantForeignPayment(
  run: RunSql,
  a: { date: string; tradeNo: string; amount: { currency: string; value: number }; fee?: number; channelId?: string },
): Promise<PlantedAdjustment> {
  const [row] = await run<PlantedAdjustment>(sql`
    INSERT INTO sandbox_statement_adjustments (statement_date, kind, trade_no, currency, amount, fee, channel_id)
    VALUES (${a.date}::date, 'EXTRA', ${a.tradeNo}::text, ${a.amount.currency}::text, ${a.amount.value}::int, ${a.fee ?? null}::int,
      ${a.channelId ?? null}::text)
    RETURNING ${ADJUSTMENT_COLUMNS}`);
  return row!;
}

/**
 * EXTRA for a payment the payer never completed (or that was closed): the payer paid after all and
 * the notification was lost. The provider's books record it paid (a time within `date`, now when
 * today is that day) without queueing a notification, so only the statement tells.
 */
export async function paySilently(
  run: RunSql,
  p: { paymentId: string; date: string; timeZone: string; txnId: string },
): Promise<{ id: string; txnId: string } | undefined> {
  const [row] = await run<{ id: string; txnId: string }>(sql`
    WITH bounds AS (SELECT ${dayStart(p.date, p.timeZone)} AS lo, ${dayStart(p.date, p.timeZone, 1)} AS hi)
    UPDATE sandbox_payments SET status = 'PAID', txn_id = ${p.txnId}::text, paid_amount = amount,
      paid_at = (SELECT greatest(b.lo, least(now() AT TIME ZONE 'UTC', b.hi - interval '1 millisecond')) FROM bounds b),
      updated_at = now() AT TIME ZONE 'UTC'
    WHERE id = ${p.paymentId}::text AND status IN ('CREATED', 'FAILED', 'CLOSED')
    RETURNING id, txn_id AS "txnId"`);
  return row;
}

/** Whether a payment is listed as paid by the provider (what statement adjustments may change). */
export async function paymentStatus(run: RunSql, paymentId: string): Promise<string | undefined> {
  const [row] = await run<{ status: string }>(sql`SELECT status FROM sandbox_payments WHERE id = ${paymentId}::text`);
  return row?.status;
}

