import { X509Certificate, createHash, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Money } from '../../domain/money';
import { NUMERIC_CURRENCIES } from '../amounts';
import { orderIdOf } from '../ids';
import type { ChannelEvent, ChannelEventKind } from '../types';

/**
 * UnionPay online payment (ACP 5.1.0, "全渠道") on the wire. Every message is a flat set of fields:
 * requests are form posts, synchronous answers are `k=v&…` bodies that are NOT URL-encoded, and back
 * notifications are URL-encoded form posts. Signature (signMethod 01): the fields but `signature`,
 * keys sorted, joined `k=v&…`; the lowercase hex SHA-256 of that string is signed with SHA256withRSA
 * and base64-encoded. UnionPay signs its answers and notifications the same way and ships its signing
 * certificate in `signPubKeyCert`, which must chain to the configured middle and root certificates.
 */
export const UNIONPAY_VERSION = '5.1.0';
export const UNIONPAY_SIGN_METHOD = '01';
export const UNIONPAY_ENCODING = 'UTF-8';
export const UNIONPAY_CNY = '156';
export const UNIONPAY_ACK_BODY = 'ok';

export const UNIONPAY_PRODUCTION_GATEWAY = 'https://gateway.95516.com';
export const UNIONPAY_TEST_GATEWAY_HOST = 'gateway.test.95516.com';
export const FRONT_TRANS_PATH = '/gateway/api/frontTransReq.do';
export const BACK_TRANS_PATH = '/gateway/api/backTransReq.do';
export const QUERY_TRANS_PATH = '/gateway/api/queryTrans.do';

export const TXN_TYPE = { QUERY: '00', CONSUME: '01', REFUND: '04', CONSUME_UNDO: '31', FILE_TRANSFER: '76' } as const;

/** respCode / origRespCode: 00 success, A6 success with defects (still paid). */
export const SUCCESS_CODES = new Set(['00', 'A6']);
/** 03 timeout, 04 state unknown, 05 accepted (ask again later): the outcome is not known yet. */
export const UNKNOWN_OUTCOME_CODES = new Set(['03', '04', '05']);
/** 06 system busy: worth asking again. */
export const BUSY_CODE = '06';
export const DUPLICATE_CODE = '12';
export const NOT_FOUND_CODE = '34';
/** File transfer: no file for that settlement day. */
export const NO_FILE_CODE = '98';

/**
 * The company in the subject CN of UnionPay's signing certificate (`<type>@<id>@<company>@<seq>`),
 * as UnionPay's own SDKs check it (`ifValidateCNName`): without this check any certificate CFCA issued
 * under the same root (every merchant's included) would be taken for UnionPay's.
 */
export const UNIONPAY_SIGNING_COMPANY = '中国银联股份有限公司';
/** UnionPay's test environment signs with a certificate named `…@00040000:SIGN@…`. */
export const UNIONPAY_TEST_SIGNING_COMPANY = '00040000:SIGN';

export type UnionPayFields = Record<string, string>;

// ---- Signature ----

/** The signed string: every field but `signature`, keys in code-unit order (Java's TreeMap), `k=v&…`. */
export function signingString(fields: UnionPayFields): string {
  return Object.keys(fields)
    .filter((key) => key !== 'signature')
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
}

function digestHex(fields: UnionPayFields): Buffer {
  return Buffer.from(createHash('sha256').update(signingString(fields), 'utf8').digest('hex'), 'ascii');
}

export function signFields(fields: UnionPayFields, privateKey: KeyObject): string {
  return sign('sha256', digestHex(fields), privateKey).toString('base64');
}

