import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { GAME_SIGNATURE, authenticatedErrors, json, jsonBody } from '../shared/openapi';
import { createOrderBody, createOrderResponse, idempotencyKey, orderIdParam, orderView, receiptBody } from './schemas';

export function orderPaths(): ZodOpenApiPathsObject {
  const orderParams = { path: z.object({ orderId: orderIdParam }) };
  return {
    '/v1/orders': {
      post: {
        tags: ['Orders'],
        summary: 'Create an order and its payment',
        description:
          'Idempotent by `Idempotency-Key`: the same key and body again, also concurrently, answers the same ' +
          'order; once the order has finished, a retry answers its current status. Retry a `503` with the same key. ' +
          '`422 QUANTITY_NOT_ALLOWED`: more than one unit of a non-consumable or card, more than `maxPerOrder`, or ' +
          "the user's unpaid orders of the item already hold its `limits.maxPendingPerUser` units (`details: " +
          '{ maxPendingPerUser, pending, quantity, orderId }`; pay or cancel one first).',
        security: GAME_SIGNATURE,
        requestParams: { header: z.object({ 'Idempotency-Key': idempotencyKey }) },
        requestBody: jsonBody(createOrderBody),
        responses: {
          201: json('Awaiting payment: send the payer to `payment.payUrl` before `expiresAt`.', createOrderResponse),
          ...authenticatedErrors({
            403: ['RISK_REJECTED', 'MINOR_SPENDING_LIMIT'],
            404: ['ITEM_NOT_FOUND'],
            409: ['IDEMPOTENCY_CONFLICT', 'OUT_OF_STOCK', 'PURCHASE_LIMIT_REACHED', 'ALREADY_OWNED'],
            422: ['NOT_ON_SALE', 'QUANTITY_NOT_ALLOWED', 'NO_PRICE_FOR_REGION', 'CHANNEL_NOT_AVAILABLE', 'AMOUNT_TOO_LARGE', 'INVALID_ORDER_DATA'],
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
    '/v1/orders/{orderId}/receipts': {
      post: {
        tags: ['Orders'],
        summary: "Submit a store's proof of purchase (App Store, Google Play)",
        description:
          'The game server forwards what the store gave the game client: an App Store signed transaction, or a ' +
          'Google Play purchase token and product. It is verified with the store (bundle or package, environment, ' +
          'this order as the app account token or obfuscated profile id), claimed for this order only, and pays the ' +
          'order as the channel\'s notification would; the answer is the order once it moved on (usually DELIVERED). ' +
          'A purchase of another product than the item\'s is the order\'s money but is never delivered: the order ' +
          'goes to MANUAL_REVIEW (reason PRODUCT_MISMATCH) for an operator to resolve. Submitting it again answers ' +
          'the same; a notification of the same purchase has no second effect. RECEIPT_PRODUCT_MISMATCH: Google ' +
          'says the token bought another product than the receipt names.',
        security: GAME_SIGNATURE,
        requestParams: { path: z.object({ orderId: orderIdParam }) },
        requestBody: jsonBody(receiptBody),
        responses: {
          200: json('The order.', orderView),
          ...authenticatedErrors({
            404: ['ORDER_NOT_FOUND'],
            409: ['RECEIPT_ALREADY_USED'],
            422: ['INVALID_RECEIPT', 'RECEIPT_PRODUCT_MISMATCH', 'RECEIPTS_NOT_SUPPORTED'],
          }),
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
