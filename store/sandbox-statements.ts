import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database, RunSql } from '../infra/db';
import { copyOut } from './copy';
import { constantTerms, feeOf } from './fees';
import { sql, type Sql } from './sql';

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
}

/** UTC bounds of a local calendar day (`offset` days from `date`), for the UTC timestamp columns. */
const dayStart = (date: string, timeZone: string, offset = 0) =>
  sql`(((${date}::date + ${offset}::int)::timestamp AT TIME ZONE ${timeZone}::text) AT TIME ZONE 'UTC')`;

/** A payment of this merchant account: its notifications go to `/v1/callbacks/<channelId>`. */
const ofAccount = (channelId: string | undefined) =>
  channelId === undefined
    ? sql`true`
    : sql`right(p.notify_url, length(${`/v1/callbacks/${channelId}`}::text)) = ${`/v1/callbacks/${channelId}`}::text`;

/** The provider's fee of a line, by the one fee rule at its own rate. */
const fee = (amount: Sql, currency: Sql, rateBps: number) => feeOf(amount, currency, constantTerms({ feeRateBps: rateBps }));

/**
 * The day's lines, ordered by time (then trade number: the same statement reads the same every time),
 * as raw columns: the provider formats them (sandbox/statements.ts). Formatting a million lines is
 * cheaper in the provider's process than in SQL, and the sort keeps narrow rows.
 */
function statementQuery(s: StatementScope): Sql {
  const { date, timeZone: tz } = s;
  const D = sql`${date}::date`;
  // Bounds as expressions of constants (not a CTE): the planner estimates the day's rows from them.
  const lo = dayStart(date, tz);
  const hi = dayStart(date, tz, 1);
  return sql`
    WITH adj AS (
      -- The planted differences, one row per payment: few, joined to the day's payments by hash.
      SELECT payment_id,
        bool_or(kind IN ('DROP', 'MOVE_TO_NEXT_DAY') AND statement_date = ${D}) AS unlisted,
        bool_or(kind = 'MOVE_TO_NEXT_DAY' AND statement_date = ${D} - 1) AS moved_here,
        max(amount) FILTER (WHERE kind = 'AMOUNT' AND statement_date = ${D}) AS amount,
        max(fee) FILTER (WHERE kind = 'FEE' AND statement_date = ${D}) AS fee,
        bool_or(kind = 'STATUS' AND statement_date = ${D}) AS refunded
      FROM sandbox_statement_adjustments
      WHERE statement_date BETWEEN ${D} - 1 AND ${D} AND payment_id IS NOT NULL
      GROUP BY payment_id
    ), lines AS (
      SELECT p.paid_at AS at, p.txn_id AS trade_no, p.merchant_order_id AS order_no, 'SUCCESS' AS state, p.currency,
        coalesce(a.amount, p.paid_amount, p.amount)::bigint AS amount, NULL::text AS channel_refund_no, NULL::text AS refund_no,
        0::bigint AS refunded, coalesce(a.fee, ${fee(sql`coalesce(a.amount, p.paid_amount, p.amount)::bigint`, sql`p.currency`, s.feeRateBasisPoints)}) AS fee
      FROM sandbox_payments p LEFT JOIN adj a ON a.payment_id = p.id
      WHERE p.paid_at >= ${lo} AND p.paid_at < ${hi} AND p.status IN ('PAID', 'REFUNDED') AND ${ofAccount(s.channelId)}
        AND NOT coalesce(a.unlisted, false)
      UNION ALL
      -- Moved here from the day before: the channel cut its day later than the payment.
      SELECT p.paid_at, p.txn_id, p.merchant_order_id, 'SUCCESS', p.currency, coalesce(p.paid_amount, p.amount), NULL, NULL, 0,
        ${fee(sql`coalesce(p.paid_amount, p.amount)::bigint`, sql`p.currency`, s.feeRateBasisPoints)}
      FROM adj a JOIN sandbox_payments p ON p.id = a.payment_id
      WHERE a.moved_here AND p.status IN ('PAID', 'REFUNDED') AND ${ofAccount(s.channelId)}
      UNION ALL
      -- STATUS: the channel reports the payment as refunded, though nobody asked for it.
      SELECT p.paid_at, p.txn_id, p.merchant_order_id, 'REFUND', p.currency, 0, 'sbxrf_status_' || p.id, NULL,
        coalesce(p.paid_amount, p.amount), -${fee(sql`coalesce(p.paid_amount, p.amount)::bigint`, sql`p.currency`, s.feeRateBasisPoints)}
      FROM adj a JOIN sandbox_payments p ON p.id = a.payment_id
      WHERE a.refunded AND p.paid_at >= ${lo} AND p.paid_at < ${hi} AND NOT a.unlisted AND ${ofAccount(s.channelId)}
      UNION ALL
      SELECT r.created_at, p.txn_id, p.merchant_order_id, 'REFUND', r.currency, 0, r.id,
        -- The sandbox keeps its refund as sbxrf_<merchant refund id>.
        CASE WHEN r.id LIKE 'sbxrf\\_%' THEN substr(r.id, 7) END, r.amount, -${fee(sql`r.amount`, sql`r.currency`, s.feeRateBasisPoints)}
      FROM sandbox_refunds r JOIN sandbox_payments p ON p.id = r.payment_id
      WHERE r.created_at >= ${lo} AND r.created_at < ${hi} AND ${ofAccount(s.channelId)}
      UNION ALL
      -- EXTRA without a payment: money from nowhere, under an order number nobody issued.
      SELECT greatest(${lo}, least(a.created_at, ${hi} - interval '1 millisecond')), a.trade_no, md5(a.trade_no)::uuid::text,
        'SUCCESS', a.currency, a.amount, NULL, NULL, 0, coalesce(a.fee, ${fee(sql`a.amount`, sql`a.currency`, s.feeRateBasisPoints)})
      FROM sandbox_statement_adjustments a
      WHERE a.kind = 'EXTRA' AND a.payment_id IS NULL AND a.statement_date = ${D}
        AND (a.channel_id IS NULL OR ${s.channelId ?? null}::text IS NULL OR a.channel_id = ${s.channelId ?? null}::text)
    )
    SELECT (date_part('epoch', at) * 1000)::bigint, trade_no, order_no, state, currency, amount, channel_refund_no, refund_no,
      refunded, fee
    FROM lines ORDER BY at, trade_no COLLATE "C"`;
}

