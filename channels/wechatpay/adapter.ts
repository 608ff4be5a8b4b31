import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { z } from 'zod';
import { finalError, transientError, type ChannelError, type ChannelResponse } from '../http';
import { merchantOrderNo, merchantRefundNo } from '../ids';
import {
  CallbackRejectedError,
  ChannelUnsupportedError,
  type ChannelAccount,
  type ChannelAdapter,
  type ChannelDefinition,
  type ChannelDeps,
  type InboundCallback,
  type Platform,
  type RefundQueryResult,
  type VerifiedNotification,
} from '../types';
import { parseTradeBill } from './statement';
import {
  RETRYABLE_ERROR_CODES,
  WECHATPAY_AUTH_SCHEMA,
  WECHATPAY_CURRENCY,
  WECHATPAY_DEFAULT_BASE_URL,
  WECHATPAY_HEADERS,
  WECHATPAY_MAX_SKEW_SECONDS,
  WECHATPAY_PATHS,
  appPaymentParams,
  appPrepayResponse,
  authorization,
  beijingRfc3339,
  checkSignature,
  decryptResource,
  errorBody,
  nativePrepayResponse,
  newNonce,
  notificationEnvelope,
  paymentSucceeded,
  refundEvent,
  refundNotice,
  refundView,
  tradeBillResponse,
  transaction,
  type PrepayRequest,
  type RefundRequestBody,
  type Transaction,
} from './wire';

