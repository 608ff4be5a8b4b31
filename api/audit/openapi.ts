import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ADMIN, operatorErrors, json } from '../shared/openapi';
import { auditQuery, auditResponse } from './schemas';

export function auditPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/admin/audit': {
      get: {
        tags: ['Admin'],
        summary: "The operators' audit trail",
        description:
          'Configuration changes (games, channel accounts, ...) and actions on orders, newest first. `actor` is the ' +
          "token's name (`ADMIN_TOKENS`), never a header; `operator` is the `X-Operator` it acted for. Admin role only.",
        security: ADMIN,
        requestParams: { query: auditQuery },
        responses: { 200: json('Entries, newest first.', auditResponse), ...operatorErrors() },
      },
    },
  };
}
