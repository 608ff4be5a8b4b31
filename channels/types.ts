import type { z } from 'zod';
import type { Money } from '../domain/money';
import type { ChannelHttp } from './http';

/**
 * The one interface every payment channel implements, in the platform's terms. Wire formats,
 * signatures and units stay inside each channel's folder (`wire.ts`); what crosses this line is
 * normalized: money in integer minor units, our order id, the channel's trade number, ISO times.
 */

export const CHANNEL_TYPES = ['sandbox', 'alipay', 'wechatpay', 'appstore', 'googleplay', 'unionpay'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export const PLATFORMS = ['ios', 'android', 'web', 'pc'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** What the platform asks a channel to collect for one order. */
export interface CreatePaymentRequest {
  /** Our order id (a UUID); the channel's merchant order number is derived from it. */
  orderId: string;
  amount: Money;
  subject: string;
  /** Where the channel must send its asynchronous notifications (this account's callback URL). */
  notifyUrl: string;
  expiresAt: Date;
  /** Where the payer pays; decides e.g. app pay vs page pay. */
  platform?: Platform;
  userId: string;
  /** The item's product id in the store, for store channels (App Store, Google Play). */
  storeProductId?: string;
  clientIp?: string;
}

export interface CreatedPayment {
  /** The id under which we know this payment at the channel (close, query and refund use it). */
  channelPaymentId: string;
  /** Channel-specific parameters the game client needs to pay (URLs, order strings, signed params, ...). */
  payment: Record<string, unknown>;
}

/** Identifies one payment at its channel. */
export interface PaymentRef {
  orderId: string;
  channelPaymentId: string;
  /** The channel's own transaction number, once known (from a notification, a receipt or a query). */
  channelTradeNo?: string;
  /** What the order asked for. */
  amount: Money;
  storeProductId?: string;
}

export type CloseOutcome = 'CLOSED' | 'ALREADY_PAID';

export interface RefundRequest {
  /** Our refund id; channels deduplicate refunds by it (at most 64 characters, [A-Za-z0-9_-]). */
  refundId: string;
  payment: PaymentRef;
  /** What is returned: the whole paid amount for a full refund. */
  amount: Money;
  /** What the payer paid in all (channels that need the original total). */
  paid: Money;
  reason: string;
}

export interface RefundResult {
  channelRefundId: string;
  /** Some channels settle refunds later and report them by notification or query. */
  state: 'SUCCEEDED' | 'PROCESSING';
}

export interface RefundQueryResult {
  state: 'SUCCEEDED' | 'PROCESSING' | 'FAILED' | 'NOT_FOUND';
  channelRefundId?: string;
  amount?: Money;
}

export type ChannelEventKind =
  | 'PAYMENT_SUCCEEDED'
  | 'PAYMENT_FAILED'
  | 'PAYMENT_CLOSED'
  | 'REFUND_SUCCEEDED'
  | 'REFUND_FAILED'
  | 'CHARGEBACK'
  | 'REVOKED';

/** One thing a channel reports, normalized. */
export interface ChannelEvent {
  kind: ChannelEventKind;
  /** Stable across the channel's resends of the same event: one effect per key. */
  dedupeKey: string;
  /** Our order id, when the channel names it. */
  merchantOrderId?: string;
  channelPaymentId?: string;
  /** The channel's transaction number. */
  channelTradeNo?: string;
  /** Paid (payments) or returned (refunds, chargebacks) amount, in minor units. */
  amount?: Money;
  /** When it happened at the channel (ISO 8601). */
  occurredAt?: string;
  /** Our refund id, for refunds we asked for. */
  refundId?: string;
  channelRefundId?: string;
  /** The store product bought (store channels); never delivered when it is not the item's. */
  storeProductId?: string;
}

export interface InboundCallback {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

/** The exact HTTP answer a channel expects as its acknowledgement. */
export interface CallbackAck {
  status: number;
  contentType: string;
  body: string;
}

/** A verified notification: what it reports (maybe nothing we act on) and what it says for operations. */
export interface VerifiedNotification {
  events: ChannelEvent[];
  /** Recorded for operations, changes no order (e.g. Apple REFUND_REVERSED, TEST). */
  notice?: string;
  /** The store asks what the player got of a purchase before it decides a refund (Apple CONSUMPTION_REQUEST). */
  consumptionRequest?: ConsumptionRequestEvent;
}

/** Apple's CONSUMPTION_REQUEST, read: one answer per transaction, due 12 hours after `signedDate`. */
export interface ConsumptionRequestEvent {
  transactionId: string;
  /** Our order id, from the transaction's appAccountToken (absent: not bought through our orders). */
  merchantOrderId?: string;
  storeProductId: string;
  /** The player's stated reason (UNINTENDED_PURCHASE, FULFILLMENT_ISSUE, UNSATISFIED_WITH_PURCHASE, LEGAL, OTHER). */
  reason?: string;
  /** When Apple signed the request (ISO 8601). */
  signedDate: string;
}

/** Apple's Send Consumption Information (v2) body; the V1 fields are deprecated and never sent. */
export interface ConsumptionInformation {
  customerConsented: true;
  deliveryStatus: 'DELIVERED' | 'UNDELIVERED_QUALITY_ISSUE' | 'UNDELIVERED_WRONG_ITEM' | 'UNDELIVERED_SERVER_OUTAGE' | 'UNDELIVERED_OTHER';
  sampleContentProvided: boolean;
  /** Milliunits of a percent, 0-100000. */
  consumptionPercentage?: number;
  refundPreference?: 'DECLINE' | 'GRANT_FULL' | 'GRANT_PRORATED';
}

/** Thrown by verifyNotification for anything that is not an authentic, current notification. */
export class CallbackRejectedError extends Error {
  constructor(
    readonly code: 'INVALID_SIGNATURE' | 'MALFORMED_NOTIFICATION' | 'STALE_NOTIFICATION' | 'WRONG_MERCHANT',
    message: string,
  ) {
    super(message);
  }
}

/** Thrown by verifyReceipt: the proof of purchase does not verify, or is not this order's. */
export class ReceiptRejectedError extends Error {
  constructor(
    readonly code: 'INVALID_RECEIPT' | 'WRONG_PRODUCT' | 'WRONG_ORDER' | 'NOT_PURCHASED',
    message: string,
  ) {
    super(message);
  }
}

export interface PaymentQueryResult {
  state: 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'CLOSED' | 'REFUNDED' | 'NOT_FOUND';
  /** For a SUCCEEDED payment: the event to act on, exactly as if its notification had come. */
  event?: ChannelEvent;
}

/** One row of a channel's daily statement, normalized (money in minor units, signed positive). */
export interface StatementRow {
  channelTradeNo: string;
  /** Our order id as the statement names it (UUID form), when it does. */
  merchantOrderId?: string;
  kind: 'PAYMENT' | 'REFUND';
  amount: Money;
  fee?: Money;
  occurredAt: string;
  /** Our refund id, for refund rows. */
  refundId?: string;
}

/** Store channels: what a submitted proof of purchase must match. */
export interface ReceiptContext {
  orderId: string;
  amount: Money;
  /** The item's product id in this store; a proof for another product is never delivered. */
  storeProductId?: string;
}

/** Operations a channel cannot do say so: this error, never a silent no-op. */
export class ChannelUnsupportedError extends Error {
  constructor(
    readonly channelType: ChannelType,
    readonly operation: string,
    why: string,
  ) {
    super(`${channelType} does not support ${operation}: ${why}`);
  }
}

/**
 * A store sweep's question: what the store reports of [start, end) — Apple: the notifications it sent
 * (FAILURES: only those never answered 2xx; ALL: every one), Google: the purchases it voided (VOIDED).
 */
export type SweepPass = 'FAILURES' | 'ALL' | 'VOIDED';

export interface SweepRequest {
  pass: SweepPass;
  start: Date;
  end: Date;
  /** The store's cursor for the next page of this same window (absent: the first page). */
  page?: string;
  /**
   * The order we already know holds this store transaction (its payment reached us), if any: the
   * adapter asks the store for a purchase's order only for the others (Google's quota is shared).
   */
  knownOrder?: (channelTradeNo: string) => Promise<string | undefined>;
}

/** One thing a store sweep found, read exactly as its live notification would have been. */
export interface SweptRecord {
  /** The events and notice it reports; absent when it did not verify (`rejected` says why). */
  notification?: VerifiedNotification;
  rejected?: string;
  /** Kept as the notification's body: what the store would have sent. */
  rawBody: string;
  /** When the store first tried to tell us (Apple: the first attemptDate; Google: voidedTimeMillis), ISO 8601. */
  firstTriedAt?: string;
}

export interface SweepPage {
  records: SweptRecord[];
  /** The cursor of the next page; absent on the last one. */
  nextPage?: string;
}

/** One adapter per channel account, behind this interface. */
export interface ChannelAdapter {
  readonly channelId: string;
  readonly type: ChannelType;
  /** Which optional flows this channel has (the others throw ChannelUnsupportedError). */
  readonly supports: {
    close: boolean;
    refund: boolean;
    queryRefund: boolean;
    statement: boolean;
    receipts: boolean;
  };
  createPayment(request: CreatePaymentRequest): Promise<CreatedPayment>;
  /** Authenticates a notification (signature, merchant, freshness) and normalizes what it reports. */
  verifyNotification(callback: InboundCallback): Promise<VerifiedNotification>;
  /** The answer the channel expects for a notification we accepted. */
  acknowledgement(): CallbackAck;
  queryPayment(ref: PaymentRef): Promise<PaymentQueryResult>;
  /** Closes an unpaid payment; reports when the payer already paid. Idempotent. */
  closePayment(ref: PaymentRef): Promise<CloseOutcome>;
  /** Idempotent by refundId. */
  refund(request: RefundRequest): Promise<RefundResult>;
  queryRefund(request: { refundId: string; payment: PaymentRef }): Promise<RefundQueryResult>;
  /** The channel's statement of one day (its own calendar day, `YYYY-MM-DD`), row by row. */
  fetchStatement(date: string): AsyncIterable<StatementRow>;
  /** Store channels: verifies a proof of purchase the game server submits for an order. */
  verifyReceipt(receipt: Record<string, unknown>, context: ReceiptContext): Promise<ChannelEvent>;
  /** Store channels: tells the store the goods were delivered (Google: consume or acknowledge). */
  confirmDelivery(ref: PaymentRef): Promise<void>;
  /**
   * Store channels with a history API: one page of a sweep (see SweepRequest), of the passes `sweep`
   * names; a channel without either has no sweep.
   */
  sweepPage?(request: SweepRequest): Promise<SweepPage>;
  /** The sweep passes this channel answers, and how many days back its history reaches. */
  readonly sweep?: { passes: readonly SweepPass[]; maxLookbackDays: number };
  /** Stores that ask before a refund (Apple): what the player got of a transaction. Idempotent at the store. */
  sendConsumptionInformation?(transactionId: string, body: ConsumptionInformation): Promise<void>;
}

/** A channel account as configuration holds it (credentials decrypted, validated for its type). */
export interface ChannelAccount<C = unknown> {
  channelId: string;
  type: ChannelType;
  credentials: C;
}

/** What every adapter may use; nothing else (no database, no Temporal). */
export interface ChannelDeps {
  http: ChannelHttp;
  /** Where this account's notifications arrive: `<PUBLIC_BASE_URL>/v1/callbacks/<channelId>`. */
  callbackUrl: string;
  /** The platform's public base URL (the sandbox provider lives under it). */
  publicBaseUrl: string;
  now?: () => Date;
}

/** A channel type: how its credentials look and how an adapter is made for one account. */
export interface ChannelDefinition<C = unknown> {
  type: ChannelType;
  /** Validates the write-only credentials of an account of this type (field names are the contract). */
  credentials: z.ZodType<C>;
  createAdapter(account: ChannelAccount<C>, deps: ChannelDeps): ChannelAdapter;
}
