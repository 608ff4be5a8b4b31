import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { text } from '../shared/openapi';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

export function documentationPaths(): ZodOpenApiPathsObject {
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
