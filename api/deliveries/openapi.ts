import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { MIN_NONCE_LENGTH } from '../../domain/signature';
import { GAME_SIGNATURE, authenticatedErrors, json, jsonBody } from '../shared/openapi';
import {
  deliveryAckBody,
  deliveryAckResponse,
  deliveryIdParam,
  deliveryWebhookBody,
  monthlyCardDayWebhookBody,
  revocationAckBody,
  revocationAckResponse,
  revocationIdParam,
  revocationWebhookBody,
} from './schemas';

// What we send to a game server: OpenAPI 3.1 `webhooks`, answered by the game's deliveryUrl and revokeUrl.

const signedHeaders = z.object({
  'X-Game-Id': z.string().meta({ description: 'the game the call is for' }),
  'X-Timestamp': z.string().meta({ description: 'unix seconds when this attempt was signed', examples: ['1765101603'] }),
  'X-Nonce': z.string().meta({
    description: `${MIN_NONCE_LENGTH} random bytes in hex, new for every attempt (a retry never reuses one)`,
    examples: ['9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49'],
  }),
  'X-Signature': z.string().meta({
    description: 'lowercase hex HMAC-SHA256 with the game secret over the request, PATH_WITH_QUERY being the path and query of the URL (docs/signing.md)',
  }),
});

const SIGNED =
  'Signed with the game secret exactly like calls to us (docs/signing.md, with test vectors). Verify the signature over ' +
  'the raw body; refusing a timestamp more than 300 s off is advised (each attempt is signed when it is sent, so a ' +
  'retry is never stale); single-use nonces are optional (every attempt has a fresh one). ';

const RETRIES =
  'One attempt waits at most `DELIVERY_HTTP_TIMEOUT_MS` (10 s) for the answer [revocations: `REVOCATION_HTTP_TIMEOUT_MS`, ' +
  '10 s]. Any 2xx ends the attempts (a delivery of a game with `requireDeliveryEcho`: a 2xx whose JSON echoes the ' +
  '`deliveryId`). Anything else is a failed attempt, retried with the same id: a 4xx as well as a 5xx, a timeout, a ' +
  'refused connection, an answer over 64 KiB, and a 3xx (redirects are not followed: answer from the URL you ' +
  'registered). Retries back off from ' +
  '`DELIVERY_RETRY_INITIAL_MS` (1 s), doubling, to at most `DELIVERY_RETRY_MAX_MS` (5 min), until ' +
  '`DELIVERY_DEADLINE_MS` (24 h) after the payment. ';

const answers = (duplicate: string, failed: string) => ({
  '200': { description: `Taken (any 2xx; the body is ignored unless the game requires the deliveryId echo). Answer 2xx again for a ${duplicate} you already processed.` },
  '3XX': { description: 'A failed attempt: retried, see the description.' },
  '4XX': { description: `A failed attempt: retried like a 5xx until the deadline (${failed}).` },
  '5XX': { description: `A failed attempt: retried until the deadline (${failed}).` },
});

