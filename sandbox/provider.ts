import { randomBytes } from 'node:crypto';
import { CURRENCY_PATTERN, MAX_ORDER_AMOUNT, type Money } from '../domain/money';
import type { Database } from '../infra/db';
import {
  closePayable,
  completePayment,
  findPayment,
  findPaymentOfMerchantOrder,
  findRefund,
  insertPayment,
  refundLocked,
  type SandboxPayment,
} from '../store/sandbox';
import { serializeNotification, type SandboxNotificationBody } from '../channels/sandbox/wire';

/** CREATED and FAILED are payable; PAID, CLOSED and REFUNDED are not. */
export type SandboxPaymentStatus = 'CREATED' | 'FAILED' | 'PAID' | 'CLOSED' | 'REFUNDED';

export type SandboxErrorCode =
  | 'INVALID_REQUEST'
  | 'PAYMENT_NOT_FOUND'
  | 'PAYMENT_NOT_PAYABLE'
  | 'MERCHANT_ORDER_CONFLICT'
  | 'REFUND_NOT_ALLOWED'
  | 'REFUND_AMOUNT_MISMATCH'
  | 'REFUND_CONFLICT'
  | 'REFUND_NOT_FOUND';

/** A request the sandbox provider refuses, as a real provider would answer with an error code. */
export class SandboxError extends Error {
  constructor(
    readonly code: SandboxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxError';
  }
}

export interface CreateSandboxPayment {
  merchantOrderId: string;
  amount: Money;
  subject: string;
  notifyUrl: string;
  /** The merchant account's share of payments to decline (fault injection). */
  declineRate?: number;
}

export interface CompleteSandboxPayment {
  result: 'SUCCESS' | 'FAILED';
  /** What the payer actually paid; defaults to the payment amount (lets demos under/overpay). */
  paidAmount?: number;
  /** How many copies of the notification to send, to exercise duplicate handling. */
  notifyTimes?: number;
  /** Holds the notification back, as a slow channel does: the payment is made now, reported later. */
  notifyDelayMs?: number;
}

export interface SandboxRefundRequest {
  refundId: string;
  paymentId: string;
  amount: Money;
}

export const MAX_NOTIFY_TIMES = 20;
const PAYABLE: readonly string[] = ['CREATED', 'FAILED'] satisfies SandboxPaymentStatus[];

const randomId = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
/** Deterministic, so a retried refund names the same sandbox refund row. */
export const sandboxRefundIdFor = (refundId: string) => `sbxrf_${refundId}`;

const isAmount = (v: number, min: number) => Number.isSafeInteger(v) && v >= min && v <= MAX_ORDER_AMOUNT;

/** The sandbox provider: a payment service with its own books, reached over HTTP like a real one. */
export class SandboxProvider {
  constructor(private readonly database: Database) {}

  /** Idempotent per merchant order: the same order always gets the same payment. */
  async createPayment(input: CreateSandboxPayment): Promise<SandboxPayment> {
    if (!input.merchantOrderId) throw new SandboxError('INVALID_REQUEST', 'merchantOrderId is required');
    if (!CURRENCY_PATTERN.test(input.amount.currency) || !isAmount(input.amount.value, 1)) {
      throw new SandboxError('INVALID_REQUEST', `invalid amount ${input.amount.value} ${input.amount.currency}`);
    }
    if (!/^https?:\/\//.test(input.notifyUrl) || !URL.canParse(input.notifyUrl)) {
      throw new SandboxError('INVALID_REQUEST', `invalid notifyUrl ${input.notifyUrl}`);
    }
    const { payment, created } = await insertPayment(this.database.db, {
      id: randomId('sbx'),
      merchantOrderId: input.merchantOrderId,
      amount: input.amount.value,
      currency: input.amount.currency,
      subject: input.subject,
      notifyUrl: input.notifyUrl,
      declineRate: input.declineRate,
    });
    // This order already had a payment (a retry, or a concurrent create won): answer with it.
    return created ? payment : sameOrder(payment, input);
  }

  getPayment(id: string): Promise<SandboxPayment | null> {
    return findPayment(this.database.db, id);
  }

  getPaymentOfMerchantOrder(merchantOrderId: string): Promise<SandboxPayment | null> {
    return findPaymentOfMerchantOrder(this.database.db, merchantOrderId);
  }

