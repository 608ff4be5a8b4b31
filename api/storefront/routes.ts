import { Router, type Response } from 'express';
import { CHANNEL_TYPES } from '../../channels/types';
import type { ChannelRegistry } from '../../channels/registry';
import { storefrontFor } from '../../domain/catalog/storefront';
import { gameDay } from '../../domain/game-day';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import type { CatalogReader } from '../../store/catalog';
import { storefrontFigures } from '../../store/storefront';
import { signedGameRequest, type SignedLocals } from '../auth';
import { ApiError, parseBody } from '../errors';
import { storefrontQuery } from './schemas';

interface Deps {
  database: Database;
  config: Config;
  channels: ChannelRegistry;
  catalog: CatalogReader;
}

/** The storefront: signed like /v1/orders; the game's own items only. */
export function storefrontRouter({ database, config, channels, catalog }: Deps): Router {
  const router = Router();
  const gameOf = (res: Response) => (res.locals as SignedLocals).game;

  router.get('/v1/storefront', ...signedGameRequest({ database, config, catalog }), async (req, res) => {
    const query = parseBody(storefrontQuery, req.query);
    const game = gameOf(res);
    const channelType = query.channel === undefined ? undefined : channelTypeOf(channels, query.channel);
    const at = new Date();
    const allowedTypes = query.platform ? game.channelPolicy?.[query.platform] : undefined;
    // What every player of the region and channel type sees is cached; the user's figures are one query.
    const [{ offers }, figures] = await Promise.all([
      catalog.storefrontOffers(game.id, { region: query.region, channelType, allowedTypes, at }),
      storefrontFigures(database.sql, game.id, query.userId),
    ]);
    res.json({ items: storefrontFor(offers, gameDay(at, game), figures) });
  });
  return router;
}

/** A channel account's type, or a channel type named as such. */
function channelTypeOf(channels: ChannelRegistry, channel: string): string {
  const type = channels.get(channel)?.type ?? (CHANNEL_TYPES as readonly string[]).find((t) => t === channel);
  if (!type) {
    const message = `neither a channel account nor a channel type (${CHANNEL_TYPES.join(', ')})`;
    throw new ApiError(400, 'VALIDATION_ERROR', 'the request is invalid', { issues: [{ path: 'channel', message }] });
  }
  return type;
}
