import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ADMIN, authenticatedErrors, json, jsonBody } from '../shared/openapi';
import { blacklistBody, blacklistEntry, blacklistKind, blacklistValue, gameBody, gameIdPath, gameResponse, itemBody, itemResponse, skuPath } from './schemas';

export function adminPaths(): ZodOpenApiPathsObject {
  const blacklistParams = {
    path: z.object({ kind: blacklistKind, value: blacklistValue }),
  };
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
    '/v1/admin/risk/blacklist/{kind}/{value}': {
      put: {
        tags: ['Admin'],
        summary: 'Block a user, device or IP address',
        security: ADMIN,
        requestParams: blacklistParams,
        requestBody: { required: false, content: { 'application/json': { schema: blacklistBody } } },
        responses: { 200: json('The blacklist entry.', blacklistEntry), ...authenticatedErrors() },
      },
      delete: {
        tags: ['Admin'],
        summary: 'Unblock a user, device or IP address',
        security: ADMIN,
        requestParams: blacklistParams,
        responses: { 204: { description: 'Removed (also when it was not blacklisted).' }, ...authenticatedErrors() },
      },
    },
  };
}
