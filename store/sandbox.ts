import type { SandboxPayment, SandboxRefund } from '../generated/prisma/client';
import type { Database, Db, RunSql } from '../infra/db';
import { isUniqueViolation, join, sql } from './sql';

/**
 * The built-in sandbox provider's own books (sandbox_* tables), kept apart from the platform's:
 * its payments, refunds and the outbox of notifications it sends.
 */

export type { SandboxPayment, SandboxRefund };

export interface NewSandboxPayment {
  id: string;
  merchantOrderId: string;
  amount: number;
  currency: string;
  subject: string;
  /** Also names the merchant account: each account has its own order numbers. */
  notifyUrl: string;
  /** Share of its payments the provider declines (0 unless the account injects faults). */
  declineRate?: number;
}

/** Creates the payment, or returns the one this merchant order already has at this merchant account. */
export async function insertPayment(db: Db, p: NewSandboxPayment): Promise<{ payment: SandboxPayment; created: boolean }> {
  try {
    return { payment: await db.sandboxPayment.create({ data: { ...p, status: 'CREATED' } }), created: true };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const winner = await db.sandboxPayment.findUniqueOrThrow({
      where: { merchantOrderId_notifyUrl: { merchantOrderId: p.merchantOrderId, notifyUrl: p.notifyUrl } },
    });
    return { payment: winner, created: false };
  }
}

export function findPayment(db: Db, id: string): Promise<SandboxPayment | null> {
  return db.sandboxPayment.findUnique({ where: { id } });
}

/** The order's first payment at the provider (an order opened at two sandbox accounts has two). */
export function findPaymentOfMerchantOrder(db: Db, merchantOrderId: string): Promise<SandboxPayment | null> {
  return db.sandboxPayment.findFirst({ where: { merchantOrderId }, orderBy: { createdAt: 'asc' } });
}

export interface Completion {
  id: string;
  payable: readonly string[];
  status: string;
  txnId: string | null;
  paidAmount: number | null;
  paidAt: Date | null;
  now: Date;
  /** The notification and how many copies to queue, due at `notifyAt`. */
  body: string;
  copies: number;
  notifyAt: Date;
}

/**
 * Pays (or fails) a payable payment and queues its notifications, in one statement: of concurrent
 * completions of one payment at most one pays, and a payment is never made unreported.
 */
export async function completePayment(run: RunSql, c: Completion): Promise<boolean> {
  const updated = await run(sql`
    WITH completed AS (
      UPDATE sandbox_payments
         SET status = ${c.status}::text, txn_id = coalesce(${c.txnId}::text, txn_id),
             paid_amount = coalesce(${c.paidAmount}::int, paid_amount),
             paid_at = coalesce(${c.paidAt}::timestamp, paid_at), updated_at = ${c.now}::timestamp
       WHERE id = ${c.id}::text AND status = ANY(${[...c.payable]}::text[])
      RETURNING id, notify_url
    ), outbox AS (
      INSERT INTO sandbox_notifications (payment_id, notify_url, body, next_attempt_at)
      SELECT c.id, c.notify_url, ${c.body}::text, ${c.notifyAt}::timestamp
      FROM completed c, generate_series(1, ${c.copies}::int)
    )
    SELECT id FROM completed`);
  return updated.length === 1;
}

/** Closes a payable payment; false when it was not payable (paid, closed or refunded). */
export async function closePayable(db: Db, id: string, payable: readonly string[]): Promise<boolean> {
  const { count } = await db.sandboxPayment.updateMany({ where: { id, status: { in: [...payable] } }, data: { status: 'CLOSED' } });
  return count === 1;
}

export type RefundDecision<T> = (payment: SandboxPayment, existing: SandboxRefund | null) => T;

/**
 * Decides and records a refund with the payment locked, so that concurrent refunds of one payment
 * are taken one at a time. `decide` throws to refuse; returns the refund row to write, or null when
 * there is nothing to write (an idempotent repeat).
 */
export async function refundLocked(
  database: Database,
  paymentId: string,
  refundId: string,
  decide: RefundDecision<{ amount: number; currency: string } | null>,
): Promise<SandboxPayment | undefined> {
  return database.transaction(async (run) => {
    const [payment] = await run<SandboxPayment>(sql`
      SELECT id, merchant_order_id AS "merchantOrderId", amount, currency, subject, notify_url AS "notifyUrl", status,
        txn_id AS "txnId", paid_amount AS "paidAmount", paid_at AS "paidAt", created_at AS "createdAt", updated_at AS "updatedAt"
      FROM sandbox_payments WHERE id = ${paymentId}::text FOR UPDATE`);
    if (!payment) return undefined;
    const [existing] = await run<SandboxRefund>(sql`
      SELECT id, payment_id AS "paymentId", amount, currency, created_at AS "createdAt"
      FROM sandbox_refunds WHERE id = ${refundId}::text`);
    const row = decide(payment, existing ?? null);
    if (row) {
      await run(sql`INSERT INTO sandbox_refunds (id, payment_id, amount, currency)
        VALUES (${refundId}::text, ${paymentId}::text, ${row.amount}::int, ${row.currency}::text)`);
      await run(sql`UPDATE sandbox_payments SET status = 'REFUNDED', updated_at = now() AT TIME ZONE 'UTC'
        WHERE id = ${paymentId}::text`);
    }
    return payment;
  });
}

export function findRefund(db: Db, id: string): Promise<SandboxRefund | null> {
  return db.sandboxRefund.findUnique({ where: { id } });
}

// ---- The notification outbox ---------------------------------------------------------------------

export interface ClaimedNotification {
  id: bigint | string;
  notifyUrl: string;
  body: string;
  attempts: number;
}

/**
 * Claims due rows by pushing next_attempt_at forward as a lease (SKIP LOCKED, so concurrent
 * dispatchers claim disjoint rows).
 */
export function claimDueNotifications(
  run: RunSql,
  o: { now: Date; leaseUntil: Date; maxAttempts: number; limit: number; paymentIds?: string[] },
): Promise<ClaimedNotification[]> {
  const scope = o.paymentIds
    ? o.paymentIds.length > 0
      ? sql`AND payment_id IN (${join(o.paymentIds)})`
      : sql`AND false`
    : sql``;
  return run<ClaimedNotification>(sql`
    UPDATE sandbox_notifications
       SET next_attempt_at = ${o.leaseUntil}::timestamp
     WHERE id IN (
       SELECT id FROM sandbox_notifications
        WHERE delivered_at IS NULL
          AND attempts < ${o.maxAttempts}
          AND next_attempt_at <= ${o.now}::timestamp
          ${scope}
        ORDER BY next_attempt_at
        LIMIT ${o.limit}
        FOR UPDATE SKIP LOCKED)
    RETURNING id, notify_url AS "notifyUrl", body, attempts`);
}

export async function notificationFailed(db: Db, id: bigint | string, error: string, nextAttemptAt: Date) {
  await db.sandboxNotification.updateMany({
    where: { id: BigInt(id), deliveredAt: null },
    data: { attempts: { increment: 1 }, lastError: error, nextAttemptAt },
  });
}

/** The acknowledged ones of a round, together: one statement per round, not per notification. */
export async function notificationsDelivered(db: Db, ids: (bigint | string)[], at: Date) {
  if (ids.length === 0) return;
  await db.sandboxNotification.updateMany({
    where: { id: { in: ids.map((id) => BigInt(id)) }, deliveredAt: null },
    data: { deliveredAt: at, attempts: { increment: 1 } },
  });
}
