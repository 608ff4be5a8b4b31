import type { Money } from '../domain/money';

/** What the platform asks a channel to collect for one order. */
export interface CreatePaymentRequest {
  orderId: string;
  amount: Money;
  subject: string;
  /** Where the channel must send its asynchronous notifications. */
  notifyUrl: string;
  expiresAt: Date;
}

export interface CreatedPayment {
  /** The channel's own id of the payment; notifications name it. */
  channelPaymentId: string;
  /** Channel-specific parameters the game client needs to pay (URLs, order strings, ...). */
  payment: Record<string, unknown>;
}

export type CloseOutcome = 'CLOSED' | 'ALREADY_PAID';

export interface RefundRequest {
  /** Our refund id; channels deduplicate refunds by it. */
  refundId: string;
  channelPaymentId: string;
  amount: Money;
  reason: string;
}

/** A payment result reported by a channel, after its signature was verified. */
export interface PaymentNotification {
  /** Stable across the channel's retries of the same notification. */
  notificationId: string;
  channelPaymentId: string;
  merchantOrderId: string;
  result: 'SUCCESS' | 'FAILED';
  channelTxnId?: string;
  /** What was actually paid (may differ from the order: never trust it blindly). */
  paid?: Money;
  paidAt?: string;
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

/** Thrown by verifyCallback for anything that is not an authentic notification. */
export class CallbackRejectedError extends Error {
  constructor(
    readonly code: 'INVALID_SIGNATURE' | 'MALFORMED_NOTIFICATION' | 'STALE_NOTIFICATION',
    message: string,
  ) {
    super(message);
  }
}

/** One adapter per payment channel, behind this interface. */
export interface ChannelAdapter {
  readonly name: string;
  createPayment(request: CreatePaymentRequest): Promise<CreatedPayment>;
  /** Closes an unpaid payment; reports when the payer already paid. Idempotent. */
  closePayment(channelPaymentId: string): Promise<CloseOutcome>;
  /** Refunds in full; idempotent by refundId. */
  refund(request: RefundRequest): Promise<{ channelRefundId: string }>;
  verifyCallback(callback: InboundCallback): Promise<PaymentNotification>;
  acknowledgement(): CallbackAck;
}