export function verifyFields(fields: UnionPayFields, publicKey: KeyObject): boolean {
  const signature = fields.signature?.replace(/\s/g, '');
  if (!signature || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  return verify('sha256', digestHex(fields), publicKey, Buffer.from(signature, 'base64'));
}

export class UnionPayCertificateError extends Error {}

interface TrustedSigner {
  publicKey: KeyObject;
  chain: X509Certificate[];
}

/**
 * Decides whether a `signPubKeyCert` is UnionPay's signing certificate: issued by the configured middle
 * certificate, itself issued by the configured root, every one of them valid at the time of checking,
 * and named after UnionPay. Certificates that pass are remembered (UnionPay rotates its key every few
 * years); their validity is checked again on every use.
 */
export class UnionPayCertificateVerifier {
  private readonly root: X509Certificate;
  private readonly middle: X509Certificate;
  private readonly trusted = new Map<string, TrustedSigner>();

  constructor(
    rootPem: string,
    middlePem: string,
    private readonly companies: readonly string[],
  ) {
    this.root = new X509Certificate(rootPem);
    this.middle = new X509Certificate(middlePem);
  }

  /** The signing key of a certificate UnionPay signs with; throws UnionPayCertificateError otherwise. */
  signingKey(certificatePem: string, at: Date): KeyObject {
    const signer = this.trusted.get(certificatePem) ?? this.admit(certificatePem);
    for (const certificate of signer.chain) {
      if (at < new Date(certificate.validFrom) || at > new Date(certificate.validTo)) {
        throw new UnionPayCertificateError(`certificate ${certificate.serialNumber} is not valid at ${at.toISOString()}`);
      }
    }
    return signer.publicKey;
  }

  private admit(certificatePem: string): TrustedSigner {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(certificatePem);
    } catch {
      throw new UnionPayCertificateError('signPubKeyCert is not a certificate');
    }
    const chained =
      leaf.checkIssued(this.middle) &&
      leaf.verify(this.middle.publicKey) &&
      this.middle.ca &&
      this.middle.checkIssued(this.root) &&
      this.middle.verify(this.root.publicKey) &&
      this.root.ca;
    if (!chained) throw new UnionPayCertificateError('signPubKeyCert does not chain to the configured middle and root certificates');
    const company = signingCompanyOf(leaf);
    if (company === undefined || !this.companies.includes(company)) {
      throw new UnionPayCertificateError(`signPubKeyCert belongs to ${JSON.stringify(company ?? leaf.subject)}, not UnionPay`);
    }
    const signer = { publicKey: leaf.publicKey, chain: [leaf, this.middle, this.root] };
    // Only certificates that chained are kept: what a stranger sends cannot grow this map.
    if (this.trusted.size >= 8) this.trusted.clear();
    this.trusted.set(certificatePem, signer);
    return signer;
  }
}

/** The third `@`-separated part of the subject's only CN. */
function signingCompanyOf(certificate: X509Certificate): string | undefined {
  const names = certificate.subject.split('\n').filter((line) => line.startsWith('CN='));
  if (names.length !== 1) return undefined;
  return names[0]!.slice(3).split('@')[2];
}

// ---- Bodies ----

export class UnionPayFormatError extends Error {}

/**
 * A synchronous answer: `k=v&…` without URL-encoding (the certificate PEM travels raw). As UnionPay's
 * SDKs read it: the first `=` ends the key, and `&` inside `{…}` or `[…]` does not end a value.
 */
export function parseAnswer(body: string): UnionPayFields {
  const fields: UnionPayFields = {};
  const put = (pair: string) => {
    if (pair === '') return;
    const equals = pair.indexOf('=');
    const key = equals === -1 ? pair : pair.slice(0, equals);
    if (!key) throw new UnionPayFormatError('a field without a name');
    if (Object.hasOwn(fields, key)) throw new UnionPayFormatError(`field ${key} appears twice`);
    fields[key] = equals === -1 ? '' : pair.slice(equals + 1);
  };
  let start = 0;
  let closing: string | undefined;
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (closing !== undefined) {
      if (char === closing) closing = undefined;
    } else if (char === '{') {
      closing = '}';
    } else if (char === '[') {
      closing = ']';
    } else if (char === '&') {
      put(body.slice(start, i));
      start = i + 1;
    }
  }
  put(body.slice(start));
  return fields;
}

/** A back notification: an `application/x-www-form-urlencoded` body in UTF-8. */
export function parseNotificationBody(rawBody: Buffer): UnionPayFields {
  const fields: UnionPayFields = {};
  for (const [key, value] of new URLSearchParams(rawBody.toString('utf8'))) {
    if (Object.hasOwn(fields, key)) throw new UnionPayFormatError(`field ${key} appears twice`);
    fields[key] = value;
  }
  return fields;
}

export function formBody(fields: UnionPayFields): string {
  return new URLSearchParams(fields).toString();
}

