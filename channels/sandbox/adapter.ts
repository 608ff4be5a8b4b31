import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { finalError, transientError, streamOf, type ChannelResponse, type ChannelStreamResponse } from '../http';
import {
  CallbackRejectedError,
  ChannelUnsupportedError,
  type ChannelAccount,
  type ChannelAdapter,
  type ChannelDefinition,
  type ChannelDeps,
  type ChannelEvent,
  type InboundCallback,
  type PaymentQueryResult,
  type PaymentRef,
} from '../types';
import {
  SANDBOX_ACK_BODY,
  SANDBOX_API_PREFIX,
  SANDBOX_MAX_SKEW_SECONDS,
  SANDBOX_SIGNATURE_HEADER,
  SANDBOX_TIMESTAMP_HEADER,
  sandboxCloseResponse,
  sandboxErrorBody,
  sandboxNotificationSchema,
  sandboxPaymentView,
  sandboxRefundView,
  verifyNotification,
  type SandboxPaymentView,
} from './wire';
import { parseSandboxStatement } from './statement';

/**
 * A sandbox account's settings: where the provider is (default: this deployment's /sandbox), and the
 * faults it injects for demos, tests and benchmarks (none by default): a share of creates that fail
 * as an outage would (transient), a delay before each create, a share of payments the provider declines.
 */
