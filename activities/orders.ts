import type { PaymentNotification } from '../channels/types';
import type { Money } from '../domain/money';
import { REASONS, type OrderStatus } from '../domain/order-status';
import { deliveryIdFor } from '../domain/ids';
import type { PurchaseInput } from '../workflows/definitions';
import { Prisma } from '../generated/prisma/client';
import { businessMetrics } from '../infra/metrics';
import type { ActivityDeps } from './deps';
import { NOW_UTC, adapterErrorKind, inTransaction, utc } from '../infra/db';
import { paidPatch, transitionOrder } from './ledger';

export type OpenOrderParams = Omit<PurchaseInput, 'timing' | 'itemName'> & {
  expiresAt: string;
  /** Set when the risk check denied the order: it is stored as REJECTED. */
  rejection?: string;
};

export interface OpenedOrder {
  status: Extract<OrderStatus, 'PENDING_PAYMENT' | 'REJECTED'>;
  reason?: string;
}

/** The order center's books: orders, their history, payment results and stock reservations. */
export function createOrderActivities({ db, sql }: ActivityDeps) {
  return {
    /**
     * Persists the order with its first history row, reserving limited stock, in one statement
     * (all of it or nothing). Idempotent by order id: a retry finds the order it created.
     */
    async openOrder(params: OpenOrderParams): Promise<OpenedOrder> {
      let rows: { status: OpenedOrder['status']; status_reason: string | null }[];
      try {
        rows = await sql(Prisma.sql`
          WITH item AS (
            SELECT stock_available IS NOT NULL AS limited FROM items WHERE sku = ${params.sku}::text
          ), reserved AS (
            UPDATE items SET stock_available = stock_available - ${params.quantity}::int, updated_at = ${NOW_UTC}
            WHERE sku = ${params.sku}::text AND ${params.rejection ?? null}::text IS NULL
              AND stock_available >= ${params.quantity}::int
            RETURNING sku
          ), outcome AS (
            SELECT coalesce(${params.rejection ?? null}::text,
                CASE WHEN coalesce((SELECT limited FROM item), false) AND NOT EXISTS (SELECT 1 FROM reserved)
                  THEN ${REASONS.outOfStock}::text END) AS reason,
              EXISTS (SELECT 1 FROM reserved) AS reserves
          ), decision AS (
            -- A reason to refuse means a rejected order; none, an order awaiting payment.
            SELECT CASE WHEN reason IS NULL THEN 'PENDING_PAYMENT' ELSE 'REJECTED' END AS status, reason, reserves
            FROM outcome
          ), created AS (
            INSERT INTO orders (id, game_id, user_id, sku, quantity, grants, region, currency, amount, channel,
              status, status_reason, idempotency_key, request_hash, client_ip, device_id, expires_at, updated_at)
            SELECT ${params.orderId}::uuid, ${params.gameId}::text, ${params.userId}::text, ${params.sku}::text,
              ${params.quantity}::int, ${JSON.stringify(params.grants)}::jsonb, ${params.region}::text,
              ${params.amount.currency}::text, ${params.amount.value}::int, ${params.channel}::text,
              d.status, d.reason, ${params.idempotencyKey}::text, ${params.requestHash}::text,
              ${params.clientIp ?? null}::text, ${params.deviceId ?? null}::text, ${utc(params.expiresAt)}, ${NOW_UTC}
            FROM decision d
            RETURNING id, status, status_reason
          ), history AS (
            INSERT INTO order_history (order_id, status, reason) SELECT id, status, status_reason FROM created
          ), reservation AS (
            INSERT INTO stock_reservations (order_id, sku, quantity, status, updated_at)
            SELECT c.id, ${params.sku}::text, ${params.quantity}::int, 'RESERVED', ${NOW_UTC}
            FROM created c, decision d WHERE d.reserves
          )
          SELECT status, status_reason FROM created`);
        businessMetrics.orderOpened({ game: params.gameId, channel: params.channel }, rows[0]!.status);
      } catch (err) {
        // This order exists: an earlier attempt of this activity created it (the statement changed nothing).
        if (!isUniqueViolation(err)) throw err;
        rows = await sql(Prisma.sql`SELECT status, status_reason FROM orders WHERE id = ${params.orderId}::uuid`);
      }
      const { status, status_reason } = rows[0]!;
      // How the order was opened; when a re-run finds it moved on, the workflow's next steps find
      // their work done (see hasPassed).
      return status === 'REJECTED' ? { status, reason: status_reason ?? undefined } : { status: 'PENDING_PAYMENT' };
    },

    async recordPaymentResult(params: { orderId: string; channel: string; notification: PaymentNotification }) {
      const n = params.notification;
      const recorded = await sql(Prisma.sql`
        INSERT INTO payment_attempts (order_id, channel, notification_id, channel_payment_id, channel_txn_id, result, amount, currency)
        VALUES (${params.orderId}::uuid, ${params.channel}::text, ${n.notificationId}::text, ${n.channelPaymentId}::text,
          ${n.channelTxnId ?? null}::text, ${n.result}::text, ${n.paid?.value ?? null}::int, ${n.paid?.currency ?? null}::text)
        ON CONFLICT (order_id, notification_id) DO NOTHING
        RETURNING id`);
      // Once per notification: duplicates the channel resends are not new results.
      if (recorded.length === 1) businessMetrics.paymentResult(params.channel, n.result);
    },

    async markPaid(params: { orderId: string; notification: PaymentNotification }) {
      await transitionOrder(sql, params.orderId, 'PAID', undefined, { paid: paidPatch(params.notification) });
    },

    /** Paid, but not what the order asked for: never deliver, keep the discrepancy for a person. */
    async holdForReview(params: { orderId: string; expected: Money; notification: PaymentNotification }) {
      const n = params.notification;
      await db.$transaction(async (tx) => {
        await tx.paymentDiscrepancy.createMany({
          data: [
            {
              orderId: params.orderId,
              notificationId: n.notificationId,
              expectedAmount: params.expected.value,
              expectedCurrency: params.expected.currency,
              paidAmount: n.paid?.value ?? 0,
              paidCurrency: n.paid?.currency ?? params.expected.currency,
            },
          ],
          skipDuplicates: true,
        });
        await transitionOrder(inTransaction(tx), params.orderId, 'MANUAL_REVIEW', REASONS.amountMismatch, { paid: paidPatch(n) });
      });
    },

    async closeOrder(params: { orderId: string; reason: string }) {
      await transitionOrder(sql, params.orderId, 'CLOSED', params.reason, { stamp: 'closed_at' }, { releaseStock: true });
    },

    async startDelivery(params: { orderId: string }): Promise<string> {
      const deliveryId = deliveryIdFor(params.orderId);
      await transitionOrder(sql, params.orderId, 'DELIVERING', undefined, {}, { openDelivery: deliveryId });
      return deliveryId;
    },

    async orderStatus(params: { orderId: string }): Promise<{ status: OrderStatus; channel: string }> {
      const order = await db.order.findUniqueOrThrow({
        where: { id: params.orderId },
        select: { status: true, channel: true },
      });
      return { status: order.status as OrderStatus, channel: order.channel };
    },
  };
}

/** A unique key refused the row: node-postgres's SQLSTATE, Prisma's P2002, or its adapter's kind for raw SQL. */
export function isUniqueViolation(err: unknown): boolean {
  if ((err as { code?: unknown }).code === '23505') return true; // node-postgres: unique_violation
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  return err.code === 'P2002' || adapterErrorKind(err) === 'UniqueConstraintViolation';
}
