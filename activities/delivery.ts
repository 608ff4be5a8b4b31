import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { signedHeaders } from '../domain/signature';
import { businessMetrics } from '../infra/metrics';
import type { ActivityDeps } from './deps';
import { Prisma } from '../generated/prisma/client';
import { NOW_UTC } from '../infra/db';
import { transitionOrder } from './ledger';

interface DeliveryOrder {
  id: string;
  game_id: string;
  user_id: string;
  sku: string;
  quantity: number;
  grants: unknown;
  currency: string;
  amount: number;
  status: string;
  paid_at: string | null;
  delivery_url: string;
  secret: string;
}

/** Fulfillment: hands the goods to the game server; the same deliveryId on every attempt. */
export function createDeliveryActivities({ sql }: ActivityDeps) {
  return {
    async deliverOrder(params: { orderId: string; deliveryId: string; deliveryAttemptTimeoutMs: number }) {
      const [order] = await sql<DeliveryOrder>(Prisma.sql`
        SELECT o.id, o.game_id, o.user_id, o.sku, o.quantity, o.grants, o.currency, o.amount, o.status,
          to_char(o.paid_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS paid_at, g.delivery_url, g.secret
        FROM orders o JOIN games g ON g.id = o.game_id WHERE o.id = ${params.orderId}::uuid`);
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

      // The attempt's record, and on success the order's transition, in one statement.
      const attempt = Prisma.sql`attempt AS (
        UPDATE deliveries SET attempts = attempts + 1, last_status_code = ${statusCode ?? null}::int,
          last_error = ${error ?? null}::text, updated_at = ${NOW_UTC}
          ${error ? Prisma.empty : Prisma.sql`, status = 'DELIVERED', delivered_at = ${NOW_UTC}`}
        WHERE id = ${params.deliveryId}::text)`;
      if (error) await sql(Prisma.sql`WITH ${attempt} SELECT 1`);
      else {
        await transitionOrder(sql, order.id, 'DELIVERED', undefined, { stamp: 'delivered_at' }, {
          commitStock: true,
          alongside: [attempt],
        });
      }
      businessMetrics.deliveryAttempt(order.game_id, !error);
      if (!error && order.paid_at) {
        businessMetrics.paymentToDelivery(order.game_id, (Date.now() - Date.parse(order.paid_at)) / 1000);
      }
      if (error) {
        // The activity logger adds workflowId, activity id and attempt.
        Context.current().log.warn('delivery attempt failed', { orderId: order.id, statusCode, error });
        throw ApplicationFailure.retryable(error, 'DELIVERY_FAILED');
      }
    },
  };
}
