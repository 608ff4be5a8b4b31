import { ApplicationFailure } from '@temporalio/common';
import type { Prisma } from '../generated/prisma/client';
import { ORDER_STATUSES, canTransition, type OrderStatus } from '../domain/order-status';
import { businessMetrics } from '../infra/metrics';
import { FAILURE } from '../workflows/definitions';

type Tx = Prisma.TransactionClient;

/**
 * Moves an order to `to` and records it in the order history, in the caller's transaction.
 * Idempotent: a retried activity that finds the order already in `to` changes nothing.
 */
export async function transitionOrder(
  tx: Tx,
  orderId: string,
  to: OrderStatus,
  reason?: string,
  patch: Prisma.OrderUpdateManyMutationInput = {},
): Promise<void> {
  const allowedFrom = ORDER_STATUSES.filter((from) => canTransition(from, to));
  const updated = await tx.order.updateManyAndReturn({
    where: { id: orderId, status: { in: allowedFrom } },
    data: { ...patch, status: to, statusReason: reason ?? null },
    select: { gameId: true, channel: true },
  });
  if (updated.length === 0) {
    const current = await tx.order.findUnique({ where: { id: orderId }, select: { status: true } });
    if (current?.status === to) return;
    throw ApplicationFailure.nonRetryable(
      `order ${orderId} cannot go from ${current?.status ?? 'nowhere'} to ${to}`,
      FAILURE.illegalTransition,
    );
  }
  await tx.orderHistory.createMany({ data: [{ orderId, status: to, reason }], skipDuplicates: true });
  // Counted before the caller's transaction commits; only a rollback after this line counts twice.
  businessMetrics.orderTransitioned({ game: updated[0].gameId, channel: updated[0].channel }, to);
}

/** Gives reserved stock back to the item, once. */
export async function releaseStock(tx: Tx, orderId: string): Promise<void> {
  const reservation = await tx.stockReservation.findUnique({ where: { orderId } });
  if (!reservation) return;
  const released = await tx.stockReservation.updateMany({
    where: { orderId, status: 'RESERVED' },
    data: { status: 'RELEASED' },
  });
  if (released.count === 1) {
    await tx.item.update({
      where: { sku: reservation.sku },
      data: { stockAvailable: { increment: reservation.quantity } },
    });
  }
}

export async function commitStock(tx: Tx, orderId: string): Promise<void> {
  await tx.stockReservation.updateMany({ where: { orderId, status: 'RESERVED' }, data: { status: 'COMMITTED' } });
}
