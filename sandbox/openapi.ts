import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { ADMIN, SERVER_ERRORS, errors, json, jsonBody, operatorErrors, text } from '../api/shared/openapi';
import {
  sandboxCloseResponse,
  sandboxCreatePaymentRequest,
  sandboxPaymentView,
  sandboxRefundRequest,
  sandboxRefundView,
} from '../channels/sandbox/wire';
import { checkoutPaySchema, completeSchema } from './routes';
import { adjustmentBody, adjustmentView, statementDate, statementQuery } from './statements';

export function sandboxPaths(): ZodOpenApiPathsObject {
  const paymentId = z.string().meta({ examples: ['sbxpay_9a7c3e1f5b2d4c6e8a0b1c2d'] });
  const paymentParams = { path: z.object({ paymentId }) };
  return {
    '/sandbox/checkout/{paymentId}': {
      get: {
        tags: ['Sandbox'],
        summary: 'Checkout page of a sandbox payment',
        description: 'The `payUrl` of sandbox orders: shows the amount with *Pay* and *Fail* buttons.',
        requestParams: paymentParams,
        responses: {
          200: text('The checkout page.', 'text/html'),
          404: text('No such sandbox payment.', 'text/html'),
          ...errors(SERVER_ERRORS),
        },
      },
    },
    '/sandbox/checkout/{paymentId}/pay': {
      post: {
        tags: ['Sandbox'],
        summary: "The checkout page's Pay and Fail buttons",
        description:
          'Pays (or fails) the payment the amount asked, for whoever has its link, as a payer would; the sandbox then ' +
          'sends a signed notification to the callback route of the order\'s account.',
        requestParams: paymentParams,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: checkoutPaySchema,
              examples: {
                pay: { summary: 'Pay the amount asked', value: { result: 'SUCCESS' } },
                fail: { summary: 'The payment fails', value: { result: 'FAILED' } },
              },
            },
          },
        },
        responses: {
          202: json('Accepted; the notification follows.', z.strictObject({ paymentId: z.string(), status: z.enum(['PAID', 'FAILED']) })),
          ...errors(
            {
              400: ['VALIDATION_ERROR'],
              404: ['PAYMENT_NOT_FOUND'],
              409: ['PAYMENT_NOT_PAYABLE'],
              413: ['PAYLOAD_TOO_LARGE'],
              415: ['UNSUPPORTED_MEDIA_TYPE'],
            },
            SERVER_ERRORS,
          ),
        },
      },
    },
    '/sandbox/payments/{paymentId}/complete': {
      post: {
        tags: ['Sandbox'],
        summary: 'Test route: pay or fail a sandbox payment, with any paid amount',
        description:
          `Admin token. The sandbox then sends \`notifyTimes\` identical signed notifications to \`/v1/callbacks/sandbox\` and ` +
          'retries each until it is acknowledged. `paidAmount` (minor units) simulates a payment that differs ' +
          'from the order.',
        security: ADMIN,
        requestParams: paymentParams,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: completeSchema,
              examples: {
                pay: { summary: 'Pay the amount asked', value: { result: 'SUCCESS' } },
                fail: { summary: 'The payment fails', value: { result: 'FAILED' } },
                underpay: {
                  summary: 'Pay ¥10.00 of ¥12.00, notify three times',
                  value: { result: 'SUCCESS', paidAmount: 1000, notifyTimes: 3, notifyDelayMs: 500 },
                },
              },
            },
          },
        },
        responses: {
          202: json(
            'Accepted; the notifications follow.',
            z.strictObject({ paymentId: z.string(), status: z.enum(['PAID', 'FAILED']) }),
          ),
          ...errors(
            {
              400: ['VALIDATION_ERROR'],
              401: ['UNAUTHORIZED'],
              403: ['FORBIDDEN'],
              404: ['PAYMENT_NOT_FOUND'],
              409: ['PAYMENT_NOT_PAYABLE'],
              413: ['PAYLOAD_TOO_LARGE'],
              415: ['UNSUPPORTED_MEDIA_TYPE'],
            },
            SERVER_ERRORS,
          ),
        },
      },
    },
    ...merchantApiPaths(),
    ...statementPaths(),
  };
}

