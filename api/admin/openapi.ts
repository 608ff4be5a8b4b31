import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ADMIN, operatorErrors, json, jsonBody } from '../shared/openapi';
import { gameBody, gameIdPath, gameResponse, itemAudit, itemBody, itemList, itemListQuery, itemResponse, skuPath } from './schemas';

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
        responses: { 200: json('The game as stored, without its secret.', gameResponse), ...operatorErrors() },
      },
    },
    '/v1/admin/items/{sku}': {
      put: {
        tags: ['Admin'],
        summary: 'Create or update an item and its prices',
        description:
          'Prices are replaced as a whole. `stock` omitted: a new item is unlimited, an existing one keeps its current ' +
          'stock; `null` makes the item unlimited. A retired item is on sale again. Audited (`X-Operator` names who, ' +
          'else `admin`); every API process sees the change within a second. The price of an order: the first level ' +
          'with a price in force of channel type + region, region, channel type + "*", "*" (a price whose window ' +
          'contains now beats the windowless one); an order priced by a channel type\'s price is paid through that type only.',
        security: ADMIN,
        requestParams: { path: z.object({ sku: skuPath }) },
        requestBody: jsonBody(itemBody),
        responses: {
          200: json('The item as stored.', itemResponse),
          ...operatorErrors({ 404: ['GAME_NOT_FOUND'], 409: ['SKU_TAKEN'] }),
        },
      },
      delete: {
        tags: ['Admin'],
        summary: 'Retire an item',
        description: 'No new orders, not in the storefront; its orders and history are kept. A later PUT puts it on sale again. Audited.',
        security: ADMIN,
        requestParams: { path: z.object({ sku: skuPath }) },
        responses: { 204: { description: 'Retired (also when it already was).' }, ...operatorErrors({ 404: ['ITEM_NOT_FOUND'] }) },
      },
    },
    '/v1/admin/items': {
      get: {
        tags: ['Admin'],
        summary: 'List items',
        description: 'In sku order, retired items included (with `retiredAt`); page with `after` = the last sku of the previous page.',
        security: ADMIN,
        requestParams: { query: itemListQuery },
        responses: { 200: json('The items, in the shape of the PUT answer.', itemList), ...operatorErrors() },
      },
    },
    '/v1/admin/items/{sku}/audit': {
      get: {
        tags: ['Admin'],
        summary: "An item's changes",
        description: 'Every write of the item, oldest first: who (`X-Operator`), when, what it was before and after.',
        security: ADMIN,
        requestParams: { path: z.object({ sku: skuPath }) },
        responses: { 200: json('The audit entries.', itemAudit), ...operatorErrors({ 404: ['ITEM_NOT_FOUND'] }) },
      },
    },
  };
}
