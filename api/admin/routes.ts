import { Router } from 'express';
import { ACK_TIMEOUT_MS } from '../../domain/fulfillment/modes';
import type { Config } from '../../infra/config';
import { credentialsKeyring } from '../../infra/credentials';
import type { Database } from '../../infra/db';
import { putGame, putItem, type CatalogReader } from '../../store/catalog';
import { putBlacklistEntry, removeBlacklistEntry } from '../../store/risk';
import { adminAuth } from '../auth';
import { ApiError, parseBody } from '../errors';
import { jsonBody } from '../shared/body';
import { assertOutboundUrls } from '../shared/outbound-urls';
import { blacklistBody, blacklistKind, blacklistValue, gameBody, gameIdPath, itemBody, skuPath } from './schemas';

/** Catalogue and risk administration for the studio's operators. */
export function adminRouter({ database, config, catalog }: { database: Database; config: Config; catalog: CatalogReader }): Router {
  const { db } = database;
  const router = Router();
  router.use('/v1/admin', adminAuth(config), ...jsonBody('256kb'));

  router.put('/v1/admin/games/:gameId', async (req, res) => {
    const gameId = parseBody(gameIdPath, req.params.gameId);
    const body = parseBody(gameBody, req.body);
    assertOutboundUrls(config, { deliveryUrl: body.deliveryUrl, revokeUrl: body.revokeUrl });
    const { delivery, ...fields } = body;
    const game = await putGame(
      db,
      credentialsKeyring(config),
      gameId,
      {
        ...fields,
        revokeUrl: body.revokeUrl ?? null,
        channelPolicy: body.channelPolicy ?? null,
        requireDeliveryEcho: body.requireDeliveryEcho ?? false,
        deliveryMode: delivery?.mode ?? 'HTTP',
        deliveryAckTimeoutMs: delivery?.ackTimeoutMs ?? ACK_TIMEOUT_MS.default,
      },
      req.get('x-operator') ?? 'admin',
    );
    catalog.gameChanged(gameId);
    res.json({
      gameId: game.id,
      name: game.name,
      deliveryUrl: game.deliveryUrl,
      ...(game.revokeUrl !== null && { revokeUrl: game.revokeUrl }),
      requireDeliveryEcho: game.requireDeliveryEcho,
      delivery: { mode: game.deliveryMode, ackTimeoutMs: game.deliveryAckTimeoutMs },
      ...(game.channelPolicy !== null && { channelPolicy: game.channelPolicy }),
      updatedAt: game.updatedAt,
    });
  });

  router.put('/v1/admin/items/:sku', async (req, res) => {
    const sku = parseBody(skuPath, req.params.sku);
    const body = parseBody(itemBody, req.body);
    const saved = await putItem(db, sku, body);
    if (saved.outcome === 'GAME_NOT_FOUND') throw new ApiError(404, 'GAME_NOT_FOUND', `no game ${body.gameId}`);
    if (saved.outcome === 'SKU_TAKEN') throw new ApiError(409, 'SKU_TAKEN', `sku ${sku} belongs to another game`);
    const { item } = saved;
    catalog.itemChanged(sku);
    res.json({
      sku: item.sku,
      gameId: item.gameId,
      name: item.name,
      grants: item.grants,
      stock: item.stockAvailable,
      prices: item.prices.map((p) => ({ region: p.region, currency: p.currency, amount: p.amount })),
      ...(item.storeProducts !== null && { storeProducts: item.storeProducts }),
    });
  });

  router.put('/v1/admin/risk/blacklist/:kind/:value', async (req, res) => {
    const kind = parseBody(blacklistKind, req.params.kind);
    const value = parseBody(blacklistValue, req.params.value);
    const { reason } = parseBody(blacklistBody, req.body ?? {});
    await putBlacklistEntry(db, { kind, value, reason });
    res.json({ kind, value, reason });
  });

  router.delete('/v1/admin/risk/blacklist/:kind/:value', async (req, res) => {
    const kind = parseBody(blacklistKind, req.params.kind);
    await removeBlacklistEntry(db, kind, parseBody(blacklistValue, req.params.value));
    res.status(204).end();
  });

  return router;
}
