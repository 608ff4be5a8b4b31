import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { GAME_SIGNATURE, authenticatedErrors, json, jsonBody } from '../shared/openapi';
import { createOrderBody, createOrderResponse, idempotencyKey, orderIdParam, orderView } from './schemas';

export function orderPaths(): ZodOpenApiPathsObject {
  const orderParams = { path: z.object({ orderId: orderIdParam }) };
  return {
    '/v1/orders': {
      post: {
        tags: ['Orders'],
        summary: 'Create an order and its payment',
        description:
          'Idempotent by `Idempotency-Key`: the same key and body again, also concurrently, answers the same ' +
          'order; once the order has finished, a retry answers its current status. Retry a `503` with the same key.',
        security: GAME_SIGNATURE,
        requestParams: { header: z.object({ 'Idempotency-Key': idempotencyKey }) },
        requestBody: jsonBody(createOrderBody),
        responses: {
          201: json('Awaiting payment: send the payer to `payment.payUrl` before `expiresAt`.', createOrderResponse),
          ...authenticatedErrors({
            403: ['RISK_REJECTED'],
            404: ['ITEM_NOT_FOUND'],
            409: ['IDEMPOTENCY_CONFLICT', 'OUT_OF_STOCK'],
            422: ['NO_PRICE_FOR_REGION', 'CHANNEL_NOT_AVAILABLE', 'AMOUNT_TOO_LARGE', 'INVALID_ORDER_DATA'],
            502: ['CHANNEL_UNAVAILABLE'],
          }),
        },
      },
    },
    '/v1/orders/{orderId}': {
      get: {
        tags: ['Orders'],
        summary: "Read one of this game's orders",
        security: GAME_SIGNATURE,
        requestParams: orderParams,
        responses: {
          200: json('The order and its status history.', orderView),
          ...authenticatedErrors({ 404: ['ORDER_NOT_FOUND'] }),
        },
      },
    },
    '/v1/orders/{orderId}/cancel': {
      post: {
        tags: ['Orders'],
        summary: 'Cancel an unpaid order',
        description: 'Idempotent: cancelling a `CLOSED` order answers it again.',
        security: GAME_SIGNATURE,
        requestParams: orderParams,
        responses: {
          200: json('The order, `CLOSED`.', orderView),
          ...authenticatedErrors({ 404: ['ORDER_NOT_FOUND'], 409: ['ORDER_NOT_CANCELLABLE'] }),
        },
      },
    },
  };
}
