import express, { Router, type Response } from 'express';
import { paymentResultOf, reversalCauseOf } from '../../channels/events';
import type { ChannelRegistry } from '../../channels/registry';
import { CallbackRejectedError, type ChannelAdapter, type ChannelEvent } from '../../channels/types';
import { refundIdFor } from '../../domain/ids';
import { purchaseTiming, type Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import type { PurchasesClient } from '../../infra/temporal';
import { orderForChannelEvent } from '../../store/orders';
import { recordNotification } from '../../store/payments';
import { settleRefund } from '../../store/refunds';
import { ApiError } from '../errors';
import { requestLog } from '../request-context';

interface Deps {
  database: Database;
  config: Config;
  channels: ChannelRegistry;
  purchases: PurchasesClient;
}

const REJECTION_STATUS: Record<CallbackRejectedError['code'], number> = {
  MALFORMED_NOTIFICATION: 400,
  INVALID_SIGNATURE: 401,
  STALE_NOTIFICATION: 401,
  WRONG_MERCHANT: 403,
};

/**
 * Channel notifications at `/v1/callbacks/{channelId}`, in each channel's own format and signature.
 * A verified event is recorded before anything else (never dropped, even for an unknown order), then
 * handed on — a payment result to the order's workflow, a refund, chargeback or revocation to the
 * reversal of the order, the confirmation of one of our refunds to its record — and acknowledged in
 * the channel's format only once all of that succeeded, so the channel keeps retrying through our
 * outages.
 */
export function callbacksRouter({ database, config, channels, purchases }: Deps): Router {
  const { db, sql } = database;
  const router = Router();
  router.post('/v1/callbacks/:channel', express.raw({ type: () => true, limit: '256kb' }), async (req, res) => {
    const adapter = channels.get(String(req.params.channel));
    if (!adapter) throw new ApiError(404, 'CHANNEL_NOT_FOUND', `no channel ${String(req.params.channel).slice(0, 64)}`);
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);

    let verified;
    try {
      verified = await adapter.verifyNotification({ headers: req.headers, rawBody });
    } catch (err) {
      if (err instanceof CallbackRejectedError) throw new ApiError(REJECTION_STATUS[err.code], err.code, err.message);
      throw err;
    }
    for (const event of verified.events) await handle(adapter, event, rawBody.toString('utf8'), res);
    if (verified.notice) requestLog(res).info({ channel: adapter.channelId, notice: verified.notice }, 'channel notice');

    const ack = adapter.acknowledgement();
    res.status(ack.status).type(ack.contentType).send(ack.body);
  });

  async function handle(adapter: ChannelAdapter, event: ChannelEvent, rawBody: string, res: Response) {
    const log = requestLog(res);
    const order = await orderForChannelEvent(db, adapter.channelId, event);
    const record = (result: string, extra: { paid?: ChannelEvent['amount'] } = {}) =>
      recordNotification(sql, {
        channel: adapter.channelId,
        notificationId: `${event.dedupeKey}`,
        channelPaymentId: event.channelPaymentId ?? order?.channelPaymentId ?? '',
        merchantOrderId: event.merchantOrderId ?? '',
        result,
        rawBody,
        orderId: order?.id,
        ...extra,
      });

    const payment = paymentResultOf(event, {
      amount: order?.amount ?? event.amount ?? { currency: 'XXX', value: 0 },
      storeProductId: order?.storeProductId,
    });
    if (payment) {
      // Recorded with its order (when the payment and the merchant order id name the same one) in one
      // statement; a copy already received is counted.
      const orderId = await recordNotification(sql, {
        channel: adapter.channelId,
        notificationId: payment.notificationId,
        channelPaymentId: payment.channelPaymentId,
        merchantOrderId: payment.merchantOrderId,
        result: payment.result,
        paid: payment.paid,
        rawBody,
      });
      log.info(
        { channel: adapter.channelId, notificationId: payment.notificationId, orderId, result: payment.result },
        orderId ? 'payment notification' : 'payment notification for an unknown payment, kept for reconciliation',
      );
      if (orderId) await purchases.notifyPayment(orderId, payment, purchaseTiming(config));
      return;
    }

    if (!order) {
      await record(event.kind, { paid: event.amount });
      log.warn({ channel: adapter.channelId, kind: event.kind, dedupeKey: event.dedupeKey }, 'channel event for an unknown order, kept for reconciliation');
      return;
    }
    const ours = refundIdFor(order.id);
    if ((event.kind === 'REFUND_SUCCEEDED' || event.kind === 'REFUND_FAILED') && event.refundId === ours) {
      await record(event.kind, { paid: event.amount });
      await settleRefund(sql, ours, event.kind === 'REFUND_SUCCEEDED' ? 'SUCCEEDED' : 'FAILED', event.channelRefundId);
      if (event.kind === 'REFUND_FAILED') log.warn({ orderId: order.id, refundId: ours }, 'the channel failed our refund: the money did not go back');
      return;
    }
    const cause = reversalCauseOf(event, ours);
    if (cause) {
      await record(event.kind, { paid: event.amount });
      const outcome = await purchases.reverse(
        order.id,
        { cause, dedupeKey: event.dedupeKey, amount: event.amount, occurredAt: event.occurredAt, revoke: true },
        purchaseTiming(config),
      );
      log.info({ orderId: order.id, cause, outcome }, 'channel reversal');
      return;
    }
    // PAYMENT_CLOSED, a failed refund we did not ask for: kept, nothing to do.
    await record(event.kind, { paid: event.amount });
  }

  return router;
}