/** A line of the statement as the query gives it (COPY text: tab-separated, \\N for null). */
export interface RawStatementLine {
  atMs: number;
  tradeNo: string;
  orderNo: string;
  state: 'SUCCESS' | 'REFUND';
  currency: string;
  amount: number;
  channelRefundNo: string | null;
  refundNo: string | null;
  refunded: number;
  fee: number;
}

export function rawStatementLine(text: string): RawStatementLine {
  const f = text.split('\t');
  const nullable = (v: string | undefined) => (v === undefined || v === '\\N' ? null : v);
  return {
    atMs: Number(f[0]),
    tradeNo: f[1]!,
    orderNo: f[2]!,
    state: f[3] as RawStatementLine['state'],
    currency: f[4]!,
    amount: Number(f[5]),
    channelRefundNo: nullable(f[6]),
    refundNo: nullable(f[7]),
    refunded: Number(f[8]),
    fee: Number(f[9]),
  };
}

/**
 * Streams the statement's lines (COPY text rows of raw columns) into `out`, from one consistent
 * read, and ends it.
 */
export async function streamSandboxStatement(database: Database, scope: StatementScope, out: Writable): Promise<void> {
  await database.withConnection(async (client, run) => {
    await run(sql`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`);
    // The day's lines are sorted by time in memory, not on disk, by this backend alone (parallel workers
    // only shuffle rows between processes on a machine the rest of the pipeline keeps busy).
    await run(sql`SET LOCAL work_mem = '256MB'`);
    await run(sql`SET LOCAL max_parallel_workers_per_gather = 0`);
    await pipeline(copyOut(client, statementQuery(scope)), out);
    await run(sql`COMMIT`);
  });
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

