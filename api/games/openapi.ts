import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { GAME_SIGNATURE, authenticatedErrors, json, jsonBody } from '../shared/openapi';
import { MAX_GRANTS_PER_CALL, grantLogBody, grantLogResponse } from './schemas';

export function gamePaths(): ZodOpenApiPathsObject {
  return {
    '/v1/games/grant-logs': {
      post: {
        tags: ['Orders'],
        summary: "Send the game's own log of granted deliveries (three-way reconciliation)",
        description:
          `Up to ${MAX_GRANTS_PER_CALL} grants per call, as many calls as the day needs; sending a grant again changes nothing ` +
          '(one per `deliveryId`). The daily reconciliation then reports deliveries of that day the log lacks ' +
          '(`PAID_NOT_GRANTED`) and grants of orders not paid and delivered (`GRANTED_NOT_PAID`). A day with an empty ' +
          'batch counts as sent: every delivery of it is expected in the log.',
        security: GAME_SIGNATURE,
        requestBody: jsonBody(grantLogBody),
        responses: { 200: json('What was recorded.', grantLogResponse), ...authenticatedErrors() },
      },
    },
  };
}
