import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ADMIN, authenticatedErrors, json, jsonBody } from '../shared/openapi';
import { channelAccountBody, channelAccountView, channelAccountsResponse, channelIdPath } from './schemas';

export function channelPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/admin/channels': {
      get: {
        tags: ['Admin'],
        summary: 'List the channel accounts (never their credentials)',
        security: ADMIN,
        responses: { 200: json('Every configured account.', channelAccountsResponse), ...authenticatedErrors() },
      },
    },
    '/v1/admin/channels/{channelId}': {
      put: {
        tags: ['Admin'],
        summary: 'Create or change a channel account',
        description:
          'Applies to new orders within a second on every API and worker process, without a restart, and is audited ' +
          '(who, when, before and after, without credentials; `X-Operator` names who, else `admin`).',
        security: ADMIN,
        requestParams: { path: z.object({ channelId: channelIdPath }) },
        requestBody: jsonBody(channelAccountBody),
        responses: { 200: json('The account, without its credentials.', channelAccountView), ...authenticatedErrors() },
      },
    },
  };
}
