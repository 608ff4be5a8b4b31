import { createPrivateKey, createPublicKey } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { z } from 'zod';
import type { Money } from '../../domain/money';
import { formatDecimal } from '../amounts';
import { finalError, transientError, type ChannelError } from '../http';
import { merchantOrderNo, merchantRefundNo } from '../ids';
import {
  CallbackRejectedError,
  ChannelUnsupportedError,
  type ChannelAccount,
  type ChannelAdapter,
  type ChannelDefinition,
  type ChannelDeps,
  type PaymentQueryResult,
  type PaymentRef,
  type RefundQueryResult,
} from '../types';
import { readBillArchive } from './statement';
import {
  ALIPAY_ACK_BODY,
  ALIPAY_CURRENCY,
  ALIPAY_PRODUCTION_GATEWAY,
  APP_PAY_PRODUCT,
  NO_BILL_SUB_CODE,
  PAGE_PAY_PRODUCT,
  SUCCESS_CODE,
  TRADE_NOTIFY_TYPE,
  beijingDateTime,
  billDownloadUrlResponse,
  gatewayVerdict,
  notificationEvents,
  parseForm,
  paymentSucceeded,
  refundQueryResponse,
  responseKey,
  tradeNotification,
  tradeQueryResponse,
  tradeRefundResponse,
  type GatewayMethod,
  type GatewayVerdict,
} from './wire';

const isPem = (text: string, label: string) => text.includes(`-----BEGIN ${label}-----`);