export function deliveryWebhooks(): ZodOpenApiPathsObject {
  return {
    delivery: {
      post: {
        tags: ['Game server'],
        summary: 'Goods to grant: POST to the game\'s deliveryUrl',
        description:
          'Sent once the order is paid. ' + SIGNED + RETRIES +
          'Past the deadline the payment is refunded and the order ends `REFUNDED`. Grant each `deliveryId` once.',
        requestParams: { header: signedHeaders },
        requestBody: jsonBody(deliveryWebhookBody),
        responses: answers('deliveryId', 'then the payment is refunded'),
      },
    },
    revocation: {
      post: {
        tags: ['Game server'],
        summary: 'Goods to take back: POST to the game\'s revokeUrl',
        description:
          'Sent when a delivered order is refunded, charged back or revoked. ' + SIGNED + RETRIES +
          'A revocation still not taken stays `PENDING` in `GET /v1/ops/revocations` for a person; a game without ' +
          '`revokeUrl` is listed there as `NO_REVOKE_URL`. Take each `revocationId` back once.',
        requestParams: { header: signedHeaders },
        requestBody: jsonBody(revocationWebhookBody),
        responses: answers('revocationId', 'then it waits for a person'),
      },
    },
    monthlyCardDay: {
      post: {
        tags: ['Game server'],
        summary: "A monthly card's day: POST to the game's deliveryUrl",
        description:
          "Day 1 of a card once its order is delivered, then one per game day at the game's reset hour. " + SIGNED +
          'Failed attempts are retried like a delivery, with no deadline: a day is owed until the game server takes it, and ' +
          'days missed while it was down follow in order once it answers. Grant each `deliveryId` once.',
        requestParams: { header: signedHeaders },
        requestBody: jsonBody(monthlyCardDayWebhookBody),
        responses: answers('deliveryId', 'the day stays owed'),
      },
    },
  };
}

/** What a game calls back: its acknowledgement of a delivery or revocation it took from NATS or RabbitMQ. */
export function deliveryAckPaths(): ZodOpenApiPathsObject {
  return {
    '/v1/deliveries/{deliveryId}/ack': {
      post: {
        tags: ['Orders'],
        summary: 'Acknowledge a delivery taken from NATS or RabbitMQ: GRANTED or REJECTED',
        description:
          'For games in delivery mode NATS or RABBITMQ (an HTTP delivery is acknowledged by the answer to its POST). ' +
          'The first ack is recorded, then the order moves: GRANTED → `DELIVERED`, REJECTED → refunded (`REFUNDED`, ' +
          '`DELIVERY_REJECTED`). The same ack again answers the same; without an ack within the game\'s `ackTimeoutMs` ' +
          'the message is published again (same `deliveryId`). Ack over REST first, then ack the broker message. ' +
          'A `503` means the ack is recorded but the order could not be told yet: send it again.',
        security: GAME_SIGNATURE,
        requestParams: { path: z.object({ deliveryId: deliveryIdParam }) },
        requestBody: jsonBody(deliveryAckBody),
        responses: {
          200: json('Recorded (or recorded before with this result).', deliveryAckResponse),
          ...authenticatedErrors({
            404: ['DELIVERY_NOT_FOUND'],
            409: ['DELIVERY_ALREADY_ACKNOWLEDGED', 'DELIVERY_CLOSED', 'DELIVERY_NOT_AWAITING_ACK'],
          }),
        },
      },
    },
    '/v1/revocations/{revocationId}/ack': {
      post: {
        tags: ['Orders'],
        summary: 'Acknowledge a revocation taken from NATS or RabbitMQ: the goods are taken back',
        description:
          'For games in delivery mode NATS or RABBITMQ, whose revocations (refunds, chargebacks, store revocations of ' +
          'delivered orders) come as messages on `payments.revocations.<gameId>` (NATS) or the exchange ' +
          '`payments.revocations` (RabbitMQ) instead of a POST to the revokeUrl. The first ack records the revocation ' +
          '`REVOKED`; the same ack again answers the same. Without an ack within the game\'s `ackTimeoutMs` the message ' +
          'is published again (same `revocationId`) until the delivery deadline; a later ack is still recorded. Ack over ' +
          'REST first, then ack the broker message. A `503` means the ack is recorded but the order could not be told ' +
          'yet: send it again.',
        security: GAME_SIGNATURE,
        requestParams: { path: z.object({ revocationId: revocationIdParam }) },
        requestBody: jsonBody(revocationAckBody),
        responses: {
          200: json('Recorded (or recorded before).', revocationAckResponse),
          ...authenticatedErrors({
            404: ['REVOCATION_NOT_FOUND'],
            409: ['REVOCATION_NOT_AWAITING_ACK'],
          }),
        },
      },
    },
  };
}
