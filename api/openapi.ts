import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiObject,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { completeSchema } from '../sandbox/routes';
import {
  SANDBOX_ACK_BODY,
  SANDBOX_MAX_SKEW_SECONDS,
  SANDBOX_SIGNATURE_HEADER,
  SANDBOX_TIMESTAMP_HEADER,
  sandboxNotificationSchema,
} from '../sandbox/signing';
import {
  blacklistBody,
  blacklistEntry,
  blacklistKind,
  createOrderBody,
  createOrderResponse,
  errorEnvelope,
  gameBody,
  gameIdPath,
  gameResponse,
  healthResponse,
  idempotencyKey,
  itemBody,
  itemResponse,
  operatorHeader,
  opsActionBody,
  opsActionResponse,
  opsOrdersQuery,
  opsOrdersResponse,
  orderIdParam,
  orderView,
  readinessResponse,
  resolveBody,
  skuPath,
} from './schemas';

// The OpenAPI 3.1 description of every route the API serves, rendered from the same zod schemas the
// routes validate with. test/openapi.test.ts keeps it in step with the express app and its answers.

export interface OpenApiOptions {
  /** The sandbox routes are served only with SANDBOX_ENABLED. */
  sandbox: boolean;
}

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

type ErrorCodes = readonly [string, ...string[]];

const STATUS_TEXT: Record<number, string> = {
  400: 'The request is invalid',
  401: 'Not authenticated',
  403: 'Refused',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'The body is too large',
  422: 'Cannot be served as asked',
  500: 'Internal error',
  502: 'The payment channel could not open the payment: the order is closed (a new Idempotency-Key starts again)',
  503: 'PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided',
};

/** Error answers by status, each narrowed to the codes it can carry (the groups' codes merged). */
function errors(...groups: Record<number, ErrorCodes>[]): ZodOpenApiResponsesObject {
  const byStatus = new Map<string, string[]>();
  for (const [status, codes] of groups.flatMap((group) => Object.entries(group))) {
    byStatus.set(status, [...(byStatus.get(status) ?? []), ...codes]);
  }
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, codes] of byStatus) {
    responses[status as `${4 | 5}${string}`] = {
      description: `${STATUS_TEXT[Number(status)]}: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
      content: { 'application/json': { schema: errorEnvelope(codes as [string, ...string[]]) } },
    };
  }
  return responses;
}

const json = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });
const jsonBody = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });
const text = (description: string, mediaType: string) => ({
  description,
  content: { [mediaType]: { schema: { type: 'string' as const } } },
});

/** Every route that reads the books can meet an outage or a bug. */
const SERVER_ERRORS: Record<number, ErrorCodes> = { 500: ['INTERNAL'], 503: ['TEMPORARILY_UNAVAILABLE'] };

const ADMIN = [{ adminToken: [] }];
const GAME_SIGNATURE = [{ gameId: [], gameTimestamp: [], gameNonce: [], gameSignature: [] }];

/** The errors of every authenticated route (admin token or game signature), plus its own. */
const authenticatedErrors = (own: Record<number, ErrorCodes> = {}) =>
  errors({ 400: ['VALIDATION_ERROR'], 401: ['UNAUTHORIZED'], 413: ['PAYLOAD_TOO_LARGE'] }, SERVER_ERRORS, own);

function healthPaths(): ZodOpenApiPathsObject {
  return {
    '/healthz': {
      get: {
        tags: ['Health'],
        summary: 'Liveness of the backing services',
        responses: {
          200: json('PostgreSQL and Temporal answer.', healthResponse),
          503: json('PostgreSQL or Temporal does not answer.', healthResponse),
        },
      },
    },
    '/readyz': {
      get: {
        tags: ['Health'],
        summary: 'Whether this instance should receive traffic',
        responses: {
          200: json('Ready: PostgreSQL and Temporal answer and the process is not shutting down.', readinessResponse),
          503: json('Not ready: draining before shutdown, or a backing service does not answer.', readinessResponse),
        },
      },
    },
    '/metrics': {
      get: {
        tags: ['Health'],
        summary: 'Prometheus metrics',
        responses: { 200: text('Prometheus text exposition format.', 'text/plain; version=0.0.4') },
      },
    },
  };
}

function adminPaths(): ZodOpenApiPathsObject {
  const blacklistParams = {
    path: z.object({ kind: blacklistKind, value: z.string().min(1).meta({ examples: ['player-66666'] }) }),
  };
  return {
    '/v1/admin/games/{gameId}': {
      put: {
        tags: ['Admin'],
        summary: 'Create or update a game',
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
          'Prices are replaced as a whole. `stock` omitted keeps the current stock; `null` makes the item unlimited.',
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

function orderPaths(): ZodOpenApiPathsObject {
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
            422: ['NO_PRICE_FOR_REGION', 'CHANNEL_NOT_AVAILABLE'],
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

function callbackPaths(): ZodOpenApiPathsObject {
  const sandboxHeader = (description: string, schema: z.ZodString, example: string) =>
    schema.optional().meta({ description: `Sandbox channel only: ${description}`, examples: [example] });
  return {
    '/v1/callbacks/{channel}': {
      post: {
        tags: ['Callbacks'],
        summary: 'Payment result notification from a channel',
        description:
          "Each channel sends its own format and signature; the body and headers shown are the sandbox channel's. " +
          'A verified notification is recorded first (also for an unknown order, kept for reconciliation), then ' +
          "handed to the order's workflow, then acknowledged in the channel's format. Until it is acknowledged the " +
          'channel retries, so a `5xx` loses nothing.',
        requestParams: {
          path: z.object({ channel: z.string().meta({ examples: ['sandbox'] }) }),
          header: z.object({
            [SANDBOX_TIMESTAMP_HEADER]: sandboxHeader(
              `unix seconds, at most ${SANDBOX_MAX_SKEW_SECONDS} s from our clock.`,
              z.string().regex(/^\d{1,12}$/),
              '1795767330',
            ),
            [SANDBOX_SIGNATURE_HEADER]: sandboxHeader(
              'base64 RSA-SHA256 (PKCS#1 v1.5) with the sandbox key over `timestamp + "\\n" + raw body + "\\n"`.',
              z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/),
              'kX3vQ0b9Yw2mZ7rT1sP4uN8aL5eH6cJ+dF0gR2iV9oU=',
            ),
          }),
        },
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: sandboxNotificationSchema,
              examples: {
                paid: {
                  summary: 'Sandbox: paid',
                  value: {
                    notifyId: 'sbxntf_4c1d9e0a7b2f6e3d5a8c0b1e',
                    event: 'PAYMENT_RESULT',
                    paymentId: 'sbxpay_9a7c3e1f5b2d4c6e8a0b1c2d',
                    merchantOrderId: '3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b',
                    result: 'SUCCESS',
                    txnId: 'sbxtxn_1e3c5a7b9d0f2e4c6a8b0d1f',
                    amount: 1200,
                    currency: 'CNY',
                    paidAt: '2026-11-27T08:15:30.000Z',
                  },
                },
                failed: {
                  summary: 'Sandbox: payment failed',
                  value: {
                    notifyId: 'sbxntf_7e2a4c6b8d0f1a3c5e7b9d0e',
                    event: 'PAYMENT_RESULT',
                    paymentId: 'sbxpay_9a7c3e1f5b2d4c6e8a0b1c2d',
                    merchantOrderId: '3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b',
                    result: 'FAILED',
                    amount: 1200,
                    currency: 'CNY',
                  },
                },
              },
            },
          },
        },
        responses: {
          200: {
            description: `Recorded and handed over; the sandbox channel's acknowledgement is \`${SANDBOX_ACK_BODY}\`.`,
            content: { 'text/plain': { schema: { type: 'string', const: SANDBOX_ACK_BODY } } },
          },
          ...errors(
            {
              400: ['MALFORMED_NOTIFICATION'],
              401: ['INVALID_SIGNATURE', 'STALE_NOTIFICATION'],
              404: ['CHANNEL_NOT_FOUND'],
              413: ['PAYLOAD_TOO_LARGE'],
            },
            SERVER_ERRORS,
          ),
        },
      },
    },
  };
}

