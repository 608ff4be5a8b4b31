import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import { sandboxKeys } from '../sandbox/keys';
import { SandboxProvider } from '../sandbox/provider';
import {
  SANDBOX_ACK_BODY,
  SANDBOX_MAX_SKEW_SECONDS,
  SANDBOX_SIGNATURE_HEADER,
  SANDBOX_TIMESTAMP_HEADER,
  sandboxNotificationSchema,
  verifyNotification,
} from '../sandbox/signing';
import { CallbackRejectedError, type ChannelAdapter, type InboundCallback, type PaymentNotification } from './types';

export interface SandboxChannelDeps {
  db: Db;
  config: Pick<Config, 'PUBLIC_BASE_URL' | 'SANDBOX_PRIVATE_KEY' | 'SANDBOX_PUBLIC_KEY'>;
}

/** The platform's side of the built-in sandbox provider: it talks to it as to any real channel. */
export function createSandboxChannel({ db, config }: SandboxChannelDeps): ChannelAdapter {
  const provider = new SandboxProvider(db);
  const { publicKeyPem } = sandboxKeys(config);

  return {
    name: 'sandbox',

    async createPayment(request) {
      const payment = await provider.createPayment({
        merchantOrderId: request.orderId,
        amount: request.amount,
        subject: request.subject,
        notifyUrl: request.notifyUrl,
      });
      return {
        channelPaymentId: payment.id,
        payment: {
          channelPaymentId: payment.id,
          payUrl: `${config.PUBLIC_BASE_URL}/sandbox/checkout/${encodeURIComponent(payment.id)}`,
        },
      };
    },

    closePayment: (channelPaymentId) => provider.closePayment(channelPaymentId),

    refund: ({ refundId, channelPaymentId, amount }) =>
      provider.refund({ refundId, paymentId: channelPaymentId, amount }),

    async verifyCallback({ headers, rawBody }: InboundCallback): Promise<PaymentNotification> {
      const timestamp = header(headers, SANDBOX_TIMESTAMP_HEADER);
      const signature = header(headers, SANDBOX_SIGNATURE_HEADER);
      if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) {
        throw new CallbackRejectedError('INVALID_SIGNATURE', 'missing or malformed signature headers');
      }
      // Authenticate the exact bytes received before reading anything from them.
      if (!verifyNotification(publicKeyPem, rawBody, timestamp, signature)) {
        throw new CallbackRejectedError('INVALID_SIGNATURE', 'signature does not match');
      }
      if (Math.abs(Date.now() / 1000 - Number(timestamp)) > SANDBOX_MAX_SKEW_SECONDS) {
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
      return {
        notificationId: n.notifyId,
        channelPaymentId: n.paymentId,
        merchantOrderId: n.merchantOrderId,
        result: n.result,
        ...(n.txnId !== undefined && { channelTxnId: n.txnId }),
        // A failed attempt moved no money: only a success reports what was paid.
        ...(n.result === 'SUCCESS' && { paid: { currency: n.currency, value: n.amount } }),
        ...(n.paidAt !== undefined && { paidAt: n.paidAt }),
      };
    },

    acknowledgement: () => ({ status: 200, contentType: 'text/plain', body: SANDBOX_ACK_BODY }),
  };
}

/** Header names are case-insensitive; a repeated signature header is refused, not guessed at. */
function header(headers: InboundCallback['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  const key = Object.keys(headers).find((k) => k.toLowerCase() === wanted);
  const value = key === undefined ? undefined : headers[key];
  return typeof value === 'string' ? value : undefined;
}
