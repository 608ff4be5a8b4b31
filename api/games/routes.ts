import { Router, type Response } from 'express';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import type { CatalogReader } from '../../store/catalog';
import { recordGrants } from '../../store/grant-logs';
import { signedGameRequest, type SignedLocals } from '../auth';
import { parseBody } from '../errors';
import { grantLogBody } from './schemas';

/**
 * What game servers tell us about the goods side: their grant logs, checked against our deliveries by
 * the daily reconciliation (three-way). Signed like /v1/orders; repeatable, idempotent per deliveryId.
 */
export function gamesRouter({ database, config, catalog }: { database: Database; config: Config; catalog: CatalogReader }): Router {
  const router = Router();
  const gameOf = (res: Response) => (res.locals as SignedLocals).game;

  router.post('/v1/games/grant-logs', ...signedGameRequest({ database, config, catalog }), async (req, res) => {
    const log = parseBody(grantLogBody, req.body);
    const recorded = await recordGrants(database.sql, { gameId: gameOf(res).id, date: log.date, grants: log.grants });
    res.json({ date: log.date, received: log.grants.length, recorded });
  });
  return router;
}
