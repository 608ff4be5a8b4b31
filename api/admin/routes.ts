import { Router } from 'express';
import type { Config } from '../../infra/config';
import { credentialsKeyring } from '../../infra/credentials';
import type { Database } from '../../infra/db';
import { putGame, putItem, type CatalogReader } from '../../store/catalog';
import { adminAuth } from '../auth';
import { ApiError, parseBody } from '../errors';
import { jsonBody } from '../shared/body';
import { assertOutboundUrls } from '../shared/outbound-urls';
import { gameBody, gameIdPath, itemBody, skuPath } from './schemas';

/** Catalogue administration for the studio's operators (risk: api/risk/). */
export function adminRouter({ database, config, catalog }: { database: Database; config: Config; catalog: CatalogReader }): Router {
  const { db } = database;
  const router = Router();
  router.use('/v1/admin', adminAuth(config), ...jsonBody('256kb'));

  router.put('/v1/admin/games/:gameId', async (req, res) => {
    const gameId = parseBody(gameIdPath, req.params.gameId);
    const body = parseBody(gameBody, req.body);
    assertOutboundUrls(config, { deliveryUrl: body.deliveryUrl, revokeUrl: body.revokeUrl });
    const game = await putGame(
      db,
      credentialsKeyring(config),
      gameId,
      {
        ...body,
        revokeUrl: body.revokeUrl ?? null,
        channelPolicy: body.channelPolicy ?? null,
        requireDeliveryEcho: body.requireDeliveryEcho ?? false,
        timeZone: body.timeZone ?? 'Asia/Shanghai',
        dailyResetHour: body.dailyResetHour ?? 0,
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
      ...(game.channelPolicy !== null && { channelPolicy: game.channelPolicy }),
      timeZone: game.timeZone,
      dailyResetHour: game.dailyResetHour,
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
      kind: item.kind,
      ...(item.monthlyCard !== null && { monthlyCard: item.monthlyCard }),
    });
  });

  return router;
}
