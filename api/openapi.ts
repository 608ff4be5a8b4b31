import { createDocument, type ZodOpenApiObject } from 'zod-openapi';
import { sandboxNotificationSchema } from '../channels/sandbox/wire';
import { sandboxPaths } from '../sandbox/openapi';
import { auditPaths } from './audit/openapi';
import { adminPaths } from './admin/openapi';
import { callbackPaths } from './callbacks/openapi';
import { channelPaths } from './channels/openapi';
import { consolePaths } from './console/openapi';
import { deliveryAckPaths, deliveryWebhooks } from './deliveries/openapi';
import { documentationPaths } from './docs/openapi';
import { financePaths } from './finance/openapi';
import { gamePaths } from './games/openapi';
import { healthPaths } from './health/openapi';
import { monthlyCardPaths } from './monthly-cards/openapi';
import { storefrontPaths } from './storefront/openapi';
import { opsPaths } from './ops/openapi';
import { orderPaths } from './orders/openapi';
import { riskPaths } from './risk/openapi';

// The OpenAPI 3.1 description of every route the API serves, assembled from the fragment each
// resource keeps beside its routes, rendered from the same zod schemas the routes validate with.
// test/api/openapi.test.ts keeps it in step with the express app and its answers.

export { DOCS_PATH, OPENAPI_PATH } from './docs/openapi';

export interface OpenApiOptions {
  /** The sandbox routes are served only with SANDBOX_ENABLED. */
  sandbox: boolean;
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
      { name: 'Admin', description: 'Catalogue administration (admin bearer token).' },
      { name: 'Risk', description: 'Risk rules and the blacklist (admin bearer token).' },
      { name: 'Orders', description: 'Game-server calls, signed with the game secret.' },
      { name: 'Callbacks', description: 'Payment channels report payment results.' },
      ...(sandbox ? [{ name: 'Sandbox', description: 'The built-in test payment provider (`SANDBOX_ENABLED`).' }] : []),
      { name: 'Operations', description: 'Find stuck orders and act on them (admin token and `X-Operator`).' },
      { name: 'Console', description: 'The ops and finance console\'s sign-in (served at `/console`).' },
      { name: 'Finance', description: 'Ledger, reconciliation runs and their differences, reports (admin token).' },
      { name: 'Documentation' },
      { name: 'Game server', description: 'Webhooks: what we POST to a game server (its deliveryUrl and revokeUrl).' },
    ],
    paths: {
      ...healthPaths(),
      ...adminPaths(),
      ...auditPaths(),
      ...riskPaths(),
      ...channelPaths(),
      ...orderPaths(),
      ...callbackPaths(),
      ...(sandbox ? sandboxPaths() : {}),
      ...opsPaths(),
      ...consolePaths(),
      ...gamePaths(),
      ...monthlyCardPaths(),
      ...storefrontPaths(),
      ...deliveryAckPaths(),
      ...financePaths(),
      ...documentationPaths(),
    },
    webhooks: deliveryWebhooks(),
    components: {
      schemas: { SandboxNotification: sandboxNotificationSchema },
      securitySchemes: {
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'An operator token: `ADMIN_TOKEN` (role admin) or one of `ADMIN_TOKENS` (admin, ops or finance; another role answers 403).',
        },
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
            'answers `401 UNAUTHORIZED` with `error.details.reason`: `MISSING_HEADERS`, `UNKNOWN_GAME`, `BAD_TIMESTAMP`, ' +
            '`CLOCK_SKEW`, `BAD_NONCE`, `BAD_SIGNATURE` or `NONCE_REUSED` (docs/signing.md). ' +
            'Deliveries to the game server are signed the same way.',
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
