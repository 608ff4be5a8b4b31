import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { json } from '../shared/openapi';
import { healthResponse, readinessResponse } from './schemas';

export function healthPaths(): ZodOpenApiPathsObject {
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
          200: json('Ready: PostgreSQL and Temporal answer, a worker polls the purchases task queue, and the process is not shutting down. The probe of a load balancer.', readinessResponse),
          503: json('Not ready: draining before shutdown, a backing service does not answer, or no worker polls.', readinessResponse),
        },
      },
    },
  };
}
