import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ADMIN, authenticatedErrors, json, jsonBody } from '../shared/openapi';
import { gameBody, gameIdPath, gameResponse, itemBody, itemResponse, skuPath } from './schemas';

export function adminPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/admin/games/{gameId}': {
      put: {
        tags: ['Admin'],
        summary: 'Create or update a game',
        description:
          'Audited (who, when, before and after, never the secret; `X-Operator` names who, else `admin`); its channel policy ' +
          'applies to new orders within a second on every API process.',
        security: ADMIN,
        requestParams: { path: z.object({ gameId: gameIdPath }) },
        requestBody: jsonBody(gameBody),
        responses: { 200: json('The game as stored, without its secret.', gameResponse), ...authenticatedErrors() },
      },
    },
    '/v1/admin/items/{sku}': {
      put: {
        tags: ['Admin'],
        summary: 'Create or update an item and its prices',
        description:
          'Prices are replaced as a whole. `stock` omitted: a new item is unlimited, an existing one keeps its current ' +
          'stock; `null` makes the item unlimited.',
        security: ADMIN,
        requestParams: { path: z.object({ sku: skuPath }) },
        requestBody: jsonBody(itemBody),
        responses: {
          200: json('The item as stored.', itemResponse),
          ...authenticatedErrors({ 404: ['GAME_NOT_FOUND'], 409: ['SKU_TAKEN'] }),
        },
      },
    },
  };
}