const orderIdField = z.string().regex(/^[0-9A-Za-z]{8,40}$/);
const txnTimeField = z.string().regex(/^\d{14}$/);
const channelNumber = z.string().regex(/^[0-9A-Za-z]{1,64}$/);

/** What UnionPay says about one transaction, in a notification or a query answer. */
export const transactionSchema = z.object({
  merId: z.string().min(1),
  orderId: orderIdField,
  txnTime: txnTimeField,
  txnType: z.string().regex(/^\d{2}$/),
  queryId: channelNumber.optional(),
  origQryId: channelNumber.optional(),
  txnAmt: z.string().regex(/^\d{1,12}$/).optional(),
  currencyCode: z.string().regex(/^\d{3}$/).optional(),
  /** When UnionPay processed it, MMDDhhmmss Beijing time. */
  traceTime: z.string().regex(/^\d{10}$/).optional(),
  respCode: z.string().min(1),
  respMsg: z.string().optional(),
});
export type UnionPayTransaction = z.infer<typeof transactionSchema>;

/** A query answer (respCode 00): the queried transaction's own result is `origRespCode`. */
export const queryAnswerSchema = transactionSchema.extend({
  origRespCode: z.string().min(1),
  origRespMsg: z.string().optional(),
});

export const fileAnswerSchema = z.object({
  fileContent: z.string().min(1),
  fileName: z.string().optional(),
});

// ---- Time ----

const BEIJING_OFFSET_MS = 8 * 3_600_000;

/** yyyyMMddHHmmss in Beijing time (UTC+8, no daylight saving). */
export function beijingTime(at: Date): string {
  return new Date(at.getTime() + BEIJING_OFFSET_MS).toISOString().replace(/\D/g, '').slice(0, 14);
}

export function fromBeijingTime(value: string): Date {
  const [, y, mo, d, h, mi, s] = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value) ?? [];
  if (!y) throw new UnionPayFormatError(`not a UnionPay time: ${value}`);
  return new Date(Date.UTC(+y, +mo! - 1, +d!, +h!, +mi!, +s!) - BEIJING_OFFSET_MS);
}

/**
 * UnionPay's short times (MMDDhhmmss) have no year: it is the one that puts them nearest the reference
 * (a January trace time of a December order is next year's; a December time in a January file last year's).
 */
export function withYear(monthDayTime: string, reference: Date): Date {
  const year = Number(beijingTime(reference).slice(0, 4));
  const candidates = [year - 1, year, year + 1].map((y) => fromBeijingTime(`${y}${monthDayTime}`));
  const distance = (at: Date) => Math.abs(at.getTime() - reference.getTime());
  return candidates.reduce((nearest, at) => (distance(at) < distance(nearest) ? at : nearest));
}

// ---- Our ids at UnionPay ----

/**
 * UnionPay knows a transaction by merId + orderId + txnTime, and its query needs all of them. The
 * adapter keeps no state, so our channelPaymentId carries both: `<orderId>:<txnTime>`.
 */
export function channelPaymentIdOf(orderId: string, txnTime: string): string {
  return `${orderId}:${txnTime}`;
}

export function unionpayOrderOf(channelPaymentId: string): { orderId: string; txnTime: string } | undefined {
  const match = /^([0-9A-Za-z]{8,40}):(\d{14})$/.exec(channelPaymentId);
  return match ? { orderId: match[1]!, txnTime: match[2]! } : undefined;
}

