import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { gameServerClientFor } from '../fulfillment/registry';
import { credentialsKeyring } from '../infra/credentials';
import { businessMetrics } from '../infra/metrics';
import { openGameSecret } from '../store/catalog';
import { ACK_TIMEOUT_MS, brokerMessageId, type DeliveryMode } from '../domain/fulfillment/modes';
import {
  closeDelivery,
  deliveredByAck,
  deliveryOrder,
  recordAttempt,
  recordFailedAttempt,
  recordPublishedAttempt,
  type AckResult,
  type AttemptOutcome,
} from '../store/deliveries';
import { journalGoodsDelivered } from '../store/journal';
import { activityRecovered } from '../store/activity-failures';
import { commitStock } from '../store/stock';
import { commitAllowances } from '../store/allowances';
import type { ActivityDeps } from './deps';
import { moveOrder, orderBooks } from './orders';

/** What a delivery attempt over a broker ends with: the message awaits the game's ack, or an ack was recorded before it. */
export type BrokerAttempt = { awaitingAck: true; ackTimeoutMs: number } | { acked: AckResult };

/** Fulfillment: hands the goods to the game server; the same deliveryId on every attempt. */
/** What a delivered order settles in its statement, however the game took the goods: stock sold, allowances kept, revenue earned. */
const SETTLED_BY_DELIVERY = [commitStock, commitAllowances, journalGoodsDelivered];

export function createDeliveryActivities({ database, config }: ActivityDeps) {
  const { sql } = database;
  const books = orderBooks(database, config);
  const gameServers = gameServerClientFor(config);
  return {
    /**
     * One attempt. HTTP: the game's answer decides (DELIVERED here). A broker delivery (its mode fixed
     * when it started) is published, and then awaits the game's ack in the workflow; nothing is
     * published once an ack is recorded or the delivery closed.
     */
    async deliverOrder(params: { orderId: string; deliveryId: string; deliveryAttemptTimeoutMs: number; deliverBy?: string }): Promise<BrokerAttempt | undefined> {
      const order = await deliveryOrder(sql, params.orderId);
      if (!order) throw ApplicationFailure.nonRetryable(`no order ${params.orderId}`, 'ORDER_NOT_FOUND');
      if (order.status === 'DELIVERED') return; // a retry after the game server already took it
      const mode = order.mode as DeliveryMode;
      if (mode !== 'HTTP') {
        if (order.ack_result) return { acked: order.ack_result };
        if (order.closed_at) throw ApplicationFailure.nonRetryable(`delivery ${params.deliveryId} is closed`, 'DELIVERY_CLOSED');
      }
      const answer = await gameServers.send({
        kind: 'DELIVERY',
        mode,
        gameId: order.game_id,
        secret: openGameSecret(credentialsKeyring(config), order),
        url: order.delivery_url,
        messageId: brokerMessageId(params.deliveryId, order.attempts + 1),
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
          ...(mode !== 'HTTP' && { deliverBy: params.deliverBy }),
        },
        ...(order.require_delivery_echo && { expectEcho: { deliveryId: params.deliveryId } }),
        timeoutMs: params.deliveryAttemptTimeoutMs,
        // Gives up at once when the worker cancels the activity.
        signal: Context.current().cancellationSignal,
      });
      if (answer.outcome === 'PUBLISHED') {
        await recordPublishedAttempt(sql, params.deliveryId);
        businessMetrics.deliveryAttempt(order.game_id, true);
        return { awaitingAck: true, ackTimeoutMs: order.ack_timeout_ms ?? ACK_TIMEOUT_MS.default };
      }
      const outcome: AttemptOutcome = {
        statusCode: answer.statusCode,
        ...(answer.outcome === 'RETRY' && { error: answer.error }),
      };

      // The attempt's record, and on success the order's transition with its stock sale, in one statement.
      if (outcome.error) await recordFailedAttempt(sql, params.deliveryId, outcome);
      else {
        await moveOrder(books, order.id, 'DELIVERED', { patch: { stamp: 'delivered_at' } }, [
          recordAttempt(params.deliveryId, outcome),
          ...SETTLED_BY_DELIVERY,
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
      return undefined;
    },

    /**
     * Acts on the game's recorded ack: GRANTED moves the order DELIVERED with the delivery record, the
     * stock sale and the ledger's entry in one statement, as an HTTP 2xx does; REJECTED is counted
     * here and refunded by the workflow. Idempotent.
     */
    async settleDeliveryAck(params: { orderId: string; deliveryId: string; result: AckResult }): Promise<void> {
      const order = await deliveryOrder(sql, params.orderId);
      if (!order) throw ApplicationFailure.nonRetryable(`no order ${params.orderId}`, 'ORDER_NOT_FOUND');
      if (params.result === 'GRANTED' && order.status !== 'DELIVERED') {
        await moveOrder(books, order.id, 'DELIVERED', { patch: { stamp: 'delivered_at' } }, [
          deliveredByAck(params.deliveryId),
          ...SETTLED_BY_DELIVERY,
          activityRecovered(Context.current().info.workflowExecution?.workflowId ?? '', 'deliverOrder'),
        ]);
        if (order.paid_at) businessMetrics.paymentToDelivery(order.game_id, (Date.now() - Date.parse(order.paid_at)) / 1000);
      }
      businessMetrics.deliveryAck(order.game_id, params.result);
    },

    /** Ends a broker delivery without an ack (deadline, operator refund) unless the game's ack came first: that ack is returned. */
    async closeBrokerDelivery(params: { deliveryId: string }): Promise<{ ack?: AckResult }> {
      return closeDelivery(sql, params.deliveryId);
    },
  };
}
