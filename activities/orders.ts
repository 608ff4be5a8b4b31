import type { PaymentNotification } from '../channels/types';
import type { Money } from '../domain/money';
import { REASONS, type OrderStatus } from '../domain/order-status';
import { deliveryIdFor } from '../domain/ids';
import type { PurchaseInput } from '../workflows/definitions';
import { Prisma } from '../generated/prisma/client';
import { businessMetrics } from '../infra/metrics';
import type { ActivityDeps } from './deps';
import { releaseStock, transitionOrder } from './ledger';

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
export function createOrderActivities({ db }: ActivityDeps) {
  async function existingOrder(orderId: string): Promise<OpenedOrder | undefined> {
    const found = await db.order.findUnique({ where: { id: orderId }, select: { status: true, statusReason: true } });
    return found
      ? { status: found.status as OpenedOrder['status'], reason: found.statusReason ?? undefined }
      : undefined;
  }

  return {
    /** Persists the order, reserving limited stock; idempotent by order id. */
    async openOrder(params: OpenOrderParams): Promise<OpenedOrder> {
      const existing = await existingOrder(params.orderId);
      if (existing) return existing;
      try {
        const created = await db.$transaction(async (tx) => {
          let reservesStock = false;
          let opened: OpenedOrder = params.rejection
            ? { status: 'REJECTED', reason: params.rejection }
            : { status: 'PENDING_PAYMENT' };
          if (opened.status === 'PENDING_PAYMENT') {
            const reserved = await tx.item.updateMany({
              where: { sku: params.sku, stockAvailable: { gte: params.quantity } },
              data: { stockAvailable: { decrement: params.quantity } },
            });
            const limited = await tx.item.count({ where: { sku: params.sku, stockAvailable: { not: null } } });
            if (limited && reserved.count === 0) opened = { status: 'REJECTED', reason: REASONS.outOfStock };
            reservesStock = limited > 0 && reserved.count === 1;
          }
          await tx.order.create({
            data: {
              id: params.orderId,
              gameId: params.gameId,
              userId: params.userId,
              sku: params.sku,
              quantity: params.quantity,
              grants: params.grants as unknown as Prisma.InputJsonValue,
              region: params.region,
              currency: params.amount.currency,
              amount: params.amount.value,
              channel: params.channel,
              status: opened.status,
              statusReason: opened.reason,
              idempotencyKey: params.idempotencyKey,
              requestHash: params.requestHash,
              clientIp: params.clientIp,
              deviceId: params.deviceId,
              expiresAt: new Date(params.expiresAt),
              history: { create: { status: opened.status, reason: opened.reason } },
              ...(reservesStock
                ? { stockReservation: { create: { sku: params.sku, quantity: params.quantity, status: 'RESERVED' } } }
                : {}),
            },
          });
          return opened;
        });
        businessMetrics.orderOpened({ game: params.gameId, channel: params.channel }, created.status);
        return created;
      } catch (err) {
        // A concurrent attempt of this same activity created it first.
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
          const raced = await existingOrder(params.orderId);
          if (raced) return raced;
        }
        throw err;
      }
    },

    async recordPaymentResult(params: { orderId: string; channel: string; notification: PaymentNotification }) {
      const n = params.notification;
      const recorded = await db.paymentAttempt.createMany({
        data: [
          {
            orderId: params.orderId,
            channel: params.channel,
            notificationId: n.notificationId,
            channelPaymentId: n.channelPaymentId,
            channelTxnId: n.channelTxnId,
            result: n.result,
            amount: n.paid?.value,
            currency: n.paid?.currency,
          },
        ],
        skipDuplicates: true,
      });
      // Once per notification: duplicates the channel resends are not new results.
      if (recorded.count === 1) businessMetrics.paymentResult(params.channel, n.result);
    },

    async markPaid(params: { orderId: string; notification: PaymentNotification }) {
      await db.$transaction((tx) => transitionOrder(tx, params.orderId, 'PAID', undefined, paidFields(params.notification)));
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
        await transitionOrder(tx, params.orderId, 'MANUAL_REVIEW', REASONS.amountMismatch, paidFields(n));
      });
    },

    async closeOrder(params: { orderId: string; reason: string }) {
      await db.$transaction(async (tx) => {
        await transitionOrder(tx, params.orderId, 'CLOSED', params.reason, { closedAt: new Date() });
        await releaseStock(tx, params.orderId);
      });
    },

    async startDelivery(params: { orderId: string }): Promise<string> {
      const deliveryId = deliveryIdFor(params.orderId);
      await db.$transaction(async (tx) => {
        await tx.delivery.createMany({
          data: [{ id: deliveryId, orderId: params.orderId, status: 'PENDING' }],
          skipDuplicates: true,
        });
        await transitionOrder(tx, params.orderId, 'DELIVERING');
      });
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

export function paidFields(n: PaymentNotification): Prisma.OrderUpdateManyMutationInput {
  return {
    paidAt: n.paidAt ? new Date(n.paidAt) : new Date(),
    channelTxnId: n.channelTxnId,
    paidAmount: n.paid?.value,
    paidCurrency: n.paid?.currency,
  };
}