/** The provider's daily statements, and the differences tests and demos plant in them. */
function statementPaths(): ZodOpenApiPathsObject {
  const tags = ['Sandbox'];
  const dateParams = { path: z.object({ date: statementDate }) };
  const refused = (own: Record<number, readonly [string, ...string[]]>) =>
    operatorErrors(own);
  return {
    '/sandbox/statements/{date}': {
      get: {
        tags,
        security: ADMIN,
        summary: "The provider's statement of one day (CSV in the shape of WeChat Pay's trade bill)",
        description:
          'Payments, refunds and fees of one calendar day in `RECON_TIME_ZONE`, as the platform\'s sandbox adapter ' +
          'reads them for reconciliation: a header row, lines whose every cell starts with a backtick (amounts as ' +
          'decimals in the currency\'s unit, times local with their offset), then a per-currency summary. The fee is ' +
          '0.60% of every line, rounded half up (a refund returns its share). `channelId` narrows it to one sandbox ' +
          'account (the payments notified at `/v1/callbacks/{channelId}`).',
        requestParams: { ...dateParams, query: statementQuery },
        responses: { 200: text('The statement.', 'text/csv'), ...refused({}) },
      },
    },
    '/sandbox/statements/{date}/adjustments': {
      post: {
        tags,
        security: ADMIN,
        summary: "Plant a difference in a day's statement",
        description:
          '`DROP` leaves the payment out, `AMOUNT` and `FEE` list it with another amount or fee (minor units), ' +
          '`MOVE_TO_NEXT_DAY` lists it on the next day instead, `STATUS` lists it as refunded too. `EXTRA` without ' +
          '`channelPaymentId` adds a payment nobody ordered (a new one each call); with the id of an unpaid or closed ' +
          'payment, the payer paid after all and the notification was lost: the provider records it paid on that day ' +
          'and only the statement tells.',
        requestParams: dateParams,
        requestBody: jsonBody(adjustmentBody),
        responses: {
          201: json('The planted difference.', adjustmentView),
          ...refused({ 404: ['PAYMENT_NOT_FOUND'], 409: ['PAYMENT_ALREADY_PAID', 'PAYMENT_NOT_LISTED'] }),
        },
      },
    },
  };
}

/** The provider's merchant API: what the platform's sandbox adapter calls, as it would call a real channel. */
function merchantApiPaths(): ZodOpenApiPathsObject {
  const tags = ['Sandbox'];
  const paymentId = z.string().meta({ examples: ['sbx_9a7c3e1f5b2d4c6e8a0b1c2d'] });
  const refused = (own: Record<number, readonly [string, ...string[]]>) =>
    operatorErrors(own);
  return {
    '/sandbox/api/payments': {
      post: {
        tags,
        security: ADMIN,
        summary: 'Merchant API: open a payment',
        description:
          'Admin token (what the sandbox adapter sends). Idempotent by `merchantOrderId`: the same order gets the same payment. ' +
          '`notifyUrl` must be this deployment\'s callback route (`PUBLIC_BASE_URL` + `/v1/callbacks/{channelId}`).',
        requestBody: jsonBody(sandboxCreatePaymentRequest),
        responses: { 201: json('The payment.', sandboxPaymentView), ...refused({ 409: ['MERCHANT_ORDER_CONFLICT'] }) },
      },
    },
    '/sandbox/api/payments/{paymentId}': {
      get: {
        tags,
        security: ADMIN,
        summary: 'Merchant API: query a payment',
        requestParams: { path: z.object({ paymentId }) },
        responses: { 200: json('The payment.', sandboxPaymentView), ...refused({ 404: ['PAYMENT_NOT_FOUND'] }) },
      },
    },
    '/sandbox/api/payments/{paymentId}/close': {
      post: {
        tags,
        security: ADMIN,
        summary: 'Merchant API: close an unpaid payment',
        description: 'Idempotent; `ALREADY_PAID` when the payer paid first.',
        requestParams: { path: z.object({ paymentId }) },
        responses: { 200: json('The outcome.', sandboxCloseResponse), ...refused({ 404: ['PAYMENT_NOT_FOUND'] }) },
      },
    },
    '/sandbox/api/refunds': {
      post: {
        tags,
        security: ADMIN,
        summary: 'Merchant API: refund a payment in full',
        description: 'Idempotent by `refundId`.',
        requestBody: jsonBody(sandboxRefundRequest),
        responses: {
          201: json('The refund.', sandboxRefundView),
          ...refused({
            404: ['PAYMENT_NOT_FOUND'],
            409: ['REFUND_NOT_ALLOWED', 'REFUND_CONFLICT'],
            422: ['REFUND_AMOUNT_MISMATCH'],
          }),
        },
      },
    },
    '/sandbox/api/refunds/{refundId}': {
      get: {
        tags,
        security: ADMIN,
        summary: 'Merchant API: query a refund by the merchant refund id',
        requestParams: { path: z.object({ refundId: z.string().meta({ examples: ['rf_3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b'] }) }) },
        responses: { 200: json('The refund.', sandboxRefundView), ...refused({ 404: ['REFUND_NOT_FOUND'] }) },
      },
    },
  };
}
