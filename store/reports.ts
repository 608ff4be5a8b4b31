import type { Database, RunSql } from '../infra/db';
import { NOW_UTC, join, raw, sql } from './sql';

/**
 * Finance reports, served from aggregates kept per day: `report_daily` (per game, channel account,
 * region and currency) and `report_channel_fees_daily`, rolled up from the orders and the ledger one
 * (day, channel account) at a time — by each day's reconciliation run, after its fees are booked.
 * `report_monthly` keeps the same per month. A report over a year reads at most a few hundred thousand
 * aggregate rows, never the orders.
 */

const dayStart = (date: string, timeZone: string, offset = 0) =>
  sql`(((${date}::date + ${offset}::int)::timestamp AT TIME ZONE ${timeZone}::text) AT TIME ZONE 'UTC')`;

/**
 * Recomputes one channel account's day: orders placed and paid that day, goods delivered, refunds and
 * chargebacks booked that day (ledger), and the fees its statement stated; then its month from its
 * days. Replaces what was there.
 */
export async function rollUpDay(database: Database, d: { channel: string; date: string; timeZone: string }): Promise<void> {
  const lo = dayStart(d.date, d.timeZone);
  const hi = dayStart(d.date, d.timeZone, 1);
  const c = sql`${d.channel}::text`;
  const month = sql`date_trunc('month', ${d.date}::date::timestamp)::date`;
  await database.transaction(async (run) => {
    // One roll-up of a channel account's month at a time: two days of it rolled up together would
    // both rewrite its monthly rows.
    await run(sql`SELECT pg_advisory_xact_lock(hashtext('report:' || ${c} || ':' || ${month}::text))`);
    await run(sql`DELETE FROM report_daily WHERE day = ${d.date}::date AND channel = ${c}`);
    await run(sql`DELETE FROM report_channel_fees_daily WHERE day = ${d.date}::date AND channel = ${c}`);
    await run(sql`
      INSERT INTO report_daily (day, game_id, channel, region, currency, orders_created, orders_paid, paid_amount,
        delivered, revenue, refunds, refund_amount, chargebacks, chargeback_amount)
      SELECT ${d.date}::date, game_id, ${c}, region, currency, sum(created), sum(paid), sum(paid_amount), sum(delivered), sum(revenue),
        sum(refunds), sum(refund_amount), sum(chargebacks), sum(chargeback_amount)
      FROM (
        SELECT o.game_id, o.region, o.currency, 1 AS created, 0 AS paid, 0::bigint AS paid_amount, 0 AS delivered, 0::bigint AS revenue,
          0 AS refunds, 0::bigint AS refund_amount, 0 AS chargebacks, 0::bigint AS chargeback_amount
        FROM orders o WHERE o.created_at >= ${lo} AND o.created_at < ${hi} AND o.channel = ${c}
        UNION ALL
        SELECT o.game_id, o.region, o.paid_currency, 0, 1, o.paid_amount, 0, 0, 0, 0, 0, 0
        FROM orders o WHERE o.paid_at >= ${lo} AND o.paid_at < ${hi} AND o.channel = ${c} AND o.paid_amount > 0
        UNION ALL
        SELECT e.game_id, o.region, e.currency, 0, 0, 0,
          (e.kind = 'GOODS_DELIVERED')::int, CASE WHEN e.kind = 'GOODS_DELIVERED' THEN e.amount ELSE 0 END,
          (e.kind IN ('REFUND', 'CHANNEL_REFUND'))::int, CASE WHEN e.kind IN ('REFUND', 'CHANNEL_REFUND') THEN e.amount ELSE 0 END,
          (e.kind = 'CHARGEBACK')::int, CASE WHEN e.kind = 'CHARGEBACK' THEN e.amount ELSE 0 END
        FROM journal_entries e JOIN orders o ON o.id = e.order_id
        WHERE e.effective_at >= ${lo} AND e.effective_at < ${hi} AND e.channel = ${c}
          AND e.kind IN ('GOODS_DELIVERED', 'REFUND', 'CHANNEL_REFUND', 'CHARGEBACK')
      ) x
      GROUP BY game_id, region, currency`);
    await run(sql`DELETE FROM report_monthly WHERE month = ${month} AND channel = ${c}`);
    await run(sql`
      INSERT INTO report_monthly (month, game_id, channel, region, currency, orders_created, orders_paid, paid_amount,
        delivered, revenue, refunds, refund_amount, chargebacks, chargeback_amount)
      SELECT ${month}, game_id, channel, region, currency, sum(orders_created), sum(orders_paid), sum(paid_amount), sum(delivered),
        sum(revenue), sum(refunds), sum(refund_amount), sum(chargebacks), sum(chargeback_amount)
      FROM report_daily WHERE day >= ${month} AND day < (${month} + interval '1 month')::date AND channel = ${c}
      GROUP BY game_id, channel, region, currency`);
    await run(sql`
      INSERT INTO report_channel_fees_daily (day, channel, currency, fees)
      SELECT ${d.date}::date, ${c}, e.currency, sum(p.amount)
      FROM journal_entries e JOIN journal_postings p ON p.entry_id = e.id AND p.account = 'channel_fees:' || ${c}
      WHERE e.kind = 'CHANNEL_FEE' AND e.channel = ${c} AND e.reference = ${d.date}::text
      GROUP BY e.currency`);
    await run(sql`
      INSERT INTO report_rollups (day, channel, rolled_up_at) VALUES (${d.date}::date, ${c}, ${NOW_UTC})
      ON CONFLICT (day, channel) DO UPDATE SET rolled_up_at = EXCLUDED.rolled_up_at`);
  });
}

