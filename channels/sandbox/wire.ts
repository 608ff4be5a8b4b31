import { createSign, createVerify } from 'node:crypto';
import { z } from 'zod';

/**
 * The sandbox provider's wire protocol. A notification is a POST of a JSON body with
 * Sandbox-Timestamp (unix seconds) and Sandbox-Signature = base64 RSA-SHA256 (PKCS#1 v1.5)
 * over `${timestamp}\n${rawBody}\n`; the receiver acknowledges with 200 and the plain body SUCCESS.
 */
export const SANDBOX_TIMESTAMP_HEADER = 'Sandbox-Timestamp';
export const SANDBOX_SIGNATURE_HEADER = 'Sandbox-Signature';
export const SANDBOX_ACK_BODY = 'SUCCESS';
export const SANDBOX_CALLBACK_PATH = '/v1/callbacks/sandbox';
/** Notifications signed further than this from the receiver's clock are refused. */
export const SANDBOX_MAX_SKEW_SECONDS = 300;

export const sandboxNotificationSchema = z
  .object({
    notifyId: z.string().min(1),
    event: z.literal('PAYMENT_RESULT'),
    paymentId: z.string().min(1),
    merchantOrderId: z.string().min(1),
    result: z.enum(['SUCCESS', 'FAILED']),
    txnId: z.string().min(1).optional(),
    amount: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    currency: z.string().regex(/^[A-Z]{3}$/),
    paidAt: z.iso.datetime().optional(),
  })
  .refine((n) => n.result === 'FAILED' || (n.txnId !== undefined && n.paidAt !== undefined), {
    message: 'a SUCCESS notification carries txnId and paidAt',
  });

export type SandboxNotificationBody = z.infer<typeof sandboxNotificationSchema>;

/** Fixed key order keeps the bodies of one event byte-identical across its copies. */
export function serializeNotification(body: SandboxNotificationBody): string {
  const { notifyId, event, paymentId, merchantOrderId, result, txnId, amount, currency, paidAt } = body;
  return JSON.stringify({ notifyId, event, paymentId, merchantOrderId, result, txnId, amount, currency, paidAt });
}

/** The signed bytes: the raw body is used as received, never re-serialised. */
function signingInput(rawBody: Buffer | string, timestamp: number | string): Buffer {
  return Buffer.concat([Buffer.from(`${timestamp}\n`), Buffer.from(rawBody), Buffer.from('\n')]);
}

export function signNotification(privateKeyPem: string, rawBody: Buffer | string, timestamp: number | string): string {
  return createSign('sha256').update(signingInput(rawBody, timestamp)).sign(privateKeyPem, 'base64');
}

export function verifyNotification(
  publicKeyPem: string,
  rawBody: Buffer | string,
  timestamp: number | string,
  signature: string,
): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  return createVerify('sha256')
    .update(signingInput(rawBody, timestamp))
    .verify(publicKeyPem, Buffer.from(signature, 'base64'));
}

// ---- The merchant API (what the adapter calls, what the provider serves under /sandbox/api) ----

export const SANDBOX_API_PREFIX = '/api';

/** Where the provider may send notifications: this deployment's own callback route, nowhere else. */
export function isOwnCallbackUrl(notifyUrl: string, publicBaseUrl: string): boolean {
  const url = new URL(notifyUrl);
  const base = new URL(publicBaseUrl);
  const callbacks = `${base.pathname.replace(/\/$/, '')}/v1/callbacks/`;
  return url.origin === base.origin && !url.username && !url.password && url.pathname.startsWith(callbacks) && url.pathname.length > callbacks.length;
}

const money = z.object({ currency: z.string().regex(/^[A-Z]{3}$/), value: z.number().int() });

export const sandboxCreatePaymentRequest = z
  .object({
    merchantOrderId: z.string().min(1).max(64),
    amount: money,
    subject: z.string().min(1).max(256),
    notifyUrl: z.string().url().max(2048),
    /** Share of this payment's attempts the provider declines (a sandbox account's fault setting). */
    declineRate: z.number().min(0).max(1).optional(),
  })
  .meta({
    examples: [
      {
        merchantOrderId: '3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b',
        amount: { currency: 'CNY', value: 600 },
        subject: '60 Gems',
        notifyUrl: 'http://127.0.0.1:3000/v1/callbacks/sandbox',
      },
    ],
  });
export type SandboxCreatePaymentRequest = z.infer<typeof sandboxCreatePaymentRequest>;

export const SANDBOX_PAYMENT_STATUSES = ['CREATED', 'FAILED', 'PAID', 'CLOSED', 'REFUNDED'] as const;

/** A payment as the provider reports it. */
export const sandboxPaymentView = z.object({
  paymentId: z.string(),
  merchantOrderId: z.string(),
  status: z.enum(SANDBOX_PAYMENT_STATUSES),
  amount: money,
  paidAmount: money.optional(),
  txnId: z.string().optional(),
  paidAt: z.string().optional(),
});
export type SandboxPaymentView = z.infer<typeof sandboxPaymentView>;

export const sandboxCloseResponse = z.object({ status: z.enum(['CLOSED', 'ALREADY_PAID']) });

export const sandboxRefundRequest = z
  .object({
    refundId: z.string().min(1).max(64),
    paymentId: z.string().min(1).max(64),
    amount: money,
  })
  .meta({
    examples: [
      {
        refundId: 'rf_3f0e9a4c-1b2d-5e6f-8a7b-9c0d1e2f3a4b',
        paymentId: 'sbx_9a7c3e1f5b2d4c6e8a0b1c2d',
        amount: { currency: 'CNY', value: 600 },
      },
    ],
  });
export const sandboxRefundView = z.object({
  refundId: z.string(),
  channelRefundId: z.string(),
  paymentId: z.string(),
  status: z.literal('SUCCEEDED'),
  amount: money,
});

/** Every refusal of the merchant API: `{ error: { code, message } }` with an HTTP 4xx. */
export const sandboxErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
