import type { RunSql } from '../infra/db';
import { NOW_UTC, isoOf, sql, utc } from './sql';

/**
 * Store consumption requests (Apple's CONSUMPTION_REQUEST): one row per store transaction, the first
 * copy's; its one answer (outcome, the body sent) written once.
 */

export interface ConsumptionRequestRow {
  channel: string;
  transactionId: string;
  orderId: string | null;
  reason: string | null;
  signedDate: string;
  deadline: string;
  source: string;
}

/** Kept once per transaction (a resend or a sweep's copy finds it there). */
export async function recordConsumptionRequest(run: RunSql, r: ConsumptionRequestRow) {
  await run(sql`
    INSERT INTO consumption_requests (channel, transaction_id, order_id, reason, signed_date, deadline, source, received_at)
    VALUES (${r.channel}::text, ${r.transactionId}::text, ${r.orderId}::uuid, ${r.reason}::text, ${utc(r.signedDate)}, ${utc(r.deadline)},
      ${r.source}::text, ${NOW_UTC})
    ON CONFLICT (channel, transaction_id) DO NOTHING`);
}

/** The answer, once: a later close of the same request changes nothing. Answers whether this one wrote it. */
export async function closeConsumptionRequest(
  run: RunSql,
  channel: string,
  transactionId: string,
  a: { outcome: string; body?: unknown; error?: string },
): Promise<boolean> {
  const rows = await run(sql`
    UPDATE consumption_requests SET outcome = ${a.outcome}::text, body = ${a.body === undefined ? null : JSON.stringify(a.body)}::jsonb,
      error = ${a.error ?? null}::text, answered_at = ${NOW_UTC}
    WHERE channel = ${channel}::text AND transaction_id = ${transactionId}::text AND outcome IS NULL
    RETURNING 1`);
  return rows.length === 1;
}

export interface ConsumptionOrderFacts {
  status: string;
  statusReason: string | null;
  deliveredAt: string | null;
  deliveryAttempts: number;
  consumptionAnswers: unknown;
  /** The create call's consumptionDataConsent; false when it was not said. */
  consumptionDataConsent: boolean;
  gameSendsLogs: boolean;
  granted: boolean;
  /** The latest consumption percentage the game reported for the order's grants; null: none. */
  consumptionPercentage: number | null;
}

/**
 * What the answer is made of: the order of this channel, its consent, its delivery, its game's setting and
 * grant logs (the order's game's own lines only: another game cannot speak for this order).
 */
export async function consumptionOrderFacts(run: RunSql, channel: string, orderId: string): Promise<ConsumptionOrderFacts | undefined> {
  const [row] = await run<ConsumptionOrderFacts>(sql`
    SELECT o.status, o.status_reason AS "statusReason", ${isoOf(sql`coalesce(o.delivered_at, d.delivered_at)`)} AS "deliveredAt",
      coalesce(d.attempts, 0)::int AS "deliveryAttempts", g.consumption_answers AS "consumptionAnswers",
      coalesce(o.consumption_data_consent, false) AS "consumptionDataConsent",
      EXISTS (SELECT 1 FROM grant_log_days l WHERE l.game_id = o.game_id) AS "gameSendsLogs",
      EXISTS (SELECT 1 FROM grant_logs l WHERE l.order_id = o.id AND l.game_id = o.game_id) AS granted,
      (SELECT l.consumption_percentage FROM grant_logs l
        WHERE l.order_id = o.id AND l.game_id = o.game_id AND l.consumption_percentage IS NOT NULL
        ORDER BY l.consumption_reported_at DESC LIMIT 1) AS "consumptionPercentage"
    FROM orders o JOIN games g ON g.id = o.game_id LEFT JOIN deliveries d ON d.order_id = o.id
    WHERE o.id = ${orderId}::uuid AND o.channel = ${channel}::text`);
  return row;
}

export async function consumptionRequestOf(run: RunSql, channel: string, transactionId: string) {
  const [row] = await run<{ outcome: string | null; body: unknown; error: string | null; orderId: string | null }>(sql`
    SELECT outcome, body, error, order_id::text AS "orderId" FROM consumption_requests
    WHERE channel = ${channel}::text AND transaction_id = ${transactionId}::text`);
  return row;
}
