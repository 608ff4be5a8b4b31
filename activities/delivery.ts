import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { signedHeaders } from '../domain/signature';
import { businessMetrics } from '../infra/metrics';
import type { ActivityDeps } from './deps';
import { commitStock, transitionOrder } from './ledger';

/** Fulfillment: hands the goods to the game server; the same deliveryId on every attempt. */
export function createDeliveryActivities({ db }: ActivityDeps) {
  return {
    async deliverOrder(params: { orderId: string; deliveryId: string; deliveryAttemptTimeoutMs: number }) {
      const order = await db.order.findUniqueOrThrow({ where: { id: params.orderId }, include: { game: true } });
      if (order.status === 'DELIVERED') return; // a retry after the game server already took it
      const body = JSON.stringify({
        deliveryId: params.deliveryId,
        orderId: order.id,
        userId: order.userId,
        sku: order.sku,
        quantity: order.quantity,
        grants: order.grants,
        amount: { currency: order.currency, value: order.amount },
        paidAt: order.paidAt?.toISOString(),
      });
      const url = new URL(order.game.deliveryUrl);
      const headers = signedHeaders(
        order.game.secret,
        order.gameId,
        'POST',
        url.pathname + url.search,
        body,
        randomBytes(16).toString('hex'),
        Math.floor(Date.now() / 1000),
      );

      let statusCode: number | undefined;
      let error: string | undefined;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body,
          // Gives up with the attempt timeout, or at once when the worker cancels the activity.
          signal: AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(params.deliveryAttemptTimeoutMs)]),
        });
        statusCode = response.status;
        await response.arrayBuffer();
        if (!response.ok) error = `game server answered ${response.status}`;
      } catch (err) {
        error = `game server unreachable: ${(err as Error).message}`;
      }

      await db.$transaction(async (tx) => {
        await tx.delivery.update({
          where: { id: params.deliveryId },
          data: {
            attempts: { increment: 1 },
            lastStatusCode: statusCode ?? null,
            lastError: error ?? null,
            ...(error ? {} : { status: 'DELIVERED', deliveredAt: new Date() }),
          },
        });
        if (!error) {
          await transitionOrder(tx, order.id, 'DELIVERED', undefined, { deliveredAt: new Date() });
          await commitStock(tx, order.id);
        }
      });
      businessMetrics.deliveryAttempt(order.gameId, !error);
      if (!error && order.paidAt) {
        businessMetrics.paymentToDelivery(order.gameId, (Date.now() - order.paidAt.getTime()) / 1000);
      }
      if (error) {
        // The activity logger adds workflowId, activity id and attempt.
        Context.current().log.warn('delivery attempt failed', { orderId: order.id, statusCode, error });
        throw ApplicationFailure.retryable(error, 'DELIVERY_FAILED');
      }
    },
  };
}
