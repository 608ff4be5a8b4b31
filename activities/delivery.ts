import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { gameServerClientFor } from '../fulfillment/registry';
import { credentialsKeyring } from '../infra/credentials';
import { businessMetrics } from '../infra/metrics';
import { openGameSecret } from '../store/catalog';
import { deliveryOrder, recordAttempt, recordFailedAttempt, type AttemptOutcome } from '../store/deliveries';
import { journalGoodsDelivered } from '../store/journal';
import { activityRecovered } from '../store/activity-failures';
import { commitStock } from '../store/stock';
import { commitAllowances } from '../store/allowances';
import type { ActivityDeps } from './deps';
import { moveOrder, orderBooks } from './orders';

/** Fulfillment: hands the goods to the game server; the same deliveryId on every attempt. */
export function createDeliveryActivities({ database, config }: ActivityDeps) {
  const { sql } = database;
  const books = orderBooks(database, config);
  const gameServers = gameServerClientFor(config);
  return {
    async deliverOrder(params: { orderId: string; deliveryId: string; deliveryAttemptTimeoutMs: number }) {
      const order = await deliveryOrder(sql, params.orderId);
      if (!order) throw ApplicationFailure.nonRetryable(`no order ${params.orderId}`, 'ORDER_NOT_FOUND');
      if (order.status === 'DELIVERED') return; // a retry after the game server already took it
      const answer = await gameServers.send({
        kind: 'DELIVERY',
        gameId: order.game_id,
        secret: openGameSecret(credentialsKeyring(config), order),
        url: order.delivery_url,
        payload: {
          deliveryId: params.deliveryId,
          orderId: order.id,
          userId: order.user_id,
          sku: order.sku,
          quantity: order.quantity,
          grants: order.grants,
          ...(order.bonus_grants !== null && { bonusGrants: order.bonus_grants }),
          amount: { currency: order.currency, value: order.amount },
          paidAt: order.paid_at ?? undefined,
        },
        ...(order.require_delivery_echo && { expectEcho: { deliveryId: params.deliveryId } }),
        timeoutMs: params.deliveryAttemptTimeoutMs,
        // Gives up at once when the worker cancels the activity.
        signal: Context.current().cancellationSignal,
      });
      const outcome: AttemptOutcome = {
        statusCode: answer.statusCode,
        ...(answer.outcome === 'RETRY' && { error: answer.error }),
      };

      // The attempt's record, and on success the order's transition with its stock sale, in one statement.
      if (outcome.error) await recordFailedAttempt(sql, params.deliveryId, outcome);
      else {
        await moveOrder(books, order.id, 'DELIVERED', { patch: { stamp: 'delivered_at' } }, [
          recordAttempt(params.deliveryId, outcome),
          commitStock,
          commitAllowances,
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
        Context.current().log.warn('delivery attempt failed', { orderId: order.id, ...outcome, ...(answer.outcome === 'RETRY' && { reason: answer.reason }) });
        throw ApplicationFailure.retryable(outcome.error, 'DELIVERY_FAILED');
      }
    },
  };
}
