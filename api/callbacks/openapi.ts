import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  SANDBOX_ACK_BODY,
  SANDBOX_MAX_SKEW_SECONDS,
  SANDBOX_SIGNATURE_HEADER,
  SANDBOX_TIMESTAMP_HEADER,
  sandboxNotificationSchema,
} from '../../channels/sandbox/wire';
import { SERVER_ERRORS, errors } from '../shared/openapi';

export function callbackPaths(): ZodOpenApiPathsObject {
  const sandboxHeader = (description: string, schema: z.ZodString, example: string) =>
    schema.optional().meta({ description: `Sandbox channel only: ${description}`, examples: [example] });
  return {
    '/v1/callbacks/{channel}': {
      post: {
        tags: ['Callbacks'],
        summary: 'Payment result notification from a channel',
        description:
          "Each channel sends its own format and signature; the body and headers shown are the sandbox channel's. " +
          'A verified notification is recorded first (also for an unknown order, kept for reconciliation), then ' +
          "handed to the order's workflow, then acknowledged in the channel's format. Until it is acknowledged the " +
          'channel retries, so a `5xx` loses nothing.',
        requestParams: {
          path: z.object({ channel: z.string().meta({ examples: ['sandbox'] }) }),
          header: z.object({
            [SANDBOX_TIMESTAMP_HEADER]: sandboxHeader(
              `unix seconds, at most ${SANDBOX_MAX_SKEW_SECONDS} s from our clock.`,
              z.string().regex(/^\d{1,12}$/),
              '1795767330',
            ),
            [SANDBOX_SIGNATURE_HEADER]: sandboxHeader(
              'base64 RSA-SHA256 (PKCS#1 v1.5) with the sandbox key over `timestamp + "\\n" + raw body + "\\n"`.',
              z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/),
              'kX3vQ0b9Yw2mZ7rT1sP4uN8aL5eH6cJ+dF0gR2iV9oU=',
            ),
          }),
        },
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: sandboxNotificationSchema,
              examples: {
                paid: {
                  summary: 'Sandbox: paid',
                  value: {
                    notifyId: 'sbxntf_4c1d9e0a7b2f6e3d5a8c0b1e',
                    event: 'PAYMENT_RESULT',
                    paymentId: 'sbxpay_9a7c3e1f5b2d4c6e8a0b1c2d',
                    merchantOrderId: '3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b',
                    result: 'SUCCESS',
                    txnId: 'sbxtxn_1e3c5a7b9d0f2e4c6a8b0d1f',
                    amount: 1200,
                    currency: 'CNY',
                    paidAt: '2026-11-27T08:15:30.000Z',
                  },
                },
                failed: {
                  summary: 'Sandbox: payment failed',
                  value: {
                    notifyId: 'sbxntf_7e2a4c6b8d0f1a3c5e7b9d0e',
                    event: 'PAYMENT_RESULT',
                    paymentId: 'sbxpay_9a7c3e1f5b2d4c6e8a0b1c2d',
                    merchantOrderId: '3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b',
                    result: 'FAILED',
                    amount: 1200,
                    currency: 'CNY',
                  },
                },
              },
            },
          },
        },
        responses: {
          200: {
            description: `Recorded and handed over; the sandbox channel's acknowledgement is \`${SANDBOX_ACK_BODY}\`.`,
            content: { 'text/plain': { schema: { type: 'string', const: SANDBOX_ACK_BODY } } },
          },
          ...errors(
            {
              400: ['MALFORMED_NOTIFICATION'],
              401: ['INVALID_SIGNATURE', 'STALE_NOTIFICATION'],
              403: ['WRONG_MERCHANT'],
              404: ['CHANNEL_NOT_FOUND'],
              413: ['PAYLOAD_TOO_LARGE'],
            },
            SERVER_ERRORS,
          ),
        },
      },
    },
  };
}
