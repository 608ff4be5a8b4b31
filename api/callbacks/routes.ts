import express, { Router } from 'express';
import type { ChannelRegistry } from '../../channels/registry';
import { CallbackRejectedError, type ChannelEvent } from '../../channels/types';
import { purchaseTiming, type Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import type { PurchasesClient } from '../../infra/temporal';
import { recordNotification } from '../../store/payments';
import type { PaymentNotification } from '../../workflows/contract';
import { ApiError } from '../errors';
import { requestLog } from '../request-context';

interface Deps {
  database: Database;
  config: Config;
  channels: ChannelRegistry;
  purchases: PurchasesClient;
}

/**
 * Channel notifications, in each channel's own format and signature. A verified notification is
 * recorded before anything else (never dropped, even for an unknown order) and acknowledged only
 * once the order's workflow has it, so the channel keeps retrying through our outages.
 */
export function callbacksRouter({ database, config, channels, purchases }: Deps): Router {
  const router = Router();
  router.post('/v1/callbacks/:channel', express.raw({ type: () => true, limit: '256kb' }), async (req, res) => {
    const adapter = channels.get(String(req.params.channel));
    if (!adapter) throw new ApiError(404, 'CHANNEL_NOT_FOUND', `no channel ${req.params.channel}`);
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);

    let events: ChannelEvent[];
    try {
      ({ events } = await adapter.verifyNotification({ headers: req.headers, rawBody }));
    } catch (err) {
      if (err instanceof CallbackRejectedError) {
        throw new ApiError(err.code === 'MALFORMED_NOTIFICATION' ? 400 : 401, err.code, err.message);
      }
      throw err;
    }

    for (const event of events) {
      const notification = paymentNotification(event);
      if (!notification) continue;
      // Recorded with its order (when the payment and the merchant order id name the same one) in one
      // statement; a copy already received is counted.
      const orderId = await recordNotification(database.sql, {
        channel: adapter.channelId,
        notificationId: notification.notificationId,
        channelPaymentId: notification.channelPaymentId,
        merchantOrderId: notification.merchantOrderId,
        result: notification.result,
        paid: notification.paid,
        rawBody: rawBody.toString('utf8'),
      });
      requestLog(res).info(
        { channel: adapter.channelId, notificationId: notification.notificationId, orderId, result: notification.result },
        orderId ? 'payment notification' : 'payment notification for an unknown payment, kept for reconciliation',
      );
      if (orderId) await purchases.notifyPayment(orderId, notification, purchaseTiming(config));
    }

    const ack = adapter.acknowledgement();
    res.status(ack.status).type(ack.contentType).send(ack.body);
  });
  return router;
}

/** A payment result in the shape the order's workflow takes (its signal), or undefined for other events. */
function paymentNotification(event: ChannelEvent): PaymentNotification | undefined {
  if (event.kind !== 'PAYMENT_SUCCEEDED' && event.kind !== 'PAYMENT_FAILED') return undefined;
  return {
    notificationId: event.dedupeKey,
    channelPaymentId: event.channelPaymentId ?? '',
    merchantOrderId: event.merchantOrderId ?? '',
    result: event.kind === 'PAYMENT_SUCCEEDED' ? 'SUCCESS' : 'FAILED',
    ...(event.channelTradeNo !== undefined && { channelTxnId: event.channelTradeNo }),
    ...(event.amount !== undefined && { paid: event.amount }),
    ...(event.occurredAt !== undefined && { paidAt: event.occurredAt }),
  };
}