function sandboxPaths(): ZodOpenApiPathsObject {
  const paymentId = z.string().meta({ examples: ['sbxpay_9a7c3e1f5b2d4c6e8a0b1c2d'] });
  const paymentParams = { path: z.object({ paymentId }) };
  return {
    '/sandbox/checkout/{paymentId}': {
      get: {
        tags: ['Sandbox'],
        summary: 'Checkout page of a sandbox payment',
        description: 'The `payUrl` of sandbox orders: shows the amount with *Pay* and *Fail* buttons.',
        requestParams: paymentParams,
        responses: {
          200: text('The checkout page.', 'text/html'),
          404: text('No such sandbox payment.', 'text/html'),
          ...errors(SERVER_ERRORS),
        },
      },
    },
    '/sandbox/payments/{paymentId}/complete': {
      post: {
        tags: ['Sandbox'],
        summary: 'Pay or fail a sandbox payment',
        description:
          `The sandbox then sends \`notifyTimes\` identical signed notifications to \`/v1/callbacks/sandbox\` and ` +
          'retries each until it is acknowledged. `paidAmount` (minor units) simulates a payment that differs ' +
          'from the order.',
        requestParams: paymentParams,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: completeSchema,
              examples: {
                pay: { summary: 'Pay the amount asked', value: { result: 'SUCCESS' } },
                fail: { summary: 'The payment fails', value: { result: 'FAILED' } },
                underpay: {
                  summary: 'Pay ¥10.00 of ¥12.00, notify three times',
                  value: { result: 'SUCCESS', paidAmount: 1000, notifyTimes: 3, notifyDelayMs: 500 },
                },
              },
            },
          },
        },
        responses: {
          202: json(
            'Accepted; the notifications follow.',
            z.strictObject({ paymentId: z.string(), status: z.enum(['PAID', 'FAILED']) }),
          ),
          ...errors(
            {
              400: ['VALIDATION_ERROR'],
              404: ['PAYMENT_NOT_FOUND'],
              409: ['PAYMENT_NOT_PAYABLE'],
              413: ['PAYLOAD_TOO_LARGE'],
            },
            SERVER_ERRORS,
          ),
        },
      },
    },
  };
}

