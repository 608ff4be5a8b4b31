import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject } from 'zod-openapi';
import { orderIdParam } from '../orders/schemas';
import { ADMIN, operatorErrors, json, jsonBody, type ErrorCodes } from '../shared/openapi';
import {
  operatorHeader,
  optionalOperatorHeader,
  opsActionBody,
  opsActionResponse,
  opsOrdersQuery,
  opsOrderStory,
  opsOrdersResponse,
  opsRefundBody,
  resolveBody,
  riskDecisionBody,
  revocationsQuery,
  revocationsResponse,
  storeSweepsQuery,
  storeSweepsResponse,
  stuckQuery,
  stuckResponse,
} from './schemas';

export function opsPaths(): ZodOpenApiPathsObject {
  const operator = z.object({ 'X-Operator': operatorHeader });
  const asker = z.object({ 'X-Operator': optionalOperatorHeader });
  const action = (summary: string, description: string, body: z.ZodType, refused: Record<number, ErrorCodes> = {}): ZodOpenApiOperationObject => ({
    tags: ['Operations'],
    summary,
    description: `${description} Audited with the operator, whether the order's workflow accepts it or not.`,
    security: ADMIN,
    requestParams: { path: z.object({ orderId: orderIdParam }), header: operator },
    requestBody: jsonBody(body),
    responses: {
      202: json("The order's workflow accepted the action; the order as it is now.", opsActionResponse),
      ...operatorErrors({ 404: ['ORDER_NOT_FOUND'], 409: ['OPS_ACTION_NOT_ALLOWED'], ...refused }),
    },
  });
  return {
    '/v1/ops/orders': {
      get: {
        tags: ['Operations'],
        summary: 'Find orders: deliveries stuck for ten minutes, or any order by id, user, payment or trade number',
        description:
          'With only `status`, `gameId` and `olderThanSeconds`: least recently changed first. With `q`, `userId`, ' +
          '`channel`, `from`, `to` or `after` (the console\'s search): newest first, keyset paged by `next`.',
        security: ADMIN,
        requestParams: { query: opsOrdersQuery, header: asker },
        responses: { 200: json('The matching orders.', opsOrdersResponse), ...operatorErrors() },
      },
    },
    '/v1/ops/orders/{orderId}': {
      get: {
        tags: ['Operations'],
        summary: "An order's whole story",
        description:
          'The order, its timeline (created, routing, payment attempts, notifications, payment results, statuses, ' +
          'delivery, refund, revocation, operators\' actions; oldest first), its ledger entries, its reconciliation differences ' +
          'and, when a rule applied to it, what risk decided (`risk`: decision, hits with their figures, the operator\'s review decision).',
        security: ADMIN,
        requestParams: { path: z.object({ orderId: orderIdParam }), header: asker },
        responses: { 200: json('The order page.', opsOrderStory), ...operatorErrors({ 404: ['ORDER_NOT_FOUND'] }) },
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
        requestParams: { query: stuckQuery, header: asker },
        responses: { 200: json('The failing activities.', stuckResponse), ...operatorErrors() },
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
        requestParams: { query: revocationsQuery, header: asker },
        responses: { 200: json('The revocations, oldest first.', revocationsResponse), ...operatorErrors() },
      },
    },
    '/v1/ops/orders/{orderId}/close': {
      post: action(
        'Close an unpaid order',
        'For a `PENDING_PAYMENT` order: closes its channel payment and the order (`CLOSED`), through its workflow ' +
          "as the game's own cancel does; a payment that still arrives is refunded (`LATE_PAYMENT`).",
        opsActionBody,
      ),
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
        requestParams: { query: storeSweepsQuery, header: asker },
        responses: { 200: json('The runs.', storeSweepsResponse), ...operatorErrors({ 400: ['INVALID_RANGE'] }) },
      },
    },
    '/v1/ops/orders/{orderId}/resolve': {
      post: action(
        'Decide an order in manual review',
        '`DELIVER` a `MANUAL_REVIEW` order as paid, or `REFUND` it (also a `DELIVERING` one).',
        resolveBody,
      ),
    },
    '/v1/ops/orders/{orderId}/risk-decision': {
      post: action(
        'Decide an order held for risk review',
        '`APPROVE` a `RISK_REVIEW` order (it is delivered) or `DENY` it (refunded, `RISK_DENIED`). Undecided within ' +
          '`RISK_REVIEW_TIMEOUT_MS` (24 h) it is refunded (`RISK_REVIEW_TIMEOUT`).',
        riskDecisionBody,
      ),
    },
  };
}
