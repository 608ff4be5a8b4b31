import type { KeyObject } from 'node:crypto';
import { Aes, Formatter, Rsa, type WechatpayAxiosPlugin } from 'wechatpay-axios-plugin';
import { z } from 'zod';
import { orderIdOf } from '../ids';
import type { ChannelEvent } from '../types';

/**
 * WeChat Pay API v3 on the wire. Every call carries `Authorization: WECHATPAY2-SHA256-RSA2048 …`, an
 * RSA-SHA256 signature of `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` with the merchant's key;
 * every answer and notification is signed by WeChat over `TIMESTAMP\nNONCE\nBODY\n`, with the platform
 * key its `Wechatpay-Serial` header names. Notification payloads are AES-256-GCM under the APIv3 key.
 * Amounts are integer fen (CNY); only the trade bill speaks yuan. Times are RFC 3339 in +08:00.
 * Signing, verification and decryption are the library's pure functions (no axios, no network).
 */

export const WECHATPAY_DEFAULT_BASE_URL = 'https://api.mch.weixin.qq.com';
export const WECHATPAY_AUTH_SCHEMA = 'WECHATPAY2-SHA256-RSA2048';
export const WECHATPAY_HEADERS = {
  timestamp: 'Wechatpay-Timestamp',
  nonce: 'Wechatpay-Nonce',
  signature: 'Wechatpay-Signature',
  serial: 'Wechatpay-Serial',
  signatureType: 'Wechatpay-Signature-Type',
  requestId: 'Request-ID',
} as const;
/** Answers and notifications signed further than this from our clock are refused. */
export const WECHATPAY_MAX_SKEW_SECONDS = 300;
/** WeChat sends notifications signed with this prefix to check that merchants do verify: never valid. */
export const WECHATPAY_PROBE_SIGNATURE_PREFIX = 'WECHATPAY/SIGNTEST/';
export const WECHATPAY_CURRENCY = 'CNY';

export const WECHATPAY_PATHS = {
  appPrepay: '/v3/pay/transactions/app',
  nativePrepay: '/v3/pay/transactions/native',
  transaction: (outTradeNo: string) => `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}`,
  close: (outTradeNo: string) => `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}/close`,
  refunds: '/v3/refund/domestic/refunds',
  refund: (outRefundNo: string) => `/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`,
  tradeBill: '/v3/bill/tradebill',
  billDownload: '/v3/billdownload/file',
} as const;

// ---- Signatures ----

/** The `Authorization` header of one call; `pathWithQuery` exactly as sent, `body` '' for a GET. */
export function authorization(call: {
  mchId: string;
  serialNo: string;
  privateKey: KeyObject;
  method: string;
  pathWithQuery: string;
  body: string;
  timestamp: number;
  nonce: string;
}): string {
  const message = Formatter.request(call.method, call.pathWithQuery, call.timestamp, call.nonce, call.body);
  const signature = Rsa.sign(message, call.privateKey);
  return Formatter.authorization(call.mchId, call.nonce, signature, call.timestamp, call.serialNo);
}

export interface AuthorizationFields {
  mchid: string;
  serial_no: string;
  timestamp: string;
  nonce_str: string;
  signature: string;
}

/** Reads an `Authorization` header back into its fields (what WeChat checks), or undefined. */
export function parseAuthorization(header: string | undefined): AuthorizationFields | undefined {
  if (!header?.startsWith(`${WECHATPAY_AUTH_SCHEMA} `)) return undefined;
  const fields = new Map<string, string>();
  for (const match of header.slice(WECHATPAY_AUTH_SCHEMA.length + 1).matchAll(/(\w+)="([^"]*)"/g)) {
    fields.set(match[1]!, match[2]!);
  }
  const [mchid, serial_no, timestamp, nonce_str, signature] = ['mchid', 'serial_no', 'timestamp', 'nonce_str', 'signature'].map((k) =>
    fields.get(k),
  );
  if (!mchid || !serial_no || !timestamp || !nonce_str || !signature) return undefined;
  return { mchid, serial_no, timestamp, nonce_str, signature };
}

export function verifyRequestSignature(
  publicKey: KeyObject,
  request: { method: string; pathWithQuery: string; body: string },
  fields: AuthorizationFields,
): boolean {
  const message = Formatter.request(request.method, request.pathWithQuery, fields.timestamp, fields.nonce_str, request.body);
  return safeVerify(message, fields.signature, publicKey);
}

/** WeChat's signature of an answer or a notification (`Wechatpay-Signature`). */
export function signMessage(privateKey: KeyObject, timestamp: number | string, nonce: string, body: string): string {
  return Rsa.sign(Formatter.response(timestamp, nonce, body), privateKey);
}

/** The four headers WeChat signs an answer or a notification with. */
export interface SignedHeaders {
  timestamp: string;
  nonce: string;
  signature: string;
  serial: string;
}

export type SignatureCheck = 'VALID' | 'UNKNOWN_KEY' | 'PROBE' | 'MALFORMED' | 'MISMATCH';

