import express, { Router } from 'express';
import type { ChannelRegistry } from '../../channels/registry';
import { CallbackRejectedError } from '../../channels/types';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import type { PurchasesClient } from '../../infra/temporal';
import { takeChannelEvent, takeConsumptionRequest } from '../../notifications/intake';
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
 * Each verified event goes to the one intake (notifications/intake.ts: recorded, then handed on) and
 * the notification is acknowledged in the channel's format only once all of that succeeded, so the
 * channel keeps retrying through our outages.
 */
export function callbacksRouter({ database, config, channels, purchases }: Deps): Router {
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
    const intake = { database, config, purchases, log: requestLog(res) };
    for (const event of verified.events) {
      await takeChannelEvent(intake, { channel: adapter.channelId, event, source: 'CALLBACK', rawBody: rawBody.toString('utf8') });
    }
    if (verified.consumptionRequest) {
      await takeConsumptionRequest(intake, { channel: adapter.channelId, request: verified.consumptionRequest, source: 'CALLBACK' });
    }
    if (verified.notice) requestLog(res).info({ channel: adapter.channelId, notice: verified.notice }, 'channel notice');

    const ack = adapter.acknowledgement();
    res.status(ack.status).type(ack.contentType).send(ack.body);
  });

  return router;
}
