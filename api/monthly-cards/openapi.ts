import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { GAME_SIGNATURE, authenticatedErrors, json } from '../shared/openapi';
import { monthlyCardsQuery, monthlyCardsResponse } from './schemas';

export function monthlyCardPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/monthly-cards': {
      get: {
        tags: ['Orders'],
        summary: "A player's monthly cards",
        description:
          'Running cards and those ended in the last 30 days. A delivered `MONTHLY_CARD` order grants its `grants` at ' +
          'once, then its `dailyGrants` on each game day (the game\'s `timeZone` and `dailyResetHour`), day 1 at once, ' +
          '`days` in all; buying again while the card runs adds its days at the end. Each day is a delivery of its own ' +
          '(`kind: "MONTHLY_CARD_DAILY"`, see the `monthlyCardDay` webhook).',
        security: GAME_SIGNATURE,
        requestParams: { query: monthlyCardsQuery },
        responses: { 200: json("The player's cards.", monthlyCardsResponse), ...authenticatedErrors() },
      },
    },
  };
}
