import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { GAME_SIGNATURE, authenticatedErrors, json } from '../shared/openapi';
import { storefrontQuery, storefrontResponse } from './schemas';

export function storefrontPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/storefront': {
      get: {
        tags: ['Orders'],
        summary: 'What a player can buy now',
        description:
          "The game's items on sale now (not retired, inside their sale window) that have a price for the region, " +
          'in sku order, each at the price an order made now would pay: the channel type (the named account\'s, ' +
          "the named type, or the one type the game's channel policy allows for the platform) and the region decide " +
          'it exactly as for `POST /v1/orders`. A sold-out item is listed with `stockRemaining: 0`. The player\'s ' +
          'figures (limits left, ownership, the first-purchase bonus) and the stock are read live; the items ' +
          'themselves at most `CATALOGUE_CACHE_MS` old (an item write drops them on every API process within a second).',
        security: GAME_SIGNATURE,
        requestParams: { query: storefrontQuery },
        responses: { 200: json("The player's storefront.", storefrontResponse), ...authenticatedErrors() },
      },
    },
  };
}
