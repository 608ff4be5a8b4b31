import { createSign, createVerify } from 'node:crypto';
import iconv from 'iconv-lite';
import { z } from 'zod';
import type { Money } from '../../domain/money';
import { AmountError, parseDecimal } from '../amounts';
import { orderIdOf } from '../ids';
import type { ChannelEvent } from '../types';

/**
 * Alipay's OpenAPI v1 gateway protocol (alipay.trade.*): form parameters signed RSA2 (SHA256withRSA,
 * PKCS#1 v1.5) over `k=v&…` in ASCII key order; answers `{"<method>_response":{…},"sign":"…"}` signed
 * over the exact JSON text of the response object; asynchronous notifications are form POSTs signed
 * the same way by Alipay. Amounts are yuan strings, times are Beijing wall-clock times without a zone.
 */

export const ALIPAY_PRODUCTION_GATEWAY = 'https://openapi.alipay.com/gateway.do';
/** The 7-character plain body Alipay takes as "received"; anything else is retried. */
export const ALIPAY_ACK_BODY = 'success';
export const APP_PAY_PRODUCT = 'QUICK_MSECURITY_PAY';
export const PAGE_PAY_PRODUCT = 'FAST_INSTANT_TRADE_PAY';
export const ALIPAY_CURRENCY = 'CNY';
export const SUCCESS_CODE = '10000';

export type GatewayMethod =
  | 'alipay.trade.app.pay'
  | 'alipay.trade.page.pay'
  | 'alipay.trade.query'
  | 'alipay.trade.close'
  | 'alipay.trade.refund'
  | 'alipay.trade.fastpay.refund.query'
  | 'alipay.data.dataservice.bill.downloadurl.query';

// ---- Time: Alipay speaks Beijing wall-clock time (UTC+8, no daylight saving) whatever the server's TZ ----

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
const BEIJING_DATE_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)$/;

