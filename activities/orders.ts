import { piiKeyring, sealOrderPii } from '../infra/pii';
import { ApplicationFailure } from '@temporalio/common';
import type { DeliveryMode } from '../domain/fulfillment/modes';
import type { Money } from '../domain/money';
import { deliveryIdFor } from '../domain/ids';
import { REASONS, type OrderStatus } from '../domain/orders/status';
import { businessMetrics } from '../infra/metrics';
import type { Config } from '../infra/config';
import type { Database, RunSql } from '../infra/db';
import { deliveryMode, openDelivery } from '../store/deliveries';
import {
  openOrder,
  openedBefore,
  orderStatusOf,
  transitionOrder,
  type NewOrder,
  type OpenedOrderRow,
  type OrderPatch,
} from '../store/orders';
import { journalPaymentCaptured, journalPaymentHeld, journalReviewReleased } from '../store/journal';
import { recordDiscrepancy, recordPaymentResult } from '../store/payments';
import { releaseStock } from '../store/stock';
import { releaseMinorHold } from '../store/minor-caps';
import { isMinor } from '../domain/risk/minor-caps';
import { releaseAllowances, releasePending, usedAllowances } from '../store/allowances';
import { refusalOf } from '../domain/catalog/allowances';
import type { Sql } from '../store/sql';
import { FAILURE, type PaymentNotification } from '../workflows/contract';
import type { ActivityDeps } from './deps';

/** Plaintext personal data only from orders started before it was sealed (see sealOrderPii). */
export type OpenOrderParams = NewOrder & { clientIp?: string; deviceId?: string };

export interface OpenedOrder {
  status: Extract<OrderStatus, 'PENDING_PAYMENT' | 'REJECTED'>;
  reason?: string;
}

/** Where an order's statements go, and whether they write its events (EVENTS_BROKER is not `none`). */
export interface OrderBooks {
  sql: RunSql;
  events: boolean;
}

export const orderBooks = (database: Database, config: Pick<Config, 'EVENTS_BROKER'>): OrderBooks => ({
  sql: database.sql,
  events: config.EVENTS_BROKER !== 'none',
});

/**
 * Moves the order and counts it. A step that finds its work done changes nothing; an illegal move is
 * retried, not failed: a workflow holding money never ends on a defect, it waits, visible in the
 * Temporal UI with this error, until the books or the code are put right.
 */
export async function moveOrder(
  { sql, events }: OrderBooks,
  orderId: string,
  to: OrderStatus,
  change: { reason?: string; patch?: OrderPatch; onlyFrom?: readonly OrderStatus[] } = {},
  effects: Sql[] = [],
): Promise<void> {
  const result = await transitionOrder(sql, orderId, to, { ...change, events }, effects);
  if (result.outcome === 'ILLEGAL') {
    throw ApplicationFailure.retryable(
      `order ${orderId} cannot go from ${result.current ?? 'nowhere'} to ${to}`,
      FAILURE.illegalTransition,
    );
  }
  if (result.outcome === 'MOVED') businessMetrics.orderTransitioned({ game: result.gameId, channel: result.channel }, to);
}

/** What the channel's notification says was paid, for the order's columns. */
export function paidPatch(n: PaymentNotification): OrderPatch['paid'] {
  return {
    paidAt: n.paidAt ?? new Date().toISOString(),
    channelTxnId: n.channelTxnId,
    amount: n.paid?.value,
    currency: n.paid?.currency,
  };
}

/** Thrown inside the transaction to roll back what an order refused by its allowances took. */
class AllowanceRefusedError extends Error {
  constructor(readonly key: string | null) {
    super('refused by an allowance');
  }
}

/**
 * Opens an order that takes allowances: the takes, the stock and the order in one statement, in a
 * transaction rolled back when any of them refuses (a limit must not keep what a sold-out order
 * took); the refused order is then stored REJECTED, taking nothing, with its refusal's figures.
 */
async function openTakingAllowances(database: Database, params: OpenOrderParams, books: OrderBooks): Promise<OpenedOrderRow> {
  const terms = params.allowances!;
  let refusedKey: string | null;
  try {
    return await database.transaction(async (tx) => {
      const opened = await openOrder(tx, params, books);
      if (opened.status === 'REJECTED') throw new AllowanceRefusedError(opened.allowance_refused ?? null);
      return opened;
    });
  } catch (err) {
    if (!(err instanceof AllowanceRefusedError)) {
      // A retry finds the order an earlier attempt opened (its unique key aborted this transaction).
      const existing = await openedBefore(database.sql, params.orderId);
      if (existing) return existing;
      throw err;
    }
    refusedKey = err.key;
  }
  const take = terms.takes.find((t) => t.key === refusedKey);
  if (!take) return openOrder(database.sql, { ...params, rejection: REASONS.outOfStock }, books);
  // The figures are read after the rollback: what the counter holds now, for the answer only.
  const counters = await usedAllowances(database.sql, params.gameId, params.userId, [take.key]);
  const { reason, details } = refusalOf(take, counters[take.key]);
  return openOrder(database.sql, { ...params, rejection: reason, rejectionDetails: details }, books);
}