export const sandboxCredentials = z.strictObject({
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** The admin token of the deployment at `baseUrl` (this deployment's own is never sent elsewhere). */
  apiToken: z.string().min(16).optional(),
  failCreateRate: z.number().min(0).max(1).optional(),
  createLatencyMs: z.number().int().min(0).max(120_000).optional(),
  declineRate: z.number().min(0).max(1).optional(),
});
export type SandboxCredentials = z.infer<typeof sandboxCredentials>;

/**
 * The platform's side of the built-in sandbox provider: it talks to the provider over HTTP exactly
 * as a real channel adapter talks to its channel, so it is the template for one.
 */
export function sandboxChannel(provider: SandboxProviderAccess): ChannelDefinition<SandboxCredentials> {
  return {
    type: 'sandbox',
    credentials: sandboxCredentials,
    createAdapter: (account, deps) => createSandboxAdapter(account, deps, provider),
  };
}

/** What the adapter needs of this deployment's own provider: its notification key, and the token its API takes. */
export interface SandboxProviderAccess {
  /** Absent where the sandbox is off: every notification is refused then. */
  publicKeyPem?: string;
  adminToken: string;
}

function createSandboxAdapter(
  account: ChannelAccount<SandboxCredentials>,
  { http, publicBaseUrl, now = () => new Date() }: ChannelDeps,
  { publicKeyPem, adminToken }: SandboxProviderAccess,
): ChannelAdapter {
  const { baseUrl, apiToken } = account.credentials;
  const base = (baseUrl ?? `${publicBaseUrl}/sandbox`).replace(/\/$/, '');
  const api = `${base}${SANDBOX_API_PREFIX}`;
  // The provider's merchant API and statements take the admin token of the deployment that serves them.
  const token = baseUrl ? apiToken : adminToken;
  const authorization: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};

  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<ChannelResponse> =>
    http.send({
      method,
      url: `${api}${path}`,
      headers: body === undefined ? authorization : { ...authorization, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  /** The provider's refusal, final: the same request would be refused again. */
  const refused = (res: ChannelResponse, what: string) => {
    const parsed = sandboxErrorBody.safeParse(safeJson(res));
    const code = parsed.success ? parsed.data.error.code : `HTTP_${res.status}`;
    return finalError(code, `sandbox ${what}: ${parsed.success ? parsed.data.error.message : res.status}`);
  };
  const paymentOf = async (ref: PaymentRef): Promise<SandboxPaymentView | undefined> => {
    const res = await call('GET', `/payments/${encodeURIComponent(ref.channelPaymentId)}`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw refused(res, 'payment query');
    return sandboxPaymentView.parse(res.json());
  };

  return {
    channelId: account.channelId,
    type: 'sandbox',
    supports: { close: true, refund: true, queryRefund: true, statement: true, receipts: false },

    async createPayment(request) {
      const { failCreateRate = 0, createLatencyMs = 0, declineRate } = account.credentials;
      if (createLatencyMs > 0) await sleep(createLatencyMs);
      if (failCreateRate > 0 && Math.random() < failCreateRate) {
        throw transientError('SANDBOX_FAULT', `sandbox account ${account.channelId} fails this create (failCreateRate ${failCreateRate})`);
      }
      const res = await call('POST', '/payments', {
        merchantOrderId: request.orderId,
        amount: request.amount,
        subject: request.subject,
        notifyUrl: request.notifyUrl,
        ...(declineRate !== undefined && { declineRate }),
      });
      if (res.status !== 200 && res.status !== 201) throw refused(res, 'create payment');
      const payment = sandboxPaymentView.parse(res.json());
      return {
        channelPaymentId: payment.paymentId,
        payment: {
          channelPaymentId: payment.paymentId,
          payUrl: `${base}/checkout/${encodeURIComponent(payment.paymentId)}`,
        },
      };
    },

    async verifyNotification({ headers, rawBody }: InboundCallback) {
      const timestamp = header(headers, SANDBOX_TIMESTAMP_HEADER);
      const signature = header(headers, SANDBOX_SIGNATURE_HEADER);
      if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) {
        throw new CallbackRejectedError('INVALID_SIGNATURE', 'missing or malformed signature headers');
      }
      // Authenticate the exact bytes received before reading anything from them.
      if (!publicKeyPem || !verifyNotification(publicKeyPem, rawBody, timestamp, signature)) {
        throw new CallbackRejectedError('INVALID_SIGNATURE', 'signature does not match');
      }
      if (Math.abs(now().getTime() / 1000 - Number(timestamp)) > SANDBOX_MAX_SKEW_SECONDS) {
        throw new CallbackRejectedError('STALE_NOTIFICATION', `timestamp ${timestamp} is too far from now`);
      }
      let json: unknown;
      try {
        json = JSON.parse(rawBody.toString('utf8'));
      } catch {
        throw new CallbackRejectedError('MALFORMED_NOTIFICATION', 'body is not JSON');
      }
      const parsed = sandboxNotificationSchema.safeParse(json);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
        throw new CallbackRejectedError('MALFORMED_NOTIFICATION', issues.join('; '));
      }
      const n = parsed.data;
      const event: ChannelEvent = {
        kind: n.result === 'SUCCESS' ? 'PAYMENT_SUCCEEDED' : 'PAYMENT_FAILED',
        dedupeKey: n.notifyId,
        merchantOrderId: n.merchantOrderId,
        channelPaymentId: n.paymentId,
        ...(n.txnId !== undefined && { channelTradeNo: n.txnId }),
        // A failed attempt moved no money: only a success reports what was paid.
        ...(n.result === 'SUCCESS' && { amount: { currency: n.currency, value: n.amount } }),
        ...(n.paidAt !== undefined && { occurredAt: n.paidAt }),
      };
      return { events: [event] };
    },

    acknowledgement: () => ({ status: 200, contentType: 'text/plain', body: SANDBOX_ACK_BODY }),

    async queryPayment(ref): Promise<PaymentQueryResult> {
      const payment = await paymentOf(ref);
      if (!payment) return { state: 'NOT_FOUND' };
      switch (payment.status) {
        case 'CREATED':
          return { state: 'PENDING' };
        case 'FAILED':
          return { state: 'FAILED' };
        case 'CLOSED':
          return { state: 'CLOSED' };
        case 'REFUNDED':
          return { state: 'REFUNDED' };
        case 'PAID':
          return {
            state: 'SUCCEEDED',
            event: {
              kind: 'PAYMENT_SUCCEEDED',
              // The same effect as the payment's notification, whichever comes first.
              dedupeKey: `query:${payment.txnId}`,
              merchantOrderId: payment.merchantOrderId,
              channelPaymentId: payment.paymentId,
              channelTradeNo: payment.txnId,
              amount: payment.paidAmount ?? payment.amount,
              occurredAt: payment.paidAt,
            },
          };
      }
    },

    async closePayment(ref) {
      const res = await call('POST', `/payments/${encodeURIComponent(ref.channelPaymentId)}/close`, {});
      if (res.status !== 200) throw refused(res, 'close payment');
      return sandboxCloseResponse.parse(res.json()).status;
    },

    async refund({ refundId, payment, amount }) {
      const res = await call('POST', '/refunds', { refundId, paymentId: payment.channelPaymentId, amount });
      if (res.status !== 200 && res.status !== 201) throw refused(res, 'refund');
      const refund = sandboxRefundView.parse(res.json());
      return { channelRefundId: refund.channelRefundId, state: 'SUCCEEDED' };
    },

    async queryRefund({ refundId }) {
      const res = await call('GET', `/refunds/${encodeURIComponent(refundId)}`);
      if (res.status === 404) return { state: 'NOT_FOUND' };
      if (res.status !== 200) throw refused(res, 'refund query');
      const refund = sandboxRefundView.parse(res.json());
      return { state: 'SUCCEEDED', channelRefundId: refund.channelRefundId, amount: refund.amount };
    },

    async *fetchStatement(date) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw finalError('INVALID_DATE', `sandbox statement: ${JSON.stringify(date)} is not YYYY-MM-DD`);
      const query = new URLSearchParams({ channelId: account.channelId });
      const res = await streamOf(http, { method: 'GET', url: `${base}/statements/${date}?${query}`, headers: authorization });
      if (res.status !== 200) throw refused(await buffered(res), 'statement');
      yield* parseSandboxStatement(res.body);
    },

    async verifyReceipt() {
      throw new ChannelUnsupportedError('sandbox', 'verifyReceipt', 'the sandbox notifies every payment; it has no receipts');
    },

    async confirmDelivery() {
      // Nothing to tell: the sandbox, like Alipay or WeChat Pay, settles without a delivery confirmation.
    },
  };
}

/** A streamed answer read whole (a refusal is small). */
async function buffered(res: ChannelStreamResponse): Promise<ChannelResponse> {
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) chunks.push(Buffer.from(chunk as Uint8Array));
  const body = Buffer.concat(chunks);
  return { status: res.status, headers: res.headers, body, text: () => body.toString('utf8'), json: <T>() => JSON.parse(body.toString('utf8')) as T };
}

function safeJson(res: ChannelResponse): unknown {
  try {
    return JSON.parse(res.text());
  } catch {
    return undefined;
  }
}

/** Header names are case-insensitive; a repeated signature header is refused, not guessed at. */
function header(headers: InboundCallback['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  const key = Object.keys(headers).find((k) => k.toLowerCase() === wanted);
  const value = key === undefined ? undefined : headers[key];
  return typeof value === 'string' ? value : undefined;
}
