import { Router, type Response } from 'express';
import { cardDayLength, cardListed, cardStatus } from '../../domain/catalog/card-days';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import type { CatalogReader } from '../../store/catalog';
import { cardsOfUser } from '../../store/monthly-cards';
import { signedGameRequest, type SignedLocals } from '../auth';
import { parseBody } from '../errors';
import { monthlyCardsQuery } from './schemas';

/** A player's monthly cards, for the game's own screens: signed like /v1/orders, only the game's own cards. */
export function monthlyCardsRouter({ database, config, catalog }: { database: Database; config: Config; catalog: CatalogReader }): Router {
  const router = Router();
  const gameOf = (res: Response) => (res.locals as SignedLocals).game;

  router.get('/v1/monthly-cards', ...signedGameRequest({ database, config, catalog }), async (req, res) => {
    const { userId } = parseBody(monthlyCardsQuery, req.query);
    const now = new Date();
    const cards = [];
    for (const card of await cardsOfUser(database.sql, gameOf(res).id, userId)) {
      const status = cardStatus(card.orders, card.days, cardDayLength(config.GAME_DAY_MS, card.clock));
      if (!status || !cardListed(status, now)) continue;
      cards.push({
        cardId: card.cardId,
        sku: card.sku,
        startedAt: status.startedAt.toISOString(),
        endsAt: status.endsAt.toISOString(),
        daysGranted: status.daysGranted,
        daysRemaining: status.daysRemaining,
        ...(status.nextGrantAt && { nextGrantAt: status.nextGrantAt.toISOString() }),
      });
    }
    res.json({ cards });
  });
  return router;
}