const loads = (load: (pem: string) => KeyObject) => (pem: string) => {
  try {
    return load(pem).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
};

/** A WeChat Pay merchant account (direct merchant, API v3). Field names are the contract. */
export const wechatpayCredentials = z.strictObject({
  mchId: z.string().regex(/^\d{1,32}$/, 'a merchant id is digits'),
  appId: z.string().min(1).max(32),
  /** Set in the merchant platform (API安全 → APIv3密钥): 32 ASCII characters, the AES-256 key itself. */
  apiV3Key: z
    .string()
    .length(32)
    .refine((key) => Buffer.byteLength(key) === 32, 'the APIv3 key is 32 ASCII characters'),
  /** The merchant API certificate's private key (apiclient_key.pem), PKCS#8 or PKCS#1 PEM. */
  merchantPrivateKey: z.string().refine(loads(createPrivateKey), 'not an RSA private key in PEM'),
  /** The serial number of the merchant API certificate that key belongs to. */
  merchantSerialNo: z.string().regex(/^[0-9A-Fa-f]{1,64}$/, 'a certificate serial number is hexadecimal'),
  /** WeChat's keys, by the id `Wechatpay-Serial` names: a platform certificate's serial (certificate or key PEM) or a PUB_KEY_ID_… */
  platformPublicKeys: z
    .array(z.strictObject({ id: z.string().min(1).max(64), pem: z.string().refine(loads(createPublicKey), 'not an RSA public key or certificate in PEM') }))
    .min(1),
  baseUrl: z.url({ protocol: /^https?$/ }).optional(),
});
export type WechatpayCredentials = z.infer<typeof wechatpayCredentials>;

export function wechatpayChannel(): ChannelDefinition<WechatpayCredentials> {
  return { type: 'wechatpay', credentials: wechatpayCredentials, createAdapter: createWechatpayAdapter };
}

/** Platforms that pay in the WeChat app through the open SDK (APP pay); the others scan a code (Native). */
const APP_PLATFORMS: ReadonlySet<Platform> = new Set(['ios', 'android']);
const BILL_DOWNLOAD_TIMEOUT_MS = 60_000;
const unzip = promisify(gunzip);

function createWechatpayAdapter(account: ChannelAccount<WechatpayCredentials>, deps: ChannelDeps): ChannelAdapter {
  const { mchId, appId, apiV3Key, merchantSerialNo } = account.credentials;
  const { http, callbackUrl, now = () => new Date() } = deps;
  const base = (account.credentials.baseUrl ?? WECHATPAY_DEFAULT_BASE_URL).replace(/\/$/, '');
  const merchantKey = createPrivateKey(account.credentials.merchantPrivateKey);
  const platformKeys = new Map(account.credentials.platformPublicKeys.map(({ id, pem }) => [id, createPublicKey(pem)]));
  const unixNow = () => Math.floor(now().getTime() / 1000);

  /** One signed call; the answer is authenticated before anything in it is believed. */
  const send = async (method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs?: number): Promise<Answer> => {
    const url = new URL(path, `${base}/`);
    const payload = body === undefined ? '' : JSON.stringify(body);
    const res = await http.send({
      method,
      url: url.href,
      headers: {
        Accept: 'application/json',
        ...(body !== undefined && { 'Content-Type': 'application/json' }),
        Authorization: authorization({
          mchId,
          serialNo: merchantSerialNo,
          privateKey: merchantKey,
          method,
          pathWithQuery: `${url.pathname}${url.search}`,
          body: payload,
          timestamp: unixNow(),
          nonce: newNonce(),
        }),
      },
      ...(body !== undefined && { body: payload }),
      ...(timeoutMs !== undefined && { timeoutMs }),
    });
    return { res, authentic: authenticate(res, `${method} ${url.pathname}`) };
  };

  /**
   * WeChat signs what it answers once it has authenticated us; a refusal of our own signature
   * (401) comes unsigned. A success that does not verify is never believed (transient: it may be a
   * proxy or a clock); an unsigned refusal is reported but never read as a state.
   */
  const authenticate = (res: ChannelResponse, what: string): boolean => {
    const signed = {
      timestamp: res.headers.get(WECHATPAY_HEADERS.timestamp) ?? '',
      nonce: res.headers.get(WECHATPAY_HEADERS.nonce) ?? '',
      signature: res.headers.get(WECHATPAY_HEADERS.signature) ?? '',
      serial: res.headers.get(WECHATPAY_HEADERS.serial) ?? '',
    };
    const success = res.status >= 200 && res.status < 300;
    if (!signed.signature && !success) return false;
    const check = checkSignature(platformKeys, signed, res.text());
    if (check !== 'VALID') throw unverified(res, what, `signature ${check.toLowerCase().replace('_', ' ')}`);
    if (Math.abs(unixNow() - Number(signed.timestamp)) > WECHATPAY_MAX_SKEW_SECONDS) {
      throw unverified(res, what, `signed at ${signed.timestamp}, too far from our clock`);
    }
    return true;
  };

  const refused = ({ res }: Answer, what: string): ChannelError => {
    const parsed = errorBody.safeParse(safeJson(res));
    const code = parsed.success ? parsed.data.code : `HTTP_${res.status}`;
    const message = `wechatpay ${what}: HTTP ${res.status} ${code}${parsed.success && parsed.data.message ? ` ${parsed.data.message}` : ''}${requestId(res)}`;
    return RETRYABLE_ERROR_CODES.has(code) ? transientError(code, message) : finalError(code, message);
  };

  /** The refusal's code, only when WeChat signed it: what we then act on as a state. */
  const authenticCode = (answer: Answer): string | undefined => {
    if (!answer.authentic) return undefined;
    const parsed = errorBody.safeParse(safeJson(answer.res));
    return parsed.success ? parsed.data.code : undefined;
  };

  const read = <T>(schema: z.ZodType<T>, { res }: Answer, what: string): T => {
    const parsed = schema.safeParse(safeJson(res));
    if (!parsed.success) throw transientError('BAD_RESPONSE', `wechatpay ${what}: unexpected answer (${parsed.error.issues[0]?.message})${requestId(res)}`);
    return parsed.data;
  };

  const queryTrade = async (outTradeNo: string): Promise<Transaction | undefined> => {
    const answer = await send('GET', `${WECHATPAY_PATHS.transaction(outTradeNo)}?mchid=${encodeURIComponent(mchId)}`);
    if (answer.res.status === 404 && authenticCode(answer) === 'ORDER_NOT_EXIST') return undefined;
    if (answer.res.status !== 200) throw refused(answer, 'payment query');
    const trade = read(transaction, answer, 'payment query');
    if (trade.out_trade_no !== outTradeNo || trade.mchid !== mchId) {
      throw finalError('WRONG_TRADE', `wechatpay payment query: the answer is about another trade${requestId(answer.res)}`);
    }
    return trade;
  };

  const cnyOnly = (currency: string, what: string) => {
    if (currency !== WECHATPAY_CURRENCY) throw finalError('UNSUPPORTED_CURRENCY', `wechatpay ${what}: domestic WeChat Pay takes CNY, not ${currency}`);
  };

  return {
    channelId: account.channelId,
    type: 'wechatpay',
    supports: { close: true, refund: true, queryRefund: true, statement: true, receipts: false },

    async createPayment(request) {
      cnyOnly(request.amount.currency, 'create payment');
      const outTradeNo = merchantOrderNo(request.orderId);
      const appPay = request.platform !== undefined && APP_PLATFORMS.has(request.platform);
      // JSAPI / mini-program pay needs the payer's openid in this app, which the platform does not hold.
      const body: PrepayRequest = {
        appid: appId,
        mchid: mchId,
        description: Array.from(request.subject).slice(0, 127).join(''),
        out_trade_no: outTradeNo,
        time_expire: beijingRfc3339(request.expiresAt),
        notify_url: request.notifyUrl,
        amount: { total: request.amount.value, currency: WECHATPAY_CURRENCY },
        ...(request.clientIp !== undefined && { scene_info: { payer_client_ip: request.clientIp } }),
      };
      const answer = await send('POST', appPay ? WECHATPAY_PATHS.appPrepay : WECHATPAY_PATHS.nativePrepay, body);
      if (answer.res.status !== 200) throw refused(answer, 'create payment');
      if (!appPay) {
        const { code_url } = read(nativePrepayResponse, answer, 'create payment');
        return { channelPaymentId: outTradeNo, payment: { tradeType: 'NATIVE', codeUrl: code_url } };
      }
      const { prepay_id } = read(appPrepayResponse, answer, 'create payment');
      const params = appPaymentParams({ appId, mchId, prepayId: prepay_id, privateKey: merchantKey, timestamp: unixNow(), nonce: newNonce() });
      return { channelPaymentId: outTradeNo, payment: { tradeType: 'APP', ...params } };
    },

    async verifyNotification({ headers, rawBody }: InboundCallback): Promise<VerifiedNotification> {
      const signed = {
        timestamp: header(headers, WECHATPAY_HEADERS.timestamp) ?? '',
        nonce: header(headers, WECHATPAY_HEADERS.nonce) ?? '',
        signature: header(headers, WECHATPAY_HEADERS.signature) ?? '',
        serial: header(headers, WECHATPAY_HEADERS.serial) ?? '',
      };
      if (!signed.timestamp || !signed.nonce || !signed.signature || !signed.serial) {
        throw new CallbackRejectedError('INVALID_SIGNATURE', 'missing Wechatpay-* signature headers');
      }
      const signatureType = header(headers, WECHATPAY_HEADERS.signatureType);
      if (signatureType !== undefined && signatureType !== WECHATPAY_AUTH_SCHEMA) {
        throw new CallbackRejectedError('INVALID_SIGNATURE', `signature type ${signatureType} is not ${WECHATPAY_AUTH_SCHEMA}`);
      }
      // Authenticate the exact bytes received before reading anything from them.
      const check = checkSignature(platformKeys, signed, rawBody.toString('utf8'));
      if (check === 'PROBE') throw new CallbackRejectedError('INVALID_SIGNATURE', 'a WECHATPAY/SIGNTEST/ probe signature');
      if (check === 'UNKNOWN_KEY') throw new CallbackRejectedError('INVALID_SIGNATURE', `no platform key ${signed.serial} is configured`);
      if (check !== 'VALID') throw new CallbackRejectedError('INVALID_SIGNATURE', 'signature does not match');
      if (Math.abs(unixNow() - Number(signed.timestamp)) > WECHATPAY_MAX_SKEW_SECONDS) {
        throw new CallbackRejectedError('STALE_NOTIFICATION', `timestamp ${signed.timestamp} is too far from now`);
      }

      const envelope = notificationEnvelope.safeParse(parseJson(rawBody.toString('utf8')));
      if (!envelope.success) throw new CallbackRejectedError('MALFORMED_NOTIFICATION', issues(envelope.error));
      const { id, event_type, resource } = envelope.data;
      const plaintext = decryptResource(resource, apiV3Key);
      // Only WeChat (and this merchant) hold the APIv3 key: a resource that fails its GCM tag is not authentic.
      if (plaintext === undefined) throw new CallbackRejectedError('INVALID_SIGNATURE', 'the resource does not decrypt under the APIv3 key');

      if (event_type.startsWith('TRANSACTION.')) {
        const trade = transaction.safeParse(parseJson(plaintext));
        if (!trade.success) throw new CallbackRejectedError('MALFORMED_NOTIFICATION', issues(trade.error));
        if (trade.data.mchid !== mchId || trade.data.appid !== appId) {
          throw new CallbackRejectedError('WRONG_MERCHANT', `a transaction of merchant ${trade.data.mchid} / app ${trade.data.appid}`);
        }
        if (event_type !== 'TRANSACTION.SUCCESS') return { events: [], notice: `wechatpay ${event_type} for ${trade.data.out_trade_no}` };
        const event = paymentSucceeded(trade.data);
        if (!event) throw new CallbackRejectedError('MALFORMED_NOTIFICATION', 'TRANSACTION.SUCCESS without a paid transaction');
        return { events: [event] };
      }
      if (event_type.startsWith('REFUND.')) {
        const notice = refundNotice.safeParse(parseJson(plaintext));
        if (!notice.success) throw new CallbackRejectedError('MALFORMED_NOTIFICATION', issues(notice.error));
        if (notice.data.mchid !== mchId) throw new CallbackRejectedError('WRONG_MERCHANT', `a refund of merchant ${notice.data.mchid}`);
        const event = refundEvent(notice.data, id);
        return event ? { events: [event] } : { events: [], notice: `wechatpay ${event_type}: refund ${notice.data.out_refund_no} ${notice.data.refund_status}` };
      }
      // Authentic, but nothing an order acts on (complaints, transfers...): acknowledged so it stops.
      return { events: [], notice: `wechatpay ${event_type} ${id}` };
    },

    acknowledgement: () => ({ status: 204, contentType: 'text/plain', body: '' }),

    async queryPayment(ref) {
      const trade = await queryTrade(ref.channelPaymentId);
      if (!trade) return { state: 'NOT_FOUND' };
      switch (trade.trade_state) {
        case 'NOTPAY':
        case 'USERPAYING':
        case 'ACCEPT':
          return { state: 'PENDING' };
        case 'PAYERROR':
          return { state: 'FAILED' };
        case 'CLOSED':
        case 'REVOKED':
          return { state: 'CLOSED' };
        case 'REFUND':
          return { state: 'REFUNDED' };
        case 'SUCCESS': {
          // The same event as the payment's notification, under the same key: whichever comes first counts.
          const event = paymentSucceeded(trade);
          if (!event) throw transientError('BAD_RESPONSE', 'wechatpay payment query: a SUCCESS trade without its transaction, amount or time');
          return { state: 'SUCCEEDED', event };
        }
      }
    },

    async closePayment(ref) {
      const paidOrClosed = async (): Promise<'CLOSED' | 'ALREADY_PAID' | undefined> => {
        const trade = await queryTrade(ref.channelPaymentId);
        if (!trade) return 'CLOSED'; // nothing at WeChat the payer could pay
        if (trade.trade_state === 'SUCCESS' || trade.trade_state === 'REFUND') return 'ALREADY_PAID';
        if (trade.trade_state === 'CLOSED' || trade.trade_state === 'REVOKED') return 'CLOSED';
        return undefined;
      };
      const before = await paidOrClosed();
      if (before) return before;
      const answer = await send('POST', WECHATPAY_PATHS.close(ref.channelPaymentId), { mchid: mchId });
      if (answer.res.status === 204 || answer.res.status === 200) return 'CLOSED';
      // Paid between our query and the close: the query, signed, says so.
      const code = errorBody.safeParse(safeJson(answer.res));
      if (code.success && code.data.code === 'ORDERPAID') {
        if ((await paidOrClosed()) === 'ALREADY_PAID') return 'ALREADY_PAID';
        throw transientError('ORDERPAID', `wechatpay close payment: ORDERPAID, which the query does not confirm yet${requestId(answer.res)}`);
      }
      throw refused(answer, 'close payment');
    },

    async refund({ refundId, payment, amount, paid, reason }) {
      cnyOnly(amount.currency, 'refund');
      cnyOnly(paid.currency, 'refund');
      const body: RefundRequestBody = {
        out_trade_no: payment.channelPaymentId,
        out_refund_no: merchantRefundNo(refundId),
        ...(reason && { reason: Array.from(reason).slice(0, 80).join('') }),
        notify_url: callbackUrl,
        amount: { refund: amount.value, total: paid.value, currency: WECHATPAY_CURRENCY },
      };
      // The same out_refund_no again answers the refund WeChat already has: one refund per id.
      const answer = await send('POST', WECHATPAY_PATHS.refunds, body);
      if (answer.res.status !== 200) throw refused(answer, 'refund');
      const refund = read(refundView, answer, 'refund');
      if (refund.status === 'ABNORMAL' || refund.status === 'CLOSED') {
        throw finalError(`REFUND_${refund.status}`, `wechatpay refund ${refund.out_refund_no} is ${refund.status}${requestId(answer.res)}`);
      }
      // WeChat returns money asynchronously: PROCESSING until REFUND.SUCCESS (or the query) says so.
      return { channelRefundId: refund.refund_id, state: refund.status === 'SUCCESS' ? 'SUCCEEDED' : 'PROCESSING' };
    },

    async queryRefund({ refundId }): Promise<RefundQueryResult> {
      const answer = await send('GET', WECHATPAY_PATHS.refund(merchantRefundNo(refundId)));
      if (answer.res.status === 404 && authenticCode(answer) === 'RESOURCE_NOT_EXISTS') return { state: 'NOT_FOUND' };
      if (answer.res.status !== 200) throw refused(answer, 'refund query');
      const refund = read(refundView, answer, 'refund query');
      const state = refund.status === 'SUCCESS' ? 'SUCCEEDED' : refund.status === 'PROCESSING' ? 'PROCESSING' : 'FAILED';
      return { state, channelRefundId: refund.refund_id, amount: { currency: refund.amount.currency, value: refund.amount.refund } };
    },

    async *fetchStatement(date) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw finalError('INVALID_DATE', `wechatpay trade bill: ${JSON.stringify(date)} is not YYYY-MM-DD`);
      const query = new URLSearchParams({ bill_date: date, bill_type: 'ALL', tar_type: 'GZIP' });
      const answer = await send('GET', `${WECHATPAY_PATHS.tradeBill}?${query}`);
      if (answer.res.status === 400 && authenticCode(answer) === 'NO_STATEMENT_EXIST') return; // no trade that day
      if (answer.res.status !== 200) throw refused(answer, 'trade bill');
      const { hash_value, download_url } = read(tradeBillResponse, answer, 'trade bill');
      const bill = await downloadBill(download_url);
      // The file comes unsigned: its SHA-1 in the signed answer is what vouches for it.
      if (createHash('sha1').update(bill).digest('hex') !== hash_value.toLowerCase()) {
        throw transientError('BILL_DIGEST_MISMATCH', `wechatpay trade bill of ${date}: the file does not match its SHA-1`);
      }
      yield* parseTradeBill(bill);
    },

    async verifyReceipt() {
      throw new ChannelUnsupportedError('wechatpay', 'verifyReceipt', 'WeChat Pay notifies every payment; it has no store receipts');
    },

    async confirmDelivery() {
      // Nothing to tell: WeChat Pay settles without a delivery confirmation.
    },
  };

  /** The bill file: a signed GET of the URL the signed answer gave; the file itself is not signed. */
  async function downloadBill(downloadUrl: string): Promise<Buffer> {
    const url = new URL(downloadUrl);
    const res = await http.send({
      method: 'GET',
      url: url.href,
      headers: {
        Authorization: authorization({
          mchId,
          serialNo: merchantSerialNo,
          privateKey: merchantKey,
          method: 'GET',
          pathWithQuery: `${url.pathname}${url.search}`,
          body: '',
          timestamp: unixNow(),
          nonce: newNonce(),
        }),
      },
      timeoutMs: BILL_DOWNLOAD_TIMEOUT_MS,
    });
    if (res.status !== 200) throw refused({ res, authentic: false }, 'trade bill download');
    try {
      return await unzip(res.body);
    } catch {
      throw transientError('BAD_BILL_ARCHIVE', 'wechatpay trade bill download: the file is not gzip');
    }
  }
}

interface Answer {
  res: ChannelResponse;
  /** WeChat's signature over it verified (a success always is, or it is thrown away). */
  authentic: boolean;
}

const requestId = (res: ChannelResponse) => {
  const id = res.headers.get(WECHATPAY_HEADERS.requestId);
  return id ? ` (Request-ID ${id})` : '';
};

const unverified = (res: ChannelResponse, what: string, why: string) =>
  transientError('UNVERIFIED_RESPONSE', `wechatpay ${what}: the answer is not WeChat's (${why})${requestId(res)}`);

function safeJson(res: ChannelResponse): unknown {
  return parseJson(res.text());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const issues = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');

/** Header names are case-insensitive; a repeated signature header is refused, not guessed at. */
function header(headers: InboundCallback['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  const key = Object.keys(headers).find((k) => k.toLowerCase() === wanted);
  const value = key === undefined ? undefined : headers[key];
  return typeof value === 'string' ? value : undefined;
}
