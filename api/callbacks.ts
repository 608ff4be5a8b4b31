import express, { Router } from 'express';
import type { ChannelRegistry } from '../channels/registry';
import { CallbackRejectedError } from '../channels/types';
import { purchaseTiming, type Config } from '../infra/config';
import { NOW_UTC, type Db } from '../infra/db';
import type { PurchasesClient } from '../infra/purchases-client';
import { ApiError } from './errors';
import { requestLog } from './request-context';

interface Deps {
  db: Db;
  config: Config;
  channels: ChannelRegistry;
  purchases: PurchasesClient;
}

/**
 * Channel notifications, in each channel's own format and signature. A verified notification is
 * recorded before anything else (never dropped, even for an unknown order) and acknowledged only
 * once the order's workflow has it, so the channel keeps retrying through our outages.
 */
export function callbacksRouter({ db, config, channels, purchases }: Deps): Router {
  const router = Router();
  router.post('/v1/callbacks/:channel', express.raw({ type: () => true, limit: '256kb' }), async (req, res) => {
    const adapter = channels.get(String(req.params.channel));
    if (!adapter) throw new ApiError(404, 'CHANNEL_NOT_FOUND', `no channel ${req.params.channel}`);
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);

    let notification;
    try {
      notification = await adapter.verifyCallback({ headers: req.headers, rawBody });
    } catch (err) {
      if (err instanceof CallbackRejectedError) {
        throw new ApiError(err.code === 'MALFORMED_NOTIFICATION' ? 400 : 401, err.code, err.message);
      }
      throw err;
    }

    // Recorded with its order (when the payment and the merchant order id name the same one) in one
    // statement; a copy already received is counted.
    const [recorded] = await db.$queryRaw<{ order_id: string | null }[]>`
      INSERT INTO channel_notifications
        (channel, notification_id, channel_payment_id, order_id, result, amount, currency, raw_body)
      VALUES (${adapter.name}::text, ${notification.notificationId}::text, ${notification.channelPaymentId}::text,
        (SELECT id FROM orders WHERE channel_payment_id = ${notification.channelPaymentId}::text
           AND id::text = ${notification.merchantOrderId}::text),
        ${notification.result}::text, ${notification.paid?.value ?? null}::int, ${notification.paid?.currency ?? null}::text,
        ${rawBody.toString('utf8')}::text)
      ON CONFLICT (channel, notification_id) DO UPDATE
        SET received_count = channel_notifications.received_count + 1, last_received_at = ${NOW_UTC},
          -- A copy that arrived before its order knew the payment is linked by a later copy.
          order_id = coalesce(channel_notifications.order_id, EXCLUDED.order_id)
      RETURNING order_id::text`;
    const orderId = recorded?.order_id ?? null;
    requestLog(res).info(
      { channel: adapter.name, notificationId: notification.notificationId, orderId, result: notification.result },
      orderId ? 'payment notification' : 'payment notification for an unknown payment, kept for reconciliation',
    );
    if (orderId) await purchases.notifyPayment(orderId, notification, purchaseTiming(config));

    const ack = adapter.acknowledgement();
    res.status(ack.status).type(ack.contentType).send(ack.body);
  });
  return router;
}
