import express, { Router } from 'express';
import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import type { Prisma } from '../generated/prisma/client';
import { adminAuth } from './auth';
import type { Catalogue } from './catalogue';
import { ApiError, parseBody } from './errors';
import { blacklistBody, blacklistKind, gameBody, gameIdPath, itemBody, skuPath } from './schemas';

/** Catalogue and risk administration for the studio's operators. */
export function adminRouter({ db, config, catalogue }: { db: Db; config: Config; catalogue: Catalogue }): Router {
  const router = Router();
  router.use('/v1/admin', adminAuth(config), express.json({ limit: '256kb' }));

  router.put('/v1/admin/games/:gameId', async (req, res) => {
    const gameId = parseBody(gameIdPath, req.params.gameId);
    const body = parseBody(gameBody, req.body);
    const game = await db.game.upsert({ where: { id: gameId }, create: { id: gameId, ...body }, update: body });
    catalogue.gameChanged(gameId);
    res.json({ gameId: game.id, name: game.name, deliveryUrl: game.deliveryUrl, updatedAt: game.updatedAt });
  });

  router.put('/v1/admin/items/:sku', async (req, res) => {
    const sku = parseBody(skuPath, req.params.sku);
    const body = parseBody(itemBody, req.body);
    const game = await db.game.findUnique({ where: { id: body.gameId }, select: { id: true } });
    if (!game) throw new ApiError(404, 'GAME_NOT_FOUND', `no game ${body.gameId}`);
    const owner = await db.item.findUnique({ where: { sku }, select: { gameId: true } });
    if (owner && owner.gameId !== body.gameId) {
      throw new ApiError(409, 'SKU_TAKEN', `sku ${sku} belongs to another game`);
    }
    const fields = {
      gameId: body.gameId,
      name: body.name,
      grants: body.grants as Prisma.InputJsonValue,
      ...(body.stock !== undefined ? { stockAvailable: body.stock } : {}),
    };
    const item = await db.$transaction(async (tx) => {
      await tx.item.upsert({ where: { sku }, create: { sku, ...fields }, update: fields });
      await tx.itemPrice.deleteMany({ where: { sku } });
      await tx.itemPrice.createMany({ data: body.prices.map((p) => ({ sku, ...p })) });
      return tx.item.findUniqueOrThrow({ where: { sku }, include: { prices: { orderBy: { region: 'asc' } } } });
    });
    catalogue.itemChanged(sku);
    res.json({
      sku: item.sku,
      gameId: item.gameId,
      name: item.name,
      grants: item.grants,
      stock: item.stockAvailable,
      prices: item.prices.map((p) => ({ region: p.region, currency: p.currency, amount: p.amount })),
    });
  });

  router.put('/v1/admin/risk/blacklist/:kind/:value', async (req, res) => {
    const kind = parseBody(blacklistKind, req.params.kind);
    const value = String(req.params.value);
    const { reason } = parseBody(blacklistBody, req.body ?? {});
    await db.riskBlacklist.upsert({
      where: { kind_value: { kind, value } },
      create: { kind, value, reason },
      update: { reason },
    });
    res.json({ kind, value, reason });
  });

  router.delete('/v1/admin/risk/blacklist/:kind/:value', async (req, res) => {
    const kind = parseBody(blacklistKind, req.params.kind);
    await db.riskBlacklist.deleteMany({ where: { kind, value: String(req.params.value) } });
    res.status(204).end();
  });

  return router;
}
