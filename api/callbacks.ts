import express, { Router } from 'express';
import type { ChannelRegistry } from '../channels/registry';
import { CallbackRejectedError } from '../channels/types';
import { purchaseTiming, type Config } from '../infra/config';
import type { Db } from '../infra/db';
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

    const order = await db.order.findUnique({
      where: { channelPaymentId: notification.channelPaymentId },
      select: { id: true },
    });
    const orderId = order && order.id === notification.merchantOrderId ? order.id : null;
    await db.channelNotification.upsert({
      where: { channel_notificationId: { channel: adapter.name, notificationId: notification.notificationId } },
      create: {
        channel: adapter.name,
        notificationId: notification.notificationId,
        channelPaymentId: notification.channelPaymentId,
        orderId,
        result: notification.result,
        amount: notification.paid?.value,
        currency: notification.paid?.currency,
        rawBody: rawBody.toString('utf8'),
      },
      update: { receivedCount: { increment: 1 }, lastReceivedAt: new Date() },
    });
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