export const REPORT_DIMENSIONS = ['game', 'channel', 'region', 'currency'] as const;
export type ReportDimension = (typeof REPORT_DIMENSIONS)[number];
const DIMENSION_COLUMN: Record<ReportDimension, string> = { game: 'game_id', channel: 'channel', region: 'region', currency: 'currency' };

export interface RevenueRow {
  period: string;
  game_id?: string;
  channel?: string;
  region?: string;
  currency: string;
  orders_paid: string;
  paid_amount: string;
  delivered: string;
  revenue: string;
  refunds: string;
  refund_amount: string;
  chargebacks: string;
  chargeback_amount: string;
}

/**
 * Revenue per day or month and the dimensions asked for; amounts are per currency always (money of
 * two currencies is never added up). By month, the whole months of the range come from
 * `report_monthly` and only the days of a month cut by the range's ends from `report_daily`.
 */
export function revenueReport(
  database: Database,
  q: { from: string; to: string; groupBy: 'day' | 'month'; by: ReportDimension[]; game?: string; channel?: string; currency?: string },
): Promise<RevenueRow[]> {
  const dimensions = [...new Set<ReportDimension>([...q.by, 'currency'])].sort(
    (a, b) => REPORT_DIMENSIONS.indexOf(a) - REPORT_DIMENSIONS.indexOf(b),
  );
  const columns = join(dimensions.map((d) => raw(DIMENSION_COLUMN[d])), ', ');
  const measures = raw(MEASURES.join(', '));
  const inRange = sql`day BETWEEN ${q.from}::date AND ${q.to}::date`;
  const only = sql`(${q.game ?? null}::text IS NULL OR game_id = ${q.game ?? null}::text)
    AND (${q.channel ?? null}::text IS NULL OR channel = ${q.channel ?? null}::text)
    AND (${q.currency ?? null}::text IS NULL OR currency = ${q.currency ?? null}::text)`;
  const rows =
    q.groupBy === 'day'
      ? sql`SELECT day::text AS period, ${columns}, ${measures} FROM report_daily WHERE ${inRange} AND ${only}`
      : sql`
        SELECT to_char(month, 'YYYY-MM') AS period, ${columns}, ${measures} FROM report_monthly, whole
        WHERE month >= whole.first AND month < whole.past AND ${only}
        UNION ALL
        SELECT to_char(day, 'YYYY-MM'), ${columns}, ${measures} FROM report_daily, whole
        WHERE ${inRange} AND NOT (day >= whole.first AND day < whole.past) AND ${only}`;
  return database.transaction(async (run) => {
    // A year by day groups a few hundred thousand rows: in memory (a hash) rather than sorted on disk.
    await run(sql`SET LOCAL work_mem = '32MB'`);
    return run<RevenueRow>(sql`
      WITH whole AS (
        SELECT (date_trunc('month', (${q.from}::date - 1)::timestamp) + interval '1 month')::date AS first,
          date_trunc('month', (${q.to}::date + 1)::timestamp)::date AS past
      ), src AS (${rows})
      SELECT period, ${columns},
        sum(orders_paid)::text AS orders_paid, sum(paid_amount)::text AS paid_amount, sum(delivered)::text AS delivered,
        sum(revenue)::text AS revenue, sum(refunds)::text AS refunds, sum(refund_amount)::text AS refund_amount,
        sum(chargebacks)::text AS chargebacks, sum(chargeback_amount)::text AS chargeback_amount
      FROM src
      GROUP BY period, ${columns}
      ORDER BY period, ${columns}`);
  });
}