  /** The payer's action on the checkout page: pays (or fails) the payment and queues its notifications. */
  async completePayment(id: string, input: CompleteSandboxPayment): Promise<SandboxPayment> {
    const notifyTimes = input.notifyTimes ?? 1;
    if (!Number.isInteger(notifyTimes) || notifyTimes < 1 || notifyTimes > MAX_NOTIFY_TIMES) {
      throw new SandboxError('INVALID_REQUEST', `notifyTimes must be an integer in 1..${MAX_NOTIFY_TIMES}`);
    }
    if (input.notifyDelayMs !== undefined && !(Number.isInteger(input.notifyDelayMs) && input.notifyDelayMs >= 0)) {
      throw new SandboxError('INVALID_REQUEST', `invalid notifyDelayMs ${input.notifyDelayMs}`);
    }
    if (input.paidAmount !== undefined && !isAmount(input.paidAmount, 0)) {
      throw new SandboxError('INVALID_REQUEST', `invalid paidAmount ${input.paidAmount}`);
    }
    const payment = await this.getPayment(id);
    if (!payment) throw new SandboxError('PAYMENT_NOT_FOUND', `no sandbox payment ${id}`);
    // An account set to decline a share of its payments turns that share of payers away.
    const success = input.result === 'SUCCESS' && !(payment.declineRate > 0 && Math.random() < payment.declineRate);
    const now = new Date();
    const txnId = success ? randomId('sbxtxn') : null;
    const paidAmount = success ? (input.paidAmount ?? payment.amount) : null;
    const body = serializeNotification({
      notifyId: randomId('ntf'),
      event: 'PAYMENT_RESULT',
      paymentId: payment.id,
      merchantOrderId: payment.merchantOrderId,
      result: success ? 'SUCCESS' : 'FAILED',
      txnId: txnId ?? undefined,
      amount: paidAmount ?? payment.amount,
      currency: payment.currency,
      paidAt: success ? now.toISOString() : undefined,
    } satisfies SandboxNotificationBody);
    const status: SandboxPaymentStatus = success ? 'PAID' : 'FAILED';
    const completed = await completePayment(this.database.sql, {
      id,
      payable: PAYABLE,
      status,
      txnId,
      paidAmount,
      paidAt: success ? now : null,
      now,
      body,
      copies: notifyTimes,
      notifyAt: new Date(now.getTime() + (input.notifyDelayMs ?? 0)),
    });
    if (!completed) {
      const current = await this.getPayment(id);
      throw new SandboxError('PAYMENT_NOT_PAYABLE', `payment ${id} is ${current?.status}`);
    }
    return {
      ...payment,
      status,
      txnId: txnId ?? payment.txnId,
      paidAmount: paidAmount ?? payment.paidAmount,
      paidAt: success ? now : payment.paidAt,
      updatedAt: now,
    };
  }

  /** Idempotent; reports ALREADY_PAID when the payer paid first, like real channels do. */
  async closePayment(id: string): Promise<'CLOSED' | 'ALREADY_PAID'> {
    // Conditional update: a payment paid concurrently is never closed over.
    if (await closePayable(this.database.db, id, PAYABLE)) return 'CLOSED';
    const payment = await this.getPayment(id);
    if (!payment) throw new SandboxError('PAYMENT_NOT_FOUND', `no sandbox payment ${id}`);
    return payment.status === 'CLOSED' ? 'CLOSED' : 'ALREADY_PAID';
  }

  /** Full refunds only; idempotent by refundId. */
  async refund(input: SandboxRefundRequest): Promise<{ channelRefundId: string }> {
    const channelRefundId = sandboxRefundIdFor(input.refundId);
    const payment = await refundLocked(this.database, input.paymentId, channelRefundId, (payment, existing) => {
      if (existing) {
        if (existing.paymentId !== payment.id || existing.amount !== input.amount.value) {
          throw new SandboxError('REFUND_CONFLICT', `refund ${input.refundId} was made for another payment or amount`);
        }
        return null;
      }
      if (payment.status !== 'PAID') {
        throw new SandboxError('REFUND_NOT_ALLOWED', `payment ${payment.id} is ${payment.status}`);
      }
      const paid = payment.paidAmount ?? payment.amount;
      if (input.amount.currency !== payment.currency || input.amount.value !== paid) {
        throw new SandboxError(
          'REFUND_AMOUNT_MISMATCH',
          `only full refunds: paid ${paid} ${payment.currency}, asked ${input.amount.value} ${input.amount.currency}`,
        );
      }
      return { amount: paid, currency: payment.currency };
    });
    if (!payment) throw new SandboxError('PAYMENT_NOT_FOUND', `no sandbox payment ${input.paymentId}`);
    return { channelRefundId };
  }

  /** A refund by our refund id (the merchant's), as the channel's refund query answers it. */
  async getRefund(refundId: string) {
    return findRefund(this.database.db, sandboxRefundIdFor(refundId));
  }
}

function sameOrder(payment: SandboxPayment, input: CreateSandboxPayment): SandboxPayment {
  if (payment.amount !== input.amount.value || payment.currency !== input.amount.currency) {
    throw new SandboxError(
      'MERCHANT_ORDER_CONFLICT',
      `order ${input.merchantOrderId} already has a payment of ${payment.amount} ${payment.currency}`,
    );
  }
  return payment;
}