function opsPaths(): ZodOpenApiPathsObject {
  const operator = z.object({ 'X-Operator': operatorHeader });
  const action = (summary: string, description: string, body: z.ZodType): ZodOpenApiOperationObject => ({
    tags: ['Operations'],
    summary,
    description: `${description} Audited with the operator, whether the order's workflow accepts it or not.`,
    security: ADMIN,
    requestParams: { path: z.object({ orderId: orderIdParam }), header: operator },
    requestBody: jsonBody(body),
    responses: {
      202: json("The order's workflow accepted the action; the order as it is now.", opsActionResponse),
      ...authenticatedErrors({ 404: ['ORDER_NOT_FOUND'], 409: ['OPS_ACTION_NOT_ALLOWED'] }),
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
    '/v1/ops/orders/{orderId}/retry-delivery': {
      post: action(
        'Retry a delivery now',
        'For a `DELIVERING` order: restarts the delivery backoff (within the delivery deadline).',
        opsActionBody,
      ),
    },
    '/v1/ops/orders/{orderId}/refund': {
      post: action(
        'Refund instead of delivering',
        'For a `DELIVERING` or `MANUAL_REVIEW` order: stops delivering and refunds, unless the game server ' +
          'already took the goods.',
        opsActionBody,
      ),
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

function documentationPaths(): ZodOpenApiPathsObject {
  return {
    [OPENAPI_PATH]: {
      get: {
        tags: ['Documentation'],
        summary: 'This OpenAPI document',
        responses: {
          200: { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
    [DOCS_PATH]: {
      get: {
        tags: ['Documentation'],
        summary: 'Interactive documentation (Swagger UI)',
        responses: { 200: text('The Swagger UI page, loading this document.', 'text/html') },
      },
    },
  };
}

export function openApiSpec({ sandbox }: OpenApiOptions): ZodOpenApiObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Game Payment Center',
      version: '1',
      description:
        'Sells game items for real money: one durable Temporal workflow per purchase.\n\n' +
        '- Bodies are JSON; amounts are `{ "currency": "CNY", "value": 600 }` in integer **minor units** ' +
        '(600 CNY = ¥6.00).\n' +
        '- Every error is `{ "error": { "code", "message", "details"? } }` and changes nothing; an unknown route ' +
        'answers `404 ROUTE_NOT_FOUND`.',
    },
    tags: [
      { name: 'Health' },
      { name: 'Admin', description: 'Catalogue and risk administration (admin bearer token).' },
      { name: 'Orders', description: 'Game-server calls, signed with the game secret.' },
      { name: 'Callbacks', description: 'Payment channels report payment results.' },
      ...(sandbox ? [{ name: 'Sandbox', description: 'The built-in test payment provider (`SANDBOX_ENABLED`).' }] : []),
      { name: 'Operations', description: 'Find stuck orders and act on them (admin token and `X-Operator`).' },
      { name: 'Documentation' },
    ],
    paths: {
      ...healthPaths(),
      ...adminPaths(),
      ...orderPaths(),
      ...callbackPaths(),
      ...(sandbox ? sandboxPaths() : {}),
      ...opsPaths(),
      ...documentationPaths(),
    },
    components: {
      schemas: { SandboxNotification: sandboxNotificationSchema },
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'The `ADMIN_TOKEN` of the deployment.' },
        gameId: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Game-Id',
          description:
            'Game-server calls carry four headers: `X-Game-Id`, `X-Timestamp` (unix seconds), `X-Nonce` ' +
            '(at least 16 characters, single use) and `X-Signature` = lowercase hex HMAC-SHA256(game secret, ' +
            '`METHOD + "\\n" + PATH_WITH_QUERY + "\\n" + TIMESTAMP + "\\n" + NONCE + "\\n" + ' +
            'hex(SHA-256(raw body))`). ' +
            'A bad or missing signature, a clock skew over `SIGNATURE_MAX_SKEW_SECONDS` (300 s) or a reused nonce ' +
            'answers `401 UNAUTHORIZED`. Deliveries to the game server are signed the same way.',
        },
        gameTimestamp: { type: 'apiKey', in: 'header', name: 'X-Timestamp', description: 'Unix seconds.' },
        gameNonce: { type: 'apiKey', in: 'header', name: 'X-Nonce', description: 'At least 16 characters, used once.' },
        gameSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Signature',
          description: 'Lowercase hex HMAC-SHA256 of the canonical request (see `gameId`).',
        },
      },
    },
  };
}

export function buildOpenApiDocument(options: OpenApiOptions) {
  return createDocument(openApiSpec(options), {
    override: ({ jsonSchema }) => {
      // zod's own uuid and date-time regexes say no more than the format and would fill every page.
      if (jsonSchema.format === 'date-time' || jsonSchema.format === 'uuid') delete jsonSchema.pattern;
    },
  });
}
