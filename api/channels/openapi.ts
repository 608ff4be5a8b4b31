import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ADMIN, operatorErrors, json, jsonBody } from '../shared/openapi';
import { channelAccountBody, channelAccountView, channelAccountsResponse, channelHealthResponse, channelIdPath } from './schemas';

export function channelPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/admin/channels': {
      get: {
        tags: ['Admin'],
        summary: 'List the channel accounts (never their credentials)',
        security: ADMIN,
        responses: { 200: json('Every configured account.', channelAccountsResponse), ...operatorErrors() },
      },
    },
    '/v1/admin/channels/health': {
      get: {
        tags: ['Admin'],
        summary: "Each channel account's circuit breaker, recent calls and create latency",
        description:
          'Read from the state every API and worker process shares (PostgreSQL, or Redis when `REDIS_URL` is set). A breaker opens ' +
          'when technical failures (errors, timeouts; not refusals or declines) reach `CHANNEL_BREAKER_FAILURE_RATE` of at least ' +
          '`CHANNEL_BREAKER_MIN_CALLS` calls in `CHANNEL_BREAKER_WINDOW_MS`, or after `CHANNEL_BREAKER_CONSECUTIVE_FAILURES` in a row; ' +
          'after `CHANNEL_BREAKER_COOLDOWN_MS` it lets `CHANNEL_BREAKER_HALF_OPEN_PROBES` orders probe it, and closes on a success.',
        security: ADMIN,
        responses: { 200: json('Every configured or recently called account.', channelHealthResponse), ...operatorErrors() },
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
        responses: { 200: json('The account, without its credentials.', channelAccountView), ...operatorErrors() },
      },
    },
  };
}