const PLATFORM_REFUND_ID = /^rf_([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;
const UUID_BASE36_LENGTH = 25; // 2^128 < 36^25

/**
 * Our refund id as a refund's UnionPay orderId (8-40 letters and digits), reversibly. The platform's
 * `rf_<uuid>` becomes `ru` + the UUID in base 36 (27 characters: the settlement file's orderId column
 * is 32 wide, so it names the refund there too); any other id of 6-38 letters and digits becomes
 * `rx<id>`. Neither form can be taken for the other, nor for a payment's orderId (32 hex digits).
 */
export function refundOrderIdOf(refundId: string): string | undefined {
  const uuid = PLATFORM_REFUND_ID.exec(refundId);
  if (uuid) return `ru${BigInt(`0x${uuid.slice(1).join('')}`).toString(36).padStart(UUID_BASE36_LENGTH, '0')}`;
  if (/^[0-9A-Za-z]{6,38}$/.test(refundId)) return `rx${refundId}`;
  return undefined;
}

export function refundIdOf(refundOrderId: string): string | undefined {
  const base36 = /^ru([0-9a-z]{25})$/.exec(refundOrderId)?.[1];
  if (base36) {
    const value = [...base36].reduce((n, digit) => n * 36n + BigInt(parseInt(digit, 36)), 0n);
    const uuid = value < 2n ** 128n ? orderIdOf(value.toString(16).padStart(32, '0')) : undefined;
    return uuid && `rf_${uuid}`;
  }
  return /^rx([0-9A-Za-z]{6,38})$/.exec(refundOrderId)?.[1];
}

// ---- Normalization ----

/** txnAmt is in the minor unit of currencyCode (fen for 156). */
export function moneyOf(txnAmt: string, currencyCode: string): Money {
  const currency = NUMERIC_CURRENCIES[currencyCode];
  if (!currency) throw new UnionPayFormatError(`unknown currencyCode ${currencyCode}`);
  return { currency, value: Number(txnAmt) };
}

/** What one UnionPay transaction means for us; a transaction we have nothing to do with says why. */
export type Normalized = { event: ChannelEvent } | { notice: string };

/**
 * A consume or refund and its result (`respCode` in a notification, `origRespCode` in a query answer)
 * as a ChannelEvent. The dedupe key is the transaction (queryId + txnType) and what it reports, so a
 * notification and a query answer about the same result have one effect together.
 */
export function normalizeTransaction(transaction: UnionPayTransaction, result: string): Normalized {
  const { txnType, orderId, txnTime, queryId, origQryId, txnAmt, currencyCode } = transaction;
  const succeeded = SUCCESS_CODES.has(result);
  const sentAt = fromBeijingTime(txnTime);
  const occurredAt = (transaction.traceTime ? withYear(transaction.traceTime, sentAt) : sentAt).toISOString();
  const key = (kind: ChannelEventKind) => `unionpay:${txnType}:${queryId ?? `${orderId}@${txnTime}`}:${kind}`;
  const paid = () => {
    if (!queryId || !txnAmt || !currencyCode) {
      throw new UnionPayFormatError(`a successful ${txnType} transaction carries queryId, txnAmt and currencyCode`);
    }
    return { queryId, amount: moneyOf(txnAmt, currencyCode) };
  };

  if (txnType === TXN_TYPE.CONSUME) {
    const merchantOrderId = orderIdOf(orderId);
    if (!merchantOrderId) return { notice: `unionpay consume ${orderId} is not one of our orders` };
    const kind = succeeded ? 'PAYMENT_SUCCEEDED' : 'PAYMENT_FAILED';
    const base = { kind, dedupeKey: key(kind), merchantOrderId, channelPaymentId: channelPaymentIdOf(orderId, txnTime), occurredAt } as const;
    if (!succeeded) return { event: { ...base, ...(queryId && { channelTradeNo: queryId }) } };
    const { amount } = paid();
    return { event: { ...base, channelTradeNo: queryId!, amount } };
  }

  if (txnType === TXN_TYPE.REFUND || txnType === TXN_TYPE.CONSUME_UNDO) {
    // A refund made elsewhere (UnionPay's merchant portal) is no refund id of ours, but money went back all the same.
    const refundId = txnType === TXN_TYPE.REFUND ? refundIdOf(orderId) : undefined;
    const kind = succeeded ? 'REFUND_SUCCEEDED' : 'REFUND_FAILED';
    const base: ChannelEvent = {
      kind,
      dedupeKey: key(kind),
      ...(origQryId && { channelTradeNo: origQryId }),
      ...(refundId && { refundId }),
      ...(queryId && { channelRefundId: queryId }),
      occurredAt,
    };
    if (!succeeded) return { event: base };
    if (!origQryId) throw new UnionPayFormatError('a refund names the payment it returns (origQryId)');
    return { event: { ...base, amount: paid().amount } };
  }

  return { notice: `unionpay txnType ${txnType} (orderId ${orderId}, respCode ${result}) changes no order` };
}