/** Checks WeChat's signature over the exact body received, with the platform key `serial` names. */
export function checkSignature(platformKeys: ReadonlyMap<string, KeyObject>, signed: SignedHeaders, body: string): SignatureCheck {
  if (signed.signature.startsWith(WECHATPAY_PROBE_SIGNATURE_PREFIX)) return 'PROBE';
  if (!/^\d{1,12}$/.test(signed.timestamp) || !/^[A-Za-z0-9+/]+={0,2}$/.test(signed.signature)) return 'MALFORMED';
  const key = platformKeys.get(signed.serial);
  if (!key) return 'UNKNOWN_KEY';
  return safeVerify(Formatter.response(signed.timestamp, signed.nonce, body), signed.signature, key) ? 'VALID' : 'MISMATCH';
}

function safeVerify(message: string, signature: string, key: KeyObject): boolean {
  try {
    return Rsa.verify(message, signature, key);
  } catch {
    return false;
  }
}

/** The client parameters of an APP payment: what the WeChat SDK's PayReq takes, signed by the merchant. */
export function appPaymentParams(p: { appId: string; mchId: string; prepayId: string; privateKey: KeyObject; timestamp: number; nonce: string }) {
  const sign = Rsa.sign(Formatter.joinedByLineFeed(p.appId, String(p.timestamp), p.nonce, p.prepayId), p.privateKey);
  return {
    appid: p.appId,
    partnerid: p.mchId,
    prepayid: p.prepayId,
    package: 'Sign=WXPay',
    noncestr: p.nonce,
    timestamp: String(p.timestamp),
    sign,
  };
}

export const newNonce = (): string => Formatter.nonce(32);

// ---- AES-256-GCM resources ----

/** The typings export `Aes` without its nested classes; the runtime object has them. */
const AesGcm = (Aes as unknown as { AesGcm: typeof WechatpayAxiosPlugin.Aes.AesGcm }).AesGcm;

export const encryptedResource = z.object({
  original_type: z.string(),
  algorithm: z.literal('AEAD_AES_256_GCM'),
  ciphertext: z.string().min(1),
  associated_data: z.string().optional(),
  nonce: z.string().min(1),
});
export type EncryptedResource = z.infer<typeof encryptedResource>;

/** The plaintext of a resource, or undefined when it does not authenticate under the key (GCM tag). */
export function decryptResource(resource: EncryptedResource, apiV3Key: string): string | undefined {
  try {
    return AesGcm.decrypt(resource.ciphertext, apiV3Key, resource.nonce, resource.associated_data ?? '');
  } catch {
    return undefined;
  }
}

export function encryptResource(plaintext: string, apiV3Key: string, nonce: string, associatedData: string): string {
  return AesGcm.encrypt(plaintext, apiV3Key, nonce, associatedData);
}

// ---- Notifications ----

export const notificationEnvelope = z.object({
  id: z.string().min(1).max(64),
  create_time: z.string(),
  event_type: z.string().min(1),
  resource_type: z.string(),
  summary: z.string().optional(),
  resource: encryptedResource,
});

const fen = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const TRADE_STATES = ['SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR', 'ACCEPT'] as const;
export type TradeState = (typeof TRADE_STATES)[number];

/** A transaction: the decrypted TRANSACTION.* resource, and the query's answer. */
export const transaction = z.object({
  appid: z.string(),
  mchid: z.string(),
  out_trade_no: z.string().min(1),
  transaction_id: z.string().min(1).optional(),
  trade_type: z.string().optional(),
  trade_state: z.enum(TRADE_STATES),
  trade_state_desc: z.string().optional(),
  bank_type: z.string().optional(),
  attach: z.string().optional(),
  success_time: z.string().optional(),
  payer: z.object({ openid: z.string().optional() }).optional(),
  amount: z
    .object({
      total: fen.optional(),
      payer_total: fen.optional(),
      currency: z.literal(WECHATPAY_CURRENCY).optional(),
      payer_currency: z.string().optional(),
    })
    .optional(),
});
export type Transaction = z.infer<typeof transaction>;

export const REFUND_STATES = ['SUCCESS', 'CLOSED', 'PROCESSING', 'ABNORMAL'] as const;

/** The decrypted REFUND.* resource (it names the merchant, not the app; amounts are CNY fen). */
export const refundNotice = z.object({
  mchid: z.string(),
  out_trade_no: z.string().min(1),
  transaction_id: z.string().min(1),
  out_refund_no: z.string().min(1),
  refund_id: z.string().min(1),
  refund_status: z.enum(REFUND_STATES),
  success_time: z.string().optional(),
  user_received_account: z.string().optional(),
  amount: z.object({ total: fen, refund: fen, payer_total: fen.optional(), payer_refund: fen.optional() }),
});
export type RefundNotice = z.infer<typeof refundNotice>;

// ---- Merchant API bodies ----

