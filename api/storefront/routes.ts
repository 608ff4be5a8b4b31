import { Router, type Response } from 'express';
import { CHANNEL_TYPES } from '../../channels/types';
import type { ChannelRegistry } from '../../channels/registry';
import { storefront } from '../../domain/catalog/storefront';
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
    const [items, figures] = await Promise.all([catalog.gameItems(game.id), storefrontFigures(database.sql, game.id, query.userId)]);
    const request = {
      region: query.region,
      channelType,
      allowedTypes: query.platform ? game.channelPolicy?.[query.platform] : undefined,
      at,
      day: gameDay(at, game),
    };
    res.json({ items: storefront(items, request, figures) });
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
