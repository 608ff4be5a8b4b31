import type { Db, RunSql } from '../infra/db';
import { NOW_UTC, sql } from './sql';

/**
 * An order's attempts to open its payment at channel accounts (failover), one row per attempt. The
 * row decides a race that crosses processes: an attempt that opens after the workflow gave up on it
 * must not become the order's payment. Whichever writes the row first wins: the attempt (OPENED: the
 * order's channel and payment move to it, in the same statement) or the workflow (FAILED/TIMED_OUT:
 * a late opening is closed at its channel, CLOSED_LATE).
 */
export type AttemptOutcome = 'OPENED' | 'FAILED' | 'TIMED_OUT' | 'CLOSED_LATE';

export interface OpenedAttempt {
  orderId: string;
  attempt: number;
  channel: string;
  channelPaymentId: string;
  payment: Record<string, unknown>;
}

/** Records an opened attempt as the order's payment; false when the workflow gave up on it first. */
export async function attemptOpened(run: RunSql, a: OpenedAttempt): Promise<boolean> {
  const rows = await run(sql`
    WITH opened AS (
      INSERT INTO order_channel_attempts (order_id, attempt, channel, outcome, channel_payment_id, payment, at)
      VALUES (${a.orderId}::uuid, ${a.attempt}::int, ${a.channel}::text, 'OPENED', ${a.channelPaymentId}::text,
        ${JSON.stringify(a.payment)}::jsonb, ${NOW_UTC})
      -- A retry of an attempt that opened finds it opened: the same payment (channels open one per order).
      ON CONFLICT (order_id, attempt) DO UPDATE SET channel_payment_id = excluded.channel_payment_id, payment = excluded.payment
        WHERE order_channel_attempts.outcome = 'OPENED'
      RETURNING order_id, channel, channel_payment_id
    ), moved AS (
      UPDATE orders SET channel = opened.channel, channel_payment_id = opened.channel_payment_id, updated_at = ${NOW_UTC}
      FROM opened WHERE orders.id = opened.order_id
    )
    SELECT 1 FROM opened`);
  return rows.length === 1;
}

/**
 * Records that the workflow gave up on an attempt. Answers the attempt as it opened when it opened
 * first (the workflow then takes it, the order's payment already moved to it).
 */
export async function attemptEnded(
  run: RunSql,
  a: { orderId: string; attempt: number; channel: string; outcome: 'FAILED' | 'TIMED_OUT'; error?: string },
): Promise<OpenedAttempt | undefined> {
  const ended = await run(sql`
    INSERT INTO order_channel_attempts (order_id, attempt, channel, outcome, error, at)
    VALUES (${a.orderId}::uuid, ${a.attempt}::int, ${a.channel}::text, ${a.outcome}::text, ${a.error ?? null}::text, ${NOW_UTC})
    ON CONFLICT (order_id, attempt) DO NOTHING
    RETURNING 1`);
  if (ended.length) return undefined;
  // Written before us: by the attempt itself (OPENED), or by an earlier run of this step (ended already).
  const [row] = await run<{ outcome: AttemptOutcome; channel_payment_id: string | null; payment: Record<string, unknown> | null }>(sql`
    SELECT outcome, channel_payment_id, payment FROM order_channel_attempts
    WHERE order_id = ${a.orderId}::uuid AND attempt = ${a.attempt}::int`);
  return row?.outcome === 'OPENED'
    ? { orderId: a.orderId, attempt: a.attempt, channel: a.channel, channelPaymentId: row.channel_payment_id!, payment: row.payment ?? {} }
    : undefined;
}

/** A late opening of an attempt the workflow gave up on, closed at its channel. */
export async function attemptClosedLate(run: RunSql, a: { orderId: string; attempt: number; channelPaymentId: string }): Promise<void> {
  await run(sql`UPDATE order_channel_attempts SET outcome = 'CLOSED_LATE', channel_payment_id = ${a.channelPaymentId}::text
    WHERE order_id = ${a.orderId}::uuid AND attempt = ${a.attempt}::int AND outcome IN ('FAILED', 'TIMED_OUT')`);
}

export interface AttemptRow {
  attempt: number;
  channel: string;
  outcome: string;
  error: string | null;
  at: Date;
}

/** The order's attempts in the order they were made (cold path: the order view). */
export function attemptsOf(db: Db, orderId: string): Promise<AttemptRow[]> {
  return db.orderChannelAttempt.findMany({
    where: { orderId },
    orderBy: { attempt: 'asc' },
    select: { attempt: true, channel: true, outcome: true, error: true, at: true },
  });
}