function isPkcs8RsaPrivateKey(text: string): boolean {
  try {
    return isPem(text, 'PRIVATE KEY') && createPrivateKey(text).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

function isRsaPublicKey(text: string): boolean {
  try {
    return isPem(text, 'PUBLIC KEY') && createPublicKey(text).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

/** An Alipay app in public-key mode (公钥模式). Messages never echo the keys. */
export const alipayCredentials = z.strictObject({
  appId: z.string().regex(/^\d{8,32}$/, 'an Alipay app id is digits'),
  /** The app's RSA2 private key; its public half is what is uploaded to Alipay. */
  appPrivateKey: z.string().refine(isPkcs8RsaPrivateKey, 'a PKCS#8 PEM RSA private key (-----BEGIN PRIVATE KEY-----)'),
  /** Alipay's public key as the open platform shows it for this app, as PEM. */
  alipayPublicKey: z.string().refine(isRsaPublicKey, 'a PEM RSA public key (-----BEGIN PUBLIC KEY-----)'),
  /** The merchant's PID: notifications for another seller are refused. */
  sellerId: z
    .string()
    .regex(/^2088\d{12}$/, 'an Alipay seller id (PID) is 2088 and 12 digits')
    .optional(),
  gateway: z.url({ protocol: /^https?$/ }).optional(),
});
export type AlipayCredentials = z.infer<typeof alipayCredentials>;

export function alipayChannel(): ChannelDefinition<AlipayCredentials> {
  return { type: 'alipay', credentials: alipayCredentials, createAdapter: createAlipayAdapter };
}

const TRADE_NOT_EXIST = 'ACQ.TRADE_NOT_EXIST';
const TRADE_STATUS_ERROR = 'ACQ.TRADE_STATUS_ERROR';
/** Alipay's subject and refund reason are at most 256 characters. */
const truncated = (text: string) => [...text].slice(0, 256).join('');
/** Alipay refuses `/`, `=` and `&` in a subject. */
const subjectOf = (text: string) => truncated(text.replace(/\s*[/=&]\s*/g, ' '));
/** A bill is a ZIP of a day's rows: more than an API answer. */
const BILL_DOWNLOAD_TIMEOUT_MS = 60_000;

type GatewayAnswer<T> = { ok: true; result: T } | { ok: false; verdict: GatewayVerdict };

/** Alipay's refusals: service unavailable (20000) and system errors are worth retrying, the rest are not. */
function refusal(method: GatewayMethod, verdict: GatewayVerdict): ChannelError {
  const code = verdict.sub_code ?? verdict.code;
  const message = `alipay ${method}: ${code} ${verdict.sub_msg ?? verdict.msg}`;
  const transient = verdict.code === '20000' || /SYSTEM_ERROR$|^isp\./i.test(verdict.sub_code ?? '');
  return transient ? transientError(code, message) : finalError(code, message);
}

function requireCny(amount: Money, what: string): void {
  if (amount.currency !== ALIPAY_CURRENCY) {
    throw finalError('UNSUPPORTED_CURRENCY', `alipay ${what}: Alipay takes CNY only, not ${amount.currency}`);
  }
  if (!(amount.value > 0)) throw finalError('INVALID_AMOUNT', `alipay ${what}: the amount must be positive`);
}

function createAlipayAdapter(
  { channelId, credentials }: ChannelAccount<AlipayCredentials>,
  { http, now = () => new Date() }: ChannelDeps,
): ChannelAdapter {
  const gateway = credentials.gateway ?? ALIPAY_PRODUCTION_GATEWAY;
  const sdk = new AlipaySdk({
    appId: credentials.appId,
    privateKey: credentials.appPrivateKey,
    alipayPublicKey: credentials.alipayPublicKey,
    keyType: 'PKCS8',
    signType: 'RSA2',
    gateway,
  });
  // The SDK stamps `timestamp` with the server's local time; Alipay reads it as Beijing time.
  const stamp = () => beijingDateTime(now());

  /**
   * One gateway call: the SDK signs the parameters and verifies the answer's signature; the shared
   * client sends it (timeouts, transient vs final). Only signed answers are acted on.
   */
  async function call<T>(method: GatewayMethod, bizContent: Record<string, unknown>, schema: z.ZodType<T>): Promise<GatewayAnswer<T>> {
    const signed = new URLSearchParams(sdk.sdkExecute(method, { timestamp: stamp(), bizContent }, { bizContentAutoSnakeCase: false }));
    // As the SDK's own exec sends them: system parameters in the query string, biz_content in the body.
    const body = new URLSearchParams({ biz_content: signed.get('biz_content') ?? '' });
    signed.delete('biz_content');
    const url = new URL(gateway);
    signed.forEach((value, key) => url.searchParams.set(key, value));
    const res = await http.send({
      method: 'POST',
      url: url.toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8', Accept: 'application/json' },
      body: body.toString(),
    });
    if (res.status !== 200) throw finalError(`HTTP_${res.status}`, `alipay ${method}: HTTP ${res.status}`);
    const raw = res.text();
    let envelope: Record<string, unknown>;
    try {
      envelope = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw transientError('BAD_RESPONSE', `alipay ${method}: the answer is not JSON`);
    }
    const key = responseKey(method);
    const payload = envelope[key] ?? envelope.error_response;
    const verdict = gatewayVerdict.safeParse(payload);
    if (!verdict.success) throw transientError('BAD_RESPONSE', `alipay ${method}: the answer has no ${key}`);
    if (typeof envelope.sign === 'string' && envelope[key] !== undefined) {
      try {
        sdk.checkResponseSign(raw, key, envelope.sign, '');
      } catch {
        throw transientError('RESPONSE_SIGNATURE_INVALID', `alipay ${method}: the answer does not verify with the Alipay public key`);
      }
    } else if (verdict.data.code === SUCCESS_CODE) {
      throw transientError('RESPONSE_UNSIGNED', `alipay ${method}: an unsigned success is not trusted`);
    } else {
      // Alipay leaves some refusals unsigned (e.g. a request it could not authenticate): never acted on.
      throw refusal(method, verdict.data);
    }
    if (verdict.data.code !== SUCCESS_CODE) return { ok: false, verdict: verdict.data };
    const result = schema.safeParse(payload);
    if (!result.success) {
      const issues = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw transientError('BAD_RESPONSE', `alipay ${method}: ${issues}`);
    }
    return { ok: true, result: result.data };
  }

  async function queryPayment(ref: PaymentRef): Promise<PaymentQueryResult> {
    const answer = await call('alipay.trade.query', { out_trade_no: ref.channelPaymentId }, tradeQueryResponse);
    if (!answer.ok) {
      // A trade exists at Alipay once the payer opened the order; before that, there is none.
      if (answer.verdict.sub_code === TRADE_NOT_EXIST) return { state: 'NOT_FOUND' };
      throw refusal('alipay.trade.query', answer.verdict);
    }
    const trade = answer.result;
    switch (trade.trade_status) {
      case 'WAIT_BUYER_PAY':
        return { state: 'PENDING' };
      case 'TRADE_SUCCESS':
      case 'TRADE_FINISHED':
        return { state: 'SUCCEEDED', event: paymentSucceeded(trade, trade.send_pay_date) };
      case 'TRADE_CLOSED':
        // Closed unpaid, or paid and then refunded in full: only the latter has a payment date.
        return { state: trade.send_pay_date === undefined ? 'CLOSED' : 'REFUNDED' };
    }
  }

  async function queryRefund({ refundId, payment }: { refundId: string; payment: PaymentRef }): Promise<RefundQueryResult> {
    const outRequestNo = merchantRefundNo(refundId);
    const answer = await call(
      'alipay.trade.fastpay.refund.query',
      { out_trade_no: payment.channelPaymentId, out_request_no: outRequestNo },
      refundQueryResponse,
    );
    if (!answer.ok) {
      if (answer.verdict.sub_code === TRADE_NOT_EXIST) return { state: 'NOT_FOUND' };
      throw refusal('alipay.trade.fastpay.refund.query', answer.verdict);
    }
    // Without REFUND_SUCCESS Alipay has not received this refund (or it failed): asking again with the
    // same out_request_no is safe.
    if (answer.result.refund_status !== 'REFUND_SUCCESS') return { state: 'NOT_FOUND' };
    return {
      state: 'SUCCEEDED',
      channelRefundId: outRequestNo,
      ...(answer.result.refund_amount !== undefined && { amount: answer.result.refund_amount }),
    };
  }

  return {
    channelId,
    type: 'alipay',
    supports: { close: true, refund: true, queryRefund: true, statement: true, receipts: false },

    async createPayment(request) {
      requireCny(request.amount, 'create payment');
      const outTradeNo = merchantOrderNo(request.orderId);
      const onPage = request.platform === 'web' || request.platform === 'pc';
      const params = {
        notifyUrl: request.notifyUrl,
        timestamp: stamp(),
        bizContent: {
          out_trade_no: outTradeNo,
          total_amount: formatDecimal(request.amount),
          subject: subjectOf(request.subject),
          product_code: onPage ? PAGE_PAY_PRODUCT : APP_PAY_PRODUCT,
          time_expire: beijingDateTime(request.expiresAt),
        },
      };
      // Nothing is sent to Alipay: the payer's app (order string) or browser (URL) carries the signed order.
      const payment = onPage
        ? { payUrl: sdk.pageExecute('alipay.trade.page.pay', 'GET', params) }
        : { orderString: sdk.sdkExecute('alipay.trade.app.pay', params, { bizContentAutoSnakeCase: false }) };
      return { channelPaymentId: outTradeNo, payment };
    },

    async verifyNotification({ rawBody }) {
      let fields: Record<string, string>;
      try {
        fields = parseForm(rawBody);
      } catch (err) {
        throw new CallbackRejectedError('MALFORMED_NOTIFICATION', `not a form body: ${(err as Error).message}`);
      }
      if (!fields.sign) throw new CallbackRejectedError('INVALID_SIGNATURE', 'the notification is not signed');
      if (fields.sign_type !== 'RSA2') throw new CallbackRejectedError('INVALID_SIGNATURE', 'the notification is not signed RSA2');
      // Every posted field is signed, empty ones too (alipay-sdk verifies so). V2 verifies the values
      // as received: V1 URL-decodes them again and throws on a literal '%'.
      let authentic: boolean;
      try {
        authentic = sdk.checkNotifySignV2(fields);
      } catch {
        authentic = false;
      }
      if (!authentic) throw new CallbackRejectedError('INVALID_SIGNATURE', 'the signature does not verify with the Alipay public key');
      // Read as absent: an empty field says nothing (e.g. `gmt_refund=` on a payment).
      const present = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== ''));
      if (present.notify_type !== TRADE_NOTIFY_TYPE) {
        return { events: [], notice: `alipay ${present.notify_type ?? 'untyped'} notification: nothing to act on` };
      }
      const parsed = tradeNotification.safeParse(present);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
        throw new CallbackRejectedError('MALFORMED_NOTIFICATION', issues.join('; '));
      }
      const notification = parsed.data;
      if (notification.app_id !== credentials.appId) {
        throw new CallbackRejectedError('WRONG_MERCHANT', `app_id ${notification.app_id} is not this account's`);
      }
      if (credentials.sellerId !== undefined && notification.seller_id !== credentials.sellerId) {
        throw new CallbackRejectedError('WRONG_MERCHANT', `seller_id ${notification.seller_id ?? '(none)'} is not this account's`);
      }
      const events = notificationEvents(notification);
      return events.length > 0 ? { events } : { events, notice: `alipay trade ${notification.trade_no} is ${notification.trade_status}` };
    },

    acknowledgement: () => ({ status: 200, contentType: 'text/plain', body: ALIPAY_ACK_BODY }),

    queryPayment,

    async closePayment(ref) {
      const answer = await call('alipay.trade.close', { out_trade_no: ref.channelPaymentId }, z.looseObject({}));
      if (answer.ok) return 'CLOSED';
      switch (answer.verdict.sub_code) {
        case TRADE_NOT_EXIST:
          // The payer never opened the order: there is nothing at Alipay to close (time_expire bounds it).
          return 'CLOSED';
        case TRADE_STATUS_ERROR: {
          // Paid, or closed already: the trade's state says which.
          const { state } = await queryPayment(ref);
          if (state === 'SUCCEEDED' || state === 'REFUNDED') return 'ALREADY_PAID';
          if (state === 'CLOSED' || state === 'NOT_FOUND') return 'CLOSED';
          throw transientError(TRADE_STATUS_ERROR, 'alipay close: refused while the trade still waits for payment');
        }
      }
      throw refusal('alipay.trade.close', answer.verdict);
    },

    async refund({ refundId, payment, amount, reason }) {
      requireCny(amount, 'refund');
      const outRequestNo = merchantRefundNo(refundId);
      const answer = await call(
        'alipay.trade.refund',
        {
          out_trade_no: payment.channelPaymentId,
          refund_amount: formatDecimal(amount),
          out_request_no: outRequestNo,
          refund_reason: truncated(reason),
        },
        tradeRefundResponse,
      );
      if (!answer.ok) throw refusal('alipay.trade.refund', answer.verdict);
      if (answer.result.fund_change === 'Y') return { channelRefundId: outRequestNo, state: 'SUCCEEDED' };
      // No money moved in this call: the same refund asked again, or one still in progress; the query tells.
      const queried = await queryRefund({ refundId, payment });
      return { channelRefundId: outRequestNo, state: queried.state === 'SUCCEEDED' ? 'SUCCEEDED' : 'PROCESSING' };
    },

    queryRefund,

    async *fetchStatement(date) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw finalError('INVALID_DATE', `alipay bill: ${JSON.stringify(date)} is not yyyy-MM-dd`);
      const answer = await call(
        'alipay.data.dataservice.bill.downloadurl.query',
        { bill_type: 'trade', bill_date: date },
        billDownloadUrlResponse,
      );
      if (!answer.ok) {
        if (NO_BILL_SUB_CODE.test(answer.verdict.sub_code ?? '')) return; // a day without business has no bill
        throw refusal('alipay.data.dataservice.bill.downloadurl.query', answer.verdict);
      }
      const res = await http.send({ method: 'GET', url: answer.result.bill_download_url, timeoutMs: BILL_DOWNLOAD_TIMEOUT_MS });
      // The URL lives about 30 seconds: fetching the statement again gets a fresh one.
      if (res.status !== 200) throw transientError(`BILL_DOWNLOAD_HTTP_${res.status}`, `alipay bill download: HTTP ${res.status}`);
      yield* readBillArchive(res.body);
    },

    async verifyReceipt() {
      throw new ChannelUnsupportedError('alipay', 'verifyReceipt', 'Alipay notifies every payment; it has no receipts');
    },

    async confirmDelivery() {
      // Nothing to tell: Alipay settles without a delivery confirmation.
    },
  };
}
