import { Router } from 'express';
import { ACK_TIMEOUT_MS } from '../../domain/fulfillment/modes';
import type { Config } from '../../infra/config';
import { credentialsKeyring } from '../../infra/credentials';
import type { Database } from '../../infra/db';
import { itemAudit, listItems, putGame, putItem, retireItem, type CatalogItem, type CatalogReader } from '../../store/catalog';
import { actorOf, operatorAuth } from '../auth';
import { ApiError, parseBody } from '../errors';
import { jsonBody } from '../shared/body';
import { assertOutboundUrls } from '../shared/outbound-urls';
import { gameBody, gameIdPath, itemBody, itemListQuery, skuPath } from './schemas';

/** Catalogue administration for the studio's operators (risk: api/risk/). */
export function adminRouter({ database, config, catalog }: { database: Database; config: Config; catalog: CatalogReader }): Router {
  const { db } = database;
  const router = Router();
  router.use('/v1/admin', operatorAuth(config), ...jsonBody('256kb'));

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
        timeZone: body.timeZone ?? 'Asia/Shanghai',
        dailyResetHour: body.dailyResetHour ?? 0,
        defaultAgeBand: body.defaultAgeBand ?? 'ADULT',
        deliveryMode: delivery?.mode ?? 'HTTP',
        deliveryAckTimeoutMs: delivery?.ackTimeoutMs ?? ACK_TIMEOUT_MS.default,
        consumptionAnswers: body.consumptionAnswers ?? null,
      },
      actorOf(res),
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
      timeZone: game.timeZone,
      dailyResetHour: game.dailyResetHour,
      ...(game.consumptionAnswers !== null && { consumptionAnswers: game.consumptionAnswers }),
      defaultAgeBand: game.defaultAgeBand,
      updatedAt: game.updatedAt,
    });
  });

  router.put('/v1/admin/items/:sku', async (req, res) => {
    const sku = parseBody(skuPath, req.params.sku);
    const body = parseBody(itemBody, req.body);
    const saved = await putItem(db, sku, body, actorOf(res).actor);
    if (saved.outcome === 'GAME_NOT_FOUND') throw new ApiError(404, 'GAME_NOT_FOUND', `no game ${body.gameId}`);
    if (saved.outcome === 'SKU_TAKEN') throw new ApiError(409, 'SKU_TAKEN', `sku ${sku} belongs to another game`);
    catalog.itemChanged(sku);
    res.json(itemView(saved.item));
  });

  router.get('/v1/admin/items', async (req, res) => {
    const query = parseBody(itemListQuery, req.query);
    res.json({ items: (await listItems(db, query)).map(itemView) });
  });

  router.delete('/v1/admin/items/:sku', async (req, res) => {
    const sku = parseBody(skuPath, req.params.sku);
    if (!(await retireItem(db, sku, actorOf(res).actor))) throw itemNotFound(sku);
    catalog.itemChanged(sku);
    res.status(204).end();
  });

  router.get('/v1/admin/items/:sku/audit', async (req, res) => {
    const sku = parseBody(skuPath, req.params.sku);
    const entries = await itemAudit(db, sku);
    if (!entries) throw itemNotFound(sku);
    res.json({ entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })) });
  });

  return router;
}

/** Who made an admin change, for the audit. */
const itemNotFound = (sku: string) => new ApiError(404, 'ITEM_NOT_FOUND', `no item ${sku}`);

/** An item as the admin API answers it (PUT, list). */
export function itemView(item: CatalogItem) {
  return {
    sku: item.sku,
    gameId: item.gameId,
    name: item.name,
    grants: item.grants,
    stock: item.stockAvailable,
    prices: item.prices,
    ...(item.storeProducts !== null && { storeProducts: item.storeProducts }),
    kind: item.kind,
    ...(item.monthlyCard !== null && { monthlyCard: item.monthlyCard }),
    ...(item.saleWindow !== null && { saleWindow: item.saleWindow }),
    ...(item.limits !== null && { limits: item.limits }),
    ...(item.maxPerOrder !== null && { maxPerOrder: item.maxPerOrder }),
    ...(item.firstPurchaseBonus !== null && { firstPurchaseBonus: item.firstPurchaseBonus }),
    tags: item.tags,
    ...(item.retiredAt !== null && { retiredAt: item.retiredAt }),
  };
}
