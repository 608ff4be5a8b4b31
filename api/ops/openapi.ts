import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject } from 'zod-openapi';
import { orderIdParam } from '../orders/schemas';
import { ADMIN, authenticatedErrors, json, jsonBody, type ErrorCodes } from '../shared/openapi';
import {
  operatorHeader,
  opsActionBody,
  opsActionResponse,
  opsOrdersQuery,
  opsOrdersResponse,
  opsRefundBody,
  resolveBody,
  revocationsQuery,
  revocationsResponse,
  storeSweepsQuery,
  storeSweepsResponse,
  stuckQuery,
  stuckResponse,
} from './schemas';

export function opsPaths(): ZodOpenApiPathsObject {
  const operator = z.object({ 'X-Operator': operatorHeader });
  const action = (summary: string, description: string, body: z.ZodType, refused: Record<number, ErrorCodes> = {}): ZodOpenApiOperationObject => ({
    tags: ['Operations'],
    summary,
    description: `${description} Audited with the operator, whether the order's workflow accepts it or not.`,
    security: ADMIN,
    requestParams: { path: z.object({ orderId: orderIdParam }), header: operator },
    requestBody: jsonBody(body),
    responses: {
      202: json("The order's workflow accepted the action; the order as it is now.", opsActionResponse),
      ...authenticatedErrors({ 404: ['ORDER_NOT_FOUND'], 409: ['OPS_ACTION_NOT_ALLOWED'], ...refused }),
    },
  });
  return {
    '/v1/ops/orders': {
      get: {
        tags: ['Operations'],
        summary: 'Find orders, e.g. deliveries stuck for ten minutes',
        description: 'Least recently changed first.',
        security: ADMIN,
        requestParams: { query: opsOrdersQuery, header: operator },
        responses: { 200: json('The matching orders.', opsOrdersResponse), ...authenticatedErrors() },
      },
    },
    '/v1/ops/stuck': {
      get: {
        tags: ['Operations'],
        summary: 'Workflows whose activities keep failing',
        description:
          'Every activity attempt that fails is recorded and cleared when the activity succeeds: this lists the ones ' +
          'failing for longer than `olderThanSeconds`, longest first, with the last error. A payment step retried ' +
          'for a long time (a channel or the game server down, a defect) shows here before anyone complains.',
        security: ADMIN,
        requestParams: { query: stuckQuery, header: operator },
        responses: { 200: json('The failing activities.', stuckResponse), ...authenticatedErrors() },
      },
    },
    '/v1/ops/orders/{orderId}/retry-delivery': {
      post: action(
        'Retry a delivery now',
        'For a `DELIVERING` order: restarts the delivery backoff (within the delivery deadline).',
        opsActionBody,
      ),
    },
    '/v1/ops/orders/{orderId}/refund': {
      post: action(
        'Refund an order',
        'For a `DELIVERING` or `MANUAL_REVIEW` order: stops delivering and refunds, unless the game server ' +
          'already took the goods. For a `DELIVERED` order (customer service): the money goes back through the ' +
          'channel and, unless `revoke` is false, the game is told to take the goods back (`revokeUrl`). ' +
          '`422 REFUND_NOT_SUPPORTED`: the channel cannot return money through its API (App Store: only Apple ' +
          "refunds, at the player's request; its refund notification then ends the order).",
        opsRefundBody,
        { 422: ['REFUND_NOT_SUPPORTED'] },
      ),
    },
    '/v1/ops/revocations': {
      get: {
        tags: ['Operations'],
        summary: 'Goods games were told (or must be told) to take back',
        description:
          'One revocation per refunded or charged-back delivered order. `NO_REVOKE_URL`: the game has no ' +
          '`revokeUrl`, a person must take the goods back.',
        security: ADMIN,
        requestParams: { query: revocationsQuery, header: operator },
        responses: { 200: json('The revocations, oldest first.', revocationsResponse), ...authenticatedErrors() },
      },
    },
    '/v1/ops/store-sweeps': {
      get: {
        tags: ['Operations'],
        summary: 'Store sweeps: the notifications the stores sent that we never took, recovered',
        description:
          "Per run of a store account's sweep (Apple's Notification History, Google's voided purchases): the window, " +
          'pages, items seen, known (taken before), recovered (by kind) and failed, with the error of a failed run; per ' +
          "recovered item the order, kind, dedupe key, the store's first try and our recovery time. Newest first.",
        security: ADMIN,
        requestParams: { query: storeSweepsQuery, header: operator },
        responses: { 200: json('The runs.', storeSweepsResponse), ...authenticatedErrors({ 400: ['INVALID_RANGE'] }) },
      },
    },
    '/v1/ops/orders/{orderId}/resolve': {
      post: action(
        'Decide an order in manual review',
        '`DELIVER` a `MANUAL_REVIEW` order as paid, or `REFUND` it (also a `DELIVERING` one).',
        resolveBody,
      ),
    },
  };
}