/** The order center's books: orders, their history, payment results and stock reservations. */
export function createOrderActivities({ database, config, riskCounters }: ActivityDeps) {
  const { db, sql } = database;
  const books = orderBooks(database, config);
  return {
    /** Persists the order, reserving limited stock (a refused order too, for the record). Idempotent. */
    async openOrder(params: OpenOrderParams): Promise<OpenedOrder> {
      // An order started before personal data was sealed carries it in plaintext: the books get it sealed.
      const { clientIp, deviceId, ...rest } = params;
      const sealed = { ...sealOrderPii(piiKeyring(config), { clientIp, deviceId }), ...rest };
      const opened = params.allowances && !params.rejection ? await openTakingAllowances(database, sealed, books) : await openOrder(sql, sealed, books);
      if (opened.created) businessMetrics.orderOpened({ game: params.gameId, channel: params.channel }, opened.status);
      // Rejected here after risk held a minor's month (out of stock, a limit): the hold goes back.
      if (opened.status === 'REJECTED' && isMinor(params.ageBand)) await riskCounters?.giveBackMinorHold(params.orderId);
      // How the order was opened; when a re-run finds it moved on, the workflow's next steps find
      // their work done (see hasPassed).
      return opened.status === 'REJECTED'
        ? { status: 'REJECTED', reason: opened.status_reason ?? undefined }
        : { status: 'PENDING_PAYMENT' };
    },

    async recordPaymentResult(params: { orderId: string; channel: string; notification: PaymentNotification }) {
      const n = params.notification;
      const isNew = await recordPaymentResult(sql, {
        orderId: params.orderId,
        channel: params.channel,
        notificationId: n.notificationId,
        channelPaymentId: n.channelPaymentId,
        channelTxnId: n.channelTxnId,
        result: n.result,
        paid: n.paid,
      });
      // Once per notification: duplicates the channel resends are not new results.
      if (isNew) businessMetrics.paymentResult(params.channel, n.result);
    },

    /** Takes the money: the order is paid. */
    async markPaid(params: { orderId: string; notification: PaymentNotification }) {
      const n = params.notification;
      await moveOrder(books, params.orderId, 'PAID', { patch: { paid: paidPatch(n) } }, [
        releasePending,
        ...(n.paid ? [journalPaymentCaptured(n.paid, n.channelTxnId)] : []),
      ]);
    },

    /** Paid, but not what the order asked for: never deliver, keep the discrepancy for a person. */
    async holdForReview(params: { orderId: string; expected: Money; notification: PaymentNotification }) {
      const n = params.notification;
      const paid = n.paid ?? { currency: params.expected.currency, value: 0 };
      await moveOrder(
        books,
        params.orderId,
        'MANUAL_REVIEW',
        { reason: n.productMismatch ? REASONS.productMismatch : REASONS.amountMismatch, patch: { paid: paidPatch(n) } },
        [releasePending, recordDiscrepancy(n.notificationId, params.expected, paid), journalPaymentHeld(paid, n.channelTxnId)],
      );
    },

    /**
     * Money that landed after the order closed and that the channel will not return (App Store, a refusal
     * for good): booked as held (suspense) on the order, now MANUAL_REVIEW for a person.
     */
    async holdLatePayment(params: { orderId: string; notification: PaymentNotification }) {
      const n = params.notification;
      await moveOrder(books, params.orderId, 'MANUAL_REVIEW', { reason: REASONS.latePayment, patch: { paid: paidPatch(n) }, onlyFrom: ['CLOSED'] }, [
        ...(n.paid ? [journalPaymentHeld(n.paid, n.channelTxnId)] : []),
      ]);
    },

    /** Paid exactly, but risk asked a person: the money is held (suspense) until approved or denied. */
    async holdForRiskReview(params: { orderId: string; notification: PaymentNotification }) {
      const n = params.notification;
      await moveOrder(books, params.orderId, 'RISK_REVIEW', { patch: { paid: paidPatch(n) } }, [
        releasePending,
        ...(n.paid ? [journalPaymentHeld(n.paid, n.channelTxnId)] : []),
      ]);
    },

    /** Closes an unpaid order; its compensation of the stock reservation runs in the same statement. */
    async closeOrder(params: { orderId: string; reason: string }) {
      await moveOrder(books, params.orderId, 'CLOSED', { reason: params.reason, patch: { stamp: 'closed_at' } }, [releaseStock, releaseAllowances, releaseMinorHold]);
      await riskCounters?.giveBackMinorHold(params.orderId); // a retry gives it back too: idempotent
    },

    /**
     * `brokers`: the workflow awaits acks, so the delivery takes the game's mode (else HTTP). Returns the
     * deliveryId, or with a broker mode the id and the mode (the workflow then awaits the game's ack).
     */
    async startDelivery(params: { orderId: string; brokers?: boolean }): Promise<string | { deliveryId: string; mode: DeliveryMode }> {
      const deliveryId = deliveryIdFor(params.orderId);
      await moveOrder(books, params.orderId, 'DELIVERING', {}, [openDelivery(deliveryId, params.brokers), journalReviewReleased]);
      if (!params.brokers) return deliveryId;
      const mode = (await deliveryMode(sql, deliveryId)) ?? 'HTTP';
      return mode === 'HTTP' ? deliveryId : { deliveryId, mode };
    },

    async orderStatus(params: { orderId: string }): Promise<{ status: OrderStatus; channel: string }> {
      const order = await orderStatusOf(db, params.orderId);
      return { status: order.status as OrderStatus, channel: order.channel };
    },
  };
}
