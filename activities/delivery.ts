import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { signedHeaders } from '../domain/signature';
import { businessMetrics } from '../infra/metrics';
import { deliveryOrder, recordAttempt, recordFailedAttempt, type AttemptOutcome } from '../store/deliveries';
import { journalGoodsDelivered } from '../store/journal';
import { activityRecovered } from '../store/activity-failures';
import { commitStock } from '../store/stock';
import type { ActivityDeps } from './deps';
import { moveOrder } from './orders';

/** Fulfillment: hands the goods to the game server; the same deliveryId on every attempt. */
export function createDeliveryActivities({ database }: ActivityDeps) {
  const { sql } = database;
  return {
    async deliverOrder(params: { orderId: string; deliveryId: string; deliveryAttemptTimeoutMs: number }) {
      const order = await deliveryOrder(sql, params.orderId);
      if (!order) throw ApplicationFailure.nonRetryable(`no order ${params.orderId}`, 'ORDER_NOT_FOUND');
      if (order.status === 'DELIVERED') return; // a retry after the game server already took it
      const body = JSON.stringify({
        deliveryId: params.deliveryId,
        orderId: order.id,
        userId: order.user_id,
        sku: order.sku,
        quantity: order.quantity,
        grants: order.grants,
        amount: { currency: order.currency, value: order.amount },
        paidAt: order.paid_at ?? undefined,
      });
      const url = new URL(order.delivery_url);
      const headers = signedHeaders(
        order.secret,
        order.game_id,
        'POST',
        url.pathname + url.search,
        body,
        randomBytes(16).toString('hex'),
        Math.floor(Date.now() / 1000),
      );

      const outcome: AttemptOutcome = {};
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { ...headers, 'Content-Type': 'application/json' },
          body,
          // A redirect is a failed attempt: the goods go only to the URL the game registered.
          redirect: 'manual',
          // Gives up with the attempt timeout, or at once when the worker cancels the activity.
          signal: AbortSignal.any([Context.current().cancellationSignal, AbortSignal.timeout(params.deliveryAttemptTimeoutMs)]),
        });
        outcome.statusCode = response.status;
        await response.arrayBuffer();
        if (!response.ok) outcome.error = `game server answered ${response.status}`;
      } catch (err) {
        outcome.error = `game server unreachable: ${(err as Error).message}`;
      }

      // The attempt's record, and on success the order's transition with its stock sale, in one statement.
      if (outcome.error) await recordFailedAttempt(sql, params.deliveryId, outcome);
      else {
        await moveOrder(sql, order.id, 'DELIVERED', { patch: { stamp: 'delivered_at' } }, [
          recordAttempt(params.deliveryId, outcome),
          commitStock,
          journalGoodsDelivered,
          activityRecovered(Context.current().info.workflowExecution?.workflowId ?? '', 'deliverOrder'),
        ]);
      }
      businessMetrics.deliveryAttempt(order.game_id, !outcome.error);
      if (!outcome.error && order.paid_at) {
        businessMetrics.paymentToDelivery(order.game_id, (Date.now() - Date.parse(order.paid_at)) / 1000);
      }
      if (outcome.error) {
        // The activity logger adds workflowId, activity id and attempt.
        Context.current().log.warn('delivery attempt failed', { orderId: order.id, ...outcome });
        throw ApplicationFailure.retryable(outcome.error, 'DELIVERY_FAILED');
      }
    },
  };
}