export interface PrepayRequest {
  appid: string;
  mchid: string;
  description: string;
  out_trade_no: string;
  time_expire: string;
  notify_url: string;
  amount: { total: number; currency: typeof WECHATPAY_CURRENCY };
  scene_info?: { payer_client_ip: string };
}

export const appPrepayResponse = z.object({ prepay_id: z.string().min(1) });
export const nativePrepayResponse = z.object({ code_url: z.string().min(1) });

export interface RefundRequestBody {
  out_trade_no: string;
  out_refund_no: string;
  reason?: string;
  notify_url: string;
  amount: { refund: number; total: number; currency: typeof WECHATPAY_CURRENCY };
}

/** A refund as the refund API and the refund query answer it. */
export const refundView = z.object({
  refund_id: z.string().min(1),
  out_refund_no: z.string().min(1),
  transaction_id: z.string().optional(),
  out_trade_no: z.string().optional(),
  channel: z.string().optional(),
  user_received_account: z.string().optional(),
  success_time: z.string().optional(),
  create_time: z.string().optional(),
  status: z.enum(REFUND_STATES),
  amount: z.object({
    total: fen,
    refund: fen,
    payer_total: fen.optional(),
    payer_refund: fen.optional(),
    currency: z.literal(WECHATPAY_CURRENCY),
  }),
});
export type RefundView = z.infer<typeof refundView>;

export const tradeBillResponse = z.object({
  hash_type: z.literal('SHA1'),
  hash_value: z.string().regex(/^[0-9a-fA-F]{40}$/),
  download_url: z.url({ protocol: /^https?$/ }),
});

/** Every refusal: a 4xx with `{ code, message }`. */
export const errorBody = z.object({ code: z.string().min(1), message: z.string().optional(), detail: z.unknown().optional() });

/** Refusals that a later identical call may not meet (WeChat asks for a retry). */
export const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set([
  'SYSTEM_ERROR',
  'SYSTEMERROR',
  'FREQUENCY_LIMITED',
  'BIZERR_NEED_RETRY',
  'STATEMENT_CREATING',
]);

// ---- Normalized events ----

const cny = (value: number) => ({ currency: WECHATPAY_CURRENCY, value });

/** RFC 3339 (`2026-01-15T12:00:00+08:00`) to ISO 8601 in UTC; undefined when it is not a time. */
export function isoTime(rfc3339: string | undefined): string | undefined {
  if (rfc3339 === undefined) return undefined;
  const time = new Date(rfc3339);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

const BEIJING_OFFSET_MS = 8 * 3600_000;

/** `2026-01-15T20:00:00+08:00`: the form WeChat takes and gives times in. */
export function beijingRfc3339(time: Date): string {
  return `${new Date(time.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}

/** The Beijing calendar day (`YYYY-MM-DD`) of a time: the day of WeChat's bills. */
export function beijingDate(time: Date): string {
  return new Date(time.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** One key for a transaction's payment, whether its notification or a query reports it. */
export const paidDedupeKey = (transactionId: string) => `wechatpay:${transactionId}:paid`;

/** A paid transaction as the event it reports; undefined when it lacks what a payment has. */
export function paymentSucceeded(trade: Transaction): ChannelEvent | undefined {
  const occurredAt = isoTime(trade.success_time);
  if (trade.trade_state !== 'SUCCESS' || !trade.transaction_id || trade.amount?.total === undefined || !occurredAt) return undefined;
  const merchantOrderId = orderIdOf(trade.out_trade_no);
  return {
    kind: 'PAYMENT_SUCCEEDED',
    dedupeKey: paidDedupeKey(trade.transaction_id),
    ...(merchantOrderId !== undefined && { merchantOrderId }),
    channelPaymentId: trade.out_trade_no,
    channelTradeNo: trade.transaction_id,
    // `total` is what the order asked for; the payer may have paid less with a coupon.
    amount: cny(trade.amount.total),
    occurredAt,
  };
}

/** REFUND.SUCCESS returned money; REFUND.ABNORMAL (the payer's account refused it) and CLOSED did not. */
export function refundEvent(notice: RefundNotice, dedupeKey: string): ChannelEvent | undefined {
  const merchantOrderId = orderIdOf(notice.out_trade_no);
  const common = {
    dedupeKey,
    ...(merchantOrderId !== undefined && { merchantOrderId }),
    channelPaymentId: notice.out_trade_no,
    channelTradeNo: notice.transaction_id,
    // WeChat keeps out_refund_no as we sent it: our refund id (merchantRefundNo keeps ours unchanged).
    refundId: notice.out_refund_no,
    channelRefundId: notice.refund_id,
  };
  switch (notice.refund_status) {
    case 'SUCCESS': {
      const occurredAt = isoTime(notice.success_time);
      return { kind: 'REFUND_SUCCEEDED', ...common, amount: cny(notice.amount.refund), ...(occurredAt !== undefined && { occurredAt }) };
    }
    case 'ABNORMAL':
    case 'CLOSED':
      return { kind: 'REFUND_FAILED', ...common };
    case 'PROCESSING':
      return undefined;
  }
}
