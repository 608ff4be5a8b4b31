import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { SERVER_ERRORS, errors, json, jsonBody } from '../shared/openapi';
import { signInBody, whoAmI } from './schemas';

export function consolePaths(): ZodOpenApiPathsObject {
  const tags = ['Console'];
  return {
    '/v1/console/session': {
      post: {
        tags,
        summary: 'Sign in to the console',
        description:
          'Exchanges the admin token for a sign-in cookie (`HttpOnly`, `SameSite=Strict`, `CONSOLE_LOGIN_TTL`). ' +
          'With the cookie, `/v1/ops`, `/v1/finance` and `/v1/admin` answer as with the bearer token, `X-Operator` ' +
          'being the name given here; their state-changing calls must come from the same origin (`403 FORBIDDEN`).',
        requestBody: jsonBody(signInBody),
        responses: {
          200: json('Signed in; the cookie is set.', whoAmI),
          ...errors({ 400: ['VALIDATION_ERROR'], 401: ['UNAUTHORIZED'], 403: ['FORBIDDEN'], 413: ['PAYLOAD_TOO_LARGE'], 415: ['UNSUPPORTED_MEDIA_TYPE'] }, SERVER_ERRORS),
        },
      },
      get: {
        tags,
        summary: 'Who is signed in',
        responses: { 200: json('The signed-in operator, role and permissions.', whoAmI), ...errors({ 401: ['UNAUTHORIZED'] }, SERVER_ERRORS) },
      },
      delete: {
        tags,
        summary: 'Sign out',
        description: 'Ends the session at once and clears the cookie.',
        responses: { 204: { description: 'Signed out.' }, ...errors(SERVER_ERRORS) },
      },
    },
  };
}