/** `yyyy-MM-dd HH:mm:ss` in Beijing time (timestamp, time_expire). */
export function beijingDateTime(instant: Date): string {
  return new Date(instant.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** The Beijing calendar day (`yyyy-MM-dd`): Alipay's bill day. */
export function beijingDate(instant: Date): string {
  return beijingDateTime(instant).slice(0, 10);
}

/** A Beijing time as Alipay writes it (`gmt_refund` carries milliseconds) → ISO 8601 UTC. */
export function beijingToIso(text: string): string {
  const match = BEIJING_DATE_TIME.exec(text.trim());
  const instant = match ? new Date(`${match[1]}T${match[2]}+08:00`) : undefined;
  if (!instant || Number.isNaN(instant.getTime())) throw new Error(`not a Beijing date-time: ${JSON.stringify(text)}`);
  return instant.toISOString();
}

// ---- Amounts: yuan strings ↔ fen, never through a float ----

/** "6.00" → 600 fen; more than two decimals, a sign or an exponent is refused. */
export function yuanToMinor(value: string): Money {
  const money = parseDecimal(value, ALIPAY_CURRENCY);
  if (money.value < 0) throw new AmountError(`not a positive yuan amount: ${JSON.stringify(value)}`);
  return money;
}

const yuan = z.string().transform((value, ctx) => {
  try {
    return yuanToMinor(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const beijingTime = z.string().transform((value, ctx) => {
  try {
    return beijingToIso(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

// ---- Forms and signatures ----

/** Charsets Alipay posts notifications in (the `charset` field says which). */
const FORM_CHARSETS = ['utf-8', 'gbk', 'gb2312', 'gb18030'] as const;

export class FormatError extends Error {}

/**
 * Parses an `application/x-www-form-urlencoded` body whose percent-escapes are bytes of the charset
 * its own `charset` field names. Tolerant like browsers: a `%` not followed by two hex digits is a
 * literal `%`. A field given twice is refused rather than guessed at.
 */
export function parseForm(rawBody: Buffer): Record<string, string> {
  const pairs = rawBody
    .toString('latin1')
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    });
  const bytesOf = (escaped: string) => {
    const text = escaped.replace(/\+/g, ' ');
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
        bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(text.charCodeAt(i));
      }
    }
    return Buffer.from(bytes);
  };
  const declared = pairs.find(([key]) => key === 'charset');
  const charset = declared ? bytesOf(declared[1]!).toString('latin1').toLowerCase() : 'utf-8';
  if (!(FORM_CHARSETS as readonly string[]).includes(charset)) throw new FormatError(`unsupported charset ${JSON.stringify(charset)}`);
  const fields: Record<string, string> = {};
  for (const [key, value] of pairs) {
    const name = iconv.decode(bytesOf(key!), charset);
    if (Object.prototype.hasOwnProperty.call(fields, name)) throw new FormatError(`field ${JSON.stringify(name)} is repeated`);
    fields[name] = iconv.decode(bytesOf(value!), charset);
  }
  return fields;
}

/** Form-encodes fields as Java's URLEncoder does (Alipay's side): bytes of `charset`, space as `+`. */
export function encodeForm(fields: Record<string, string>, charset: (typeof FORM_CHARSETS)[number] = 'utf-8'): string {
  const escape = (text: string) =>
    [...iconv.encode(text, charset)]
      .map((byte) => {
        const char = String.fromCharCode(byte);
        if (/[A-Za-z0-9.\-*_]/.test(char)) return char;
        return char === ' ' ? '+' : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      })
      .join('');
  return Object.entries(fields)
    .map(([key, value]) => `${escape(key)}=${escape(value)}`)
    .join('&');
}

/** Requests sign every parameter but `sign`; notifications leave `sign_type` out as well. */
export const REQUEST_UNSIGNED_FIELDS = ['sign'] as const;
export const NOTIFY_UNSIGNED_FIELDS = ['sign', 'sign_type'] as const;

/**
 * Alipay's signing string: keys in ASCII order, raw values, empty values included (as alipay-sdk
 * signs requests and verifies notifications: Alipay posts empty fields such as `passback_params`).
 */
export function signingContent(fields: Record<string, string>, unsigned: readonly string[]): string {
  return Object.keys(fields)
    .filter((key) => !unsigned.includes(key))
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
}

export function rsa2Sign(content: string, privateKeyPem: string): string {
  return createSign('RSA-SHA256').update(content, 'utf8').sign(privateKeyPem, 'base64');
}

export function rsa2Verify(content: string, signature: string, publicKeyPem: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  return createVerify('RSA-SHA256').update(content, 'utf8').verify(publicKeyPem, signature, 'base64');
}

// ---- Gateway responses ----

export function responseKey(method: GatewayMethod): string {
  return `${method.replaceAll('.', '_')}_response`;
}

/**
 * Alipay's signed answer. The signature covers the response object's JSON text exactly as sent —
 * Alipay escapes `/` as `\/`, so a verifier must cut the text out, never re-serialize it.
 */
export function signedResponseBody(method: GatewayMethod, payload: Record<string, unknown>, alipayPrivateKeyPem: string): string {
  const json = JSON.stringify(payload).replace(/\//g, '\\/');
  return `{"${responseKey(method)}":${json},"sign":"${rsa2Sign(json, alipayPrivateKeyPem)}"}`;
}

/** Every answer's verdict; `code` 10000 is success, the rest carry `sub_code`. */
export const gatewayVerdict = z.looseObject({
  code: z.string(),
  msg: z.string(),
  sub_code: z.string().optional(),
  sub_msg: z.string().optional(),
});
export type GatewayVerdict = z.infer<typeof gatewayVerdict>;

export const TRADE_STATUSES = ['WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_FINISHED', 'TRADE_CLOSED'] as const;
export type TradeStatus = (typeof TRADE_STATUSES)[number];

export const tradeQueryResponse = z.looseObject({
  trade_no: z.string().min(1),
  out_trade_no: z.string().min(1),
  trade_status: z.enum(TRADE_STATUSES),
  total_amount: yuan,
  /** When the payer paid: present on paid trades, also once they are refunded in full and closed. */
  send_pay_date: beijingTime.optional(),
});

export const tradeRefundResponse = z.looseObject({
  trade_no: z.string().min(1),
  out_trade_no: z.string().min(1),
  /** Y: this call moved money; N: nothing moved now (e.g. the same out_request_no again). */
  fund_change: z.enum(['Y', 'N']),
  /** The trade's refunded total so far. */
  refund_fee: yuan,
});

export const refundQueryResponse = z.looseObject({
  out_request_no: z.string().optional(),
  /** REFUND_SUCCESS when done; absent when Alipay has no such (successful) refund. */
  refund_status: z.string().optional(),
  refund_amount: yuan.optional(),
});

export const billDownloadUrlResponse = z.looseObject({ bill_download_url: z.url() });

/** A day without a bill is a business error with one of these sub codes (spellings vary by era). */
export const NO_BILL_SUB_CODE = /bill_not_exist|no_bill_data/i;

// ---- Notifications ----

export const TRADE_NOTIFY_TYPE = 'trade_status_sync';

/** A trade_status_sync notification, read with its empty fields dropped (they are verified, not read). */
export const tradeNotification = z.looseObject({
  notify_id: z.string().min(1),
  notify_type: z.literal(TRADE_NOTIFY_TYPE),
  app_id: z.string().min(1),
  seller_id: z.string().optional(),
  trade_no: z.string().min(1),
  out_trade_no: z.string().min(1),
  trade_status: z.enum(TRADE_STATUSES),
  total_amount: yuan,
  gmt_payment: beijingTime.optional(),
  gmt_close: beijingTime.optional(),
  /** Refund notifications: the trade's refunded total, when, and the refund's out_request_no. */
  refund_fee: yuan.optional(),
  gmt_refund: beijingTime.optional(),
  out_biz_no: z.string().optional(),
});
export type TradeNotification = z.infer<typeof tradeNotification>;

/** One key for a trade's payment, whether a notification (SUCCESS or FINISHED) or a query reports it. */
export const paidDedupeKey = (tradeNo: string) => `alipay:${tradeNo}:paid`;

export function paymentSucceeded(trade: { trade_no: string; out_trade_no: string; total_amount: Money }, paidAt?: string): ChannelEvent {
  const orderId = orderIdOf(trade.out_trade_no);
  return {
    kind: 'PAYMENT_SUCCEEDED',
    dedupeKey: paidDedupeKey(trade.trade_no),
    ...(orderId !== undefined && { merchantOrderId: orderId }),
    channelPaymentId: trade.out_trade_no,
    channelTradeNo: trade.trade_no,
    amount: trade.total_amount,
    ...(paidAt !== undefined && { occurredAt: paidAt }),
  };
}

/**
 * What one notification reports. Alipay re-sends the trade's status on every change: a refund comes
 * as TRADE_SUCCESS (partial) or TRADE_CLOSED (in full) carrying refund_fee; TRADE_FINISHED only says
 * the refund window is over, so it pays (once, with SUCCESS's key) and never refunds again.
 */
export function notificationEvents(n: TradeNotification): ChannelEvent[] {
  const orderId = orderIdOf(n.out_trade_no);
  const trade = {
    ...(orderId !== undefined && { merchantOrderId: orderId }),
    channelPaymentId: n.out_trade_no,
    channelTradeNo: n.trade_no,
  };
  const isRefund = n.refund_fee !== undefined && n.refund_fee.value > 0 && n.trade_status !== 'TRADE_FINISHED';
  if (isRefund) {
    // refund_fee is the trade's refunded total, not this refund's amount: the amount is left out
    // (our refund knows its own); the refund is identified by its out_request_no, else by that total.
    const which = n.out_biz_no !== undefined ? n.out_biz_no : `refunded-total:${n.refund_fee!.value}`;
    return [
      {
        kind: 'REFUND_SUCCEEDED',
        dedupeKey: `alipay:${n.trade_no}:refund:${which}`,
        ...trade,
        ...(n.out_biz_no !== undefined && { refundId: n.out_biz_no, channelRefundId: n.out_biz_no }),
        ...(n.gmt_refund !== undefined && { occurredAt: n.gmt_refund }),
      },
    ];
  }
  switch (n.trade_status) {
    case 'TRADE_SUCCESS':
    case 'TRADE_FINISHED':
      return [paymentSucceeded(n, n.gmt_payment)];
    case 'TRADE_CLOSED':
      return [
        {
          kind: 'PAYMENT_CLOSED',
          dedupeKey: `alipay:${n.trade_no}:closed`,
          ...trade,
          ...(n.gmt_close !== undefined && { occurredAt: n.gmt_close }),
        },
      ];
    case 'WAIT_BUYER_PAY':
      return [];
  }
}
