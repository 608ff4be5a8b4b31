import type { Money } from '../domain/money';
import type { RunSql } from '../infra/db';
import { NOW_UTC, sql, type Sql } from './sql';

/** What channels told us: every verified notification, the results orders acted on, and discrepancies. */

export interface PaymentResult {
  orderId: string;
  channel: string;
  notificationId: string;
  channelPaymentId: string;
  channelTxnId?: string;
  result: 'SUCCESS' | 'FAILED';
  paid?: Money;
}

/** Returns whether this result is new (a channel's resent copy is not). */
export async function recordPaymentResult(run: RunSql, r: PaymentResult): Promise<boolean> {
  const recorded = await run(sql`
    INSERT INTO payment_attempts (order_id, channel, notification_id, channel_payment_id, channel_txn_id, result, amount, currency)
    VALUES (${r.orderId}::uuid, ${r.channel}::text, ${r.notificationId}::text, ${r.channelPaymentId}::text,
      ${r.channelTxnId ?? null}::text, ${r.result}::text, ${r.paid?.value ?? null}::int, ${r.paid?.currency ?? null}::text)
    ON CONFLICT (order_id, notification_id) DO NOTHING
    RETURNING id`);
  return recorded.length === 1;
}

/**
 * Paid, but not what the order asked for: the discrepancy, kept for a person. Runs in the statement
 * that moves the order (CTE `moved`) to MANUAL_REVIEW.
 */
export const recordDiscrepancy = (notificationId: string, expected: Money, paid: Money): Sql => sql`discrepancy AS (
    INSERT INTO payment_discrepancies (order_id, notification_id, expected_amount, expected_currency, paid_amount, paid_currency)
    SELECT id, ${notificationId}::text, ${expected.value}::int, ${expected.currency}::text, ${paid.value}::int, ${paid.currency}::text
    FROM moved ON CONFLICT (order_id, notification_id) DO NOTHING)`;

export interface ReceivedNotification {
  channel: string;
  notificationId: string;
  channelPaymentId: string;
  merchantOrderId: string;
  /** SUCCESS, FAILED, or the kind of a refund, chargeback, revocation or notice. */
  result: string;
  paid?: Money;
  rawBody: string;
  /** The order it belongs to, when the caller found it already (refunds, chargebacks). */
  orderId?: string;
  /** Where this copy came from; the first copy's is kept. */
  source?: NotificationSource;
}

export const NOTIFICATION_SOURCES = ['CALLBACK', 'SWEEP', 'RECEIPT', 'QUERY'] as const;
export type NotificationSource = (typeof NOTIFICATION_SOURCES)[number];

export interface RecordedNotification {
  orderId: string | null;
  /** No copy of it was received before (by any source). */
  firstCopy: boolean;
}

/**
 * Keeps a verified notification, linked to its order when the payment and the merchant order id
 * name the same one of this account; a copy already received is counted. Returns the order it
 * belongs to, if known. The account matters: store ids come from the client (`appAccountToken`,
 * `obfuscatedProfileId`), so another app's purchase can name any order.
 */
export async function recordNotification(run: RunSql, n: ReceivedNotification): Promise<RecordedNotification> {
  const [recorded] = await run<{ order_id: string | null; inserted: boolean }>(sql`
    INSERT INTO channel_notifications
      (channel, notification_id, channel_payment_id, order_id, result, amount, currency, raw_body, source)
    VALUES (${n.channel}::text, ${n.notificationId}::text, ${n.channelPaymentId}::text,
      coalesce(${n.orderId ?? null}::uuid, (SELECT id FROM orders WHERE channel_payment_id = ${n.channelPaymentId}::text
         AND id::text = ${n.merchantOrderId}::text AND channel = ${n.channel}::text)),
      ${n.result}::text, ${n.paid?.value ?? null}::int, ${n.paid?.currency ?? null}::text, ${n.rawBody}::text,
      ${n.source ?? 'CALLBACK'}::text)
    ON CONFLICT (channel, notification_id) DO UPDATE
      SET received_count = channel_notifications.received_count + 1, last_received_at = ${NOW_UTC},
        -- A copy that arrived before its order knew the payment is linked by a later copy.
        order_id = coalesce(channel_notifications.order_id, EXCLUDED.order_id)
    RETURNING order_id::text, (xmax = 0) AS inserted`);
  return { orderId: recorded?.order_id ?? null, firstCopy: recorded?.inserted === true };
}

/**
 * Claims a store transaction for an order: one order per transaction, ever. Answers whether this
 * order holds it (now or before) or another one does.
 */
export async function claimStoreTransaction(run: RunSql, channel: string, channelTradeNo: string, orderId: string) {
  const [row] = await run<{ order_id: string }>(sql`
    WITH claimed AS (
      INSERT INTO store_receipts (channel, channel_trade_no, order_id) VALUES (${channel}::text, ${channelTradeNo}::text, ${orderId}::uuid)
      ON CONFLICT (channel, channel_trade_no) DO NOTHING RETURNING order_id)
    SELECT order_id::text FROM claimed
    UNION ALL
    SELECT order_id::text FROM store_receipts WHERE channel = ${channel}::text AND channel_trade_no = ${channelTradeNo}::text
    LIMIT 1`);
  return row?.order_id === orderId ? 'THIS_ORDER' : 'ANOTHER_ORDER';
}