const MEASURES = ['orders_paid', 'paid_amount', 'delivered', 'revenue', 'refunds', 'refund_amount', 'chargebacks', 'chargeback_amount'];

export interface ChannelReportRow {
  channel: string;
  currency: string;
  orders_created: string;
  orders_paid: string;
  paid_amount: string;
  refunds: string;
  refund_amount: string;
  chargebacks: string;
  chargeback_amount: string;
  fees: string;
}

/** Per channel account and currency: orders placed and paid, amounts, refunds, chargebacks and fees. */
export function channelReport(run: RunSql, q: { from: string; to: string }): Promise<ChannelReportRow[]> {
  return run<ChannelReportRow>(sql`
    WITH placed AS (
      SELECT channel, currency, sum(orders_created) AS orders_created, sum(orders_paid) AS orders_paid,
        sum(paid_amount) AS paid_amount, sum(refunds) AS refunds, sum(refund_amount) AS refund_amount,
        sum(chargebacks) AS chargebacks, sum(chargeback_amount) AS chargeback_amount
      FROM report_daily WHERE day BETWEEN ${q.from}::date AND ${q.to}::date GROUP BY channel, currency
    ), fees AS (
      SELECT channel, currency, sum(fees) AS fees FROM report_channel_fees_daily
      WHERE day BETWEEN ${q.from}::date AND ${q.to}::date GROUP BY channel, currency
    )
    SELECT channel, currency, coalesce(o.orders_created, 0)::text AS orders_created, coalesce(o.orders_paid, 0)::text AS orders_paid,
      coalesce(o.paid_amount, 0)::text AS paid_amount, coalesce(o.refunds, 0)::text AS refunds,
      coalesce(o.refund_amount, 0)::text AS refund_amount, coalesce(o.chargebacks, 0)::text AS chargebacks,
      coalesce(o.chargeback_amount, 0)::text AS chargeback_amount, coalesce(f.fees, 0)::text AS fees
    FROM placed o FULL JOIN fees f USING (channel, currency)
    ORDER BY channel, currency`);
}

export interface ChannelPeriodRow {
  period: string;
  channel: string;
  orders_created: string;
  orders_paid: string;
}

/** Per channel account and day or month: orders placed and paid (counts, so summed across currencies). */
export function channelPeriods(run: RunSql, q: { from: string; to: string; groupBy: 'day' | 'month' }): Promise<ChannelPeriodRow[]> {
  const period = q.groupBy === 'day' ? sql`day::text` : sql`to_char(day, 'YYYY-MM')`;
  return run<ChannelPeriodRow>(sql`
    SELECT ${period} AS period, channel, sum(orders_created)::text AS orders_created, sum(orders_paid)::text AS orders_paid
    FROM report_daily WHERE day BETWEEN ${q.from}::date AND ${q.to}::date
    GROUP BY 1, channel ORDER BY 1, channel`);
}

/** The days of the range no channel account is rolled up for yet (their figures are missing, not zero). */
export async function daysNotRolledUp(run: RunSql, q: { from: string; to: string }): Promise<string[]> {
  const rows = await run<{ day: string }>(sql`
    SELECT d::date::text AS day FROM generate_series(${q.from}::date, ${q.to}::date, interval '1 day') d
    WHERE NOT EXISTS (SELECT 1 FROM report_rollups r WHERE r.day = d::date)
    ORDER BY 1`);
  return rows.map((r) => r.day);
}

/** How many (day, channel account) pairs of the range the aggregates cover. */
export async function rolledUpDays(run: RunSql, q: { from: string; to: string }): Promise<{ channel: string; days: number }[]> {
  return run<{ channel: string; days: number }>(sql`
    SELECT channel, count(*)::int AS days FROM report_rollups WHERE day BETWEEN ${q.from}::date AND ${q.to}::date
    GROUP BY channel ORDER BY channel`);
}
