import { globalRegistry, type z } from 'zod';
import type { ZodOpenApiResponsesObject } from 'zod-openapi';
import { errorEnvelope } from './schemas';

// Building blocks of the OpenAPI fragments each resource keeps beside its routes (`<resource>/openapi.ts`).

export type ErrorCodes = readonly [string, ...string[]];

const STATUS_TEXT: Record<number, string> = {
  400: 'The request is invalid',
  401: 'Not authenticated',
  403: 'Refused',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'The body is too large',
  415: 'The body is not JSON in UTF-8',
  422: 'Cannot be served as asked',
  500: 'Internal error',
  502: 'The payment channel could not open the payment: the order is closed (a new Idempotency-Key starts again)',
  503: 'PostgreSQL or Temporal is unavailable, or no worker answered in time: retry, nothing was decided',
};

/** Error answers by status, each narrowed to the codes it can carry (the groups' codes merged). */
export function errors(...groups: Record<number, ErrorCodes>[]): ZodOpenApiResponsesObject {
  const byStatus = new Map<string, string[]>();
  for (const [status, codes] of groups.flatMap((group) => Object.entries(group))) {
    byStatus.set(status, [...new Set([...(byStatus.get(status) ?? []), ...codes])]);
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

export const json = (description: string, schema: z.ZodType) => ({ description, content: { 'application/json': { schema } } });
/**
 * A JSON request body. The schema's examples (`.meta({ examples })`) are also given as named media
 * examples, which Swagger UI offers in a menu ("Try it out" starts from the one picked).
 */
export const jsonBody = (schema: z.ZodType) => {
  const examples = (globalRegistry.get(schema)?.examples ?? []) as unknown[];
  return {
    required: true,
    content: {
      'application/json': {
        schema,
        ...(examples.length > 1 && {
          examples: Object.fromEntries(examples.map((value, i) => [`example${i + 1}`, { summary: summaryOf(value, i), value }])),
        }),
      },
    },
  };
};

/** A short label for an example in Swagger UI's menu. */
function summaryOf(value: unknown, i: number): string {
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    const label = v.name ?? v.action ?? v.sku ?? v.userId ?? v.reason;
    if (typeof label === 'string') return label.length > 60 ? `${label.slice(0, 57)}…` : label;
  }
  return `Example ${i + 1}`;
}
export const text = (description: string, mediaType: string) => ({
  description,
  content: { [mediaType]: { schema: { type: 'string' as const } } },
});

/** Every route that reads the books can meet an outage or a bug. */
export const SERVER_ERRORS: Record<number, ErrorCodes> = { 500: ['INTERNAL'], 503: ['TEMPORARILY_UNAVAILABLE'] };

export const ADMIN = [{ adminToken: [] }];
export const GAME_SIGNATURE = [{ gameId: [], gameTimestamp: [], gameNonce: [], gameSignature: [] }];

/** The errors of every authenticated route (admin token or game signature), plus its own. */
const AUTHENTICATED: Record<number, ErrorCodes> = { 400: ['VALIDATION_ERROR'], 401: ['UNAUTHORIZED'], 413: ['PAYLOAD_TOO_LARGE'], 415: ['UNSUPPORTED_MEDIA_TYPE'] };
export const authenticatedErrors = (own: Record<number, ErrorCodes> = {}) => errors(AUTHENTICATED, SERVER_ERRORS, own);

/**
 * The errors of every operator route (security ADMIN), plus its own: no route admits every role, so
 * each may answer `403 FORBIDDEN` to a token of another role (domain/operators.ts rolesFor).
 */
export const operatorErrors = (own: Record<number, ErrorCodes> = {}) => errors(AUTHENTICATED, SERVER_ERRORS, { 403: ['FORBIDDEN'] }, own);
