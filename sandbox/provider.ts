import { randomBytes } from 'node:crypto';
import { CURRENCY_PATTERN, MAX_ORDER_AMOUNT, type Money } from '../domain/money';
import { Prisma, type SandboxPayment } from '../generated/prisma/client';
import type { Db } from '../infra/db';
import { serializeNotification, type SandboxNotificationBody } from './signing';

/** CREATED and FAILED are payable; PAID, CLOSED and REFUNDED are not. */
export type SandboxPaymentStatus = 'CREATED' | 'FAILED' | 'PAID' | 'CLOSED' | 'REFUNDED';

export type SandboxErrorCode =
  | 'INVALID_REQUEST'
  | 'PAYMENT_NOT_FOUND'
  | 'PAYMENT_NOT_PAYABLE'
  | 'MERCHANT_ORDER_CONFLICT'
  | 'REFUND_NOT_ALLOWED'
  | 'REFUND_AMOUNT_MISMATCH'
  | 'REFUND_CONFLICT';

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

/** The sandbox provider's own books (sandbox_* tables), kept apart from the platform's. */
export class SandboxProvider {
  constructor(private readonly db: Db) {}

  /** Idempotent per merchant order: the same order always gets the same payment. */
  async createPayment(input: CreateSandboxPayment): Promise<SandboxPayment> {
    if (!input.merchantOrderId) throw new SandboxError('INVALID_REQUEST', 'merchantOrderId is required');
    if (!CURRENCY_PATTERN.test(input.amount.currency) || !isAmount(input.amount.value, 1)) {
      throw new SandboxError('INVALID_REQUEST', `invalid amount ${input.amount.value} ${input.amount.currency}`);
    }
    if (!/^https?:\/\//.test(input.notifyUrl) || !URL.canParse(input.notifyUrl)) {
      throw new SandboxError('INVALID_REQUEST', `invalid notifyUrl ${input.notifyUrl}`);
    }
    try {
      return await this.db.sandboxPayment.create({
        data: {
          id: randomId('sbx'),
          merchantOrderId: input.merchantOrderId,
          amount: input.amount.value,
          currency: input.amount.currency,
          subject: input.subject,
          notifyUrl: input.notifyUrl,
          status: 'CREATED' satisfies SandboxPaymentStatus,
        },
      });
    } catch (err) {
      // This order already has a payment (a retry, or a concurrent create won): answer with it.
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        const winner = await this.db.sandboxPayment.findUniqueOrThrow({
          where: { merchantOrderId: input.merchantOrderId },
        });
        return sameOrder(winner, input);
      }
      throw err;
    }
  }

  getPayment(id: string): Promise<SandboxPayment | null> {
    return this.db.sandboxPayment.findUnique({ where: { id } });
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
    const payment = await this.db.sandboxPayment.findUnique({ where: { id } });
    if (!payment) throw new SandboxError('PAYMENT_NOT_FOUND', `no sandbox payment ${id}`);
    const success = input.result === 'SUCCESS';
    const now = new Date();
    const txnId = success ? randomId('sbxtxn') : null;
    const paidAmount = success ? (input.paidAmount ?? payment.amount) : null;
    const body = serializeNotification({
      notifyId: randomId('ntf'),
      event: 'PAYMENT_RESULT',
      paymentId: payment.id,
      merchantOrderId: payment.merchantOrderId,
      result: input.result,
      txnId: txnId ?? undefined,
      amount: paidAmount ?? payment.amount,
      currency: payment.currency,
      paidAt: success ? now.toISOString() : undefined,
    } satisfies SandboxNotificationBody);
    const status: SandboxPaymentStatus = success ? 'PAID' : 'FAILED';
    // The conditional update decides: of concurrent completes of one payment, at most one pays.
    // Its notifications are written in the same statement, so a payment is never made unreported.
    const updated = await this.db.$queryRaw<{ id: string }[]>`
      WITH completed AS (
        UPDATE sandbox_payments
           SET status = ${status}::text, txn_id = coalesce(${txnId}::text, txn_id),
               paid_amount = coalesce(${paidAmount}::int, paid_amount),
               paid_at = coalesce(${success ? now : null}::timestamp, paid_at), updated_at = ${now}::timestamp
         WHERE id = ${id}::text AND status = ANY(${[...PAYABLE]}::text[])
        RETURNING id, notify_url
      ), outbox AS (
        INSERT INTO sandbox_notifications (payment_id, notify_url, body, next_attempt_at)
        SELECT c.id, c.notify_url, ${body}::text, ${new Date(now.getTime() + (input.notifyDelayMs ?? 0))}::timestamp
        FROM completed c, generate_series(1, ${notifyTimes}::int)
      )
      SELECT id FROM completed`;
    if (updated.length === 0) {
      const current = await this.db.sandboxPayment.findUniqueOrThrow({ where: { id }, select: { status: true } });
      throw new SandboxError('PAYMENT_NOT_PAYABLE', `payment ${id} is ${current.status}`);
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
    const { count } = await this.db.sandboxPayment.updateMany({
      where: { id, status: { in: [...PAYABLE] } },
      data: { status: 'CLOSED' satisfies SandboxPaymentStatus },
    });
    if (count === 1) return 'CLOSED';
    const payment = await this.db.sandboxPayment.findUnique({ where: { id }, select: { status: true } });
    if (!payment) throw new SandboxError('PAYMENT_NOT_FOUND', `no sandbox payment ${id}`);
    return payment.status === 'CLOSED' ? 'CLOSED' : 'ALREADY_PAID';
  }

  /** Full refunds only; idempotent by refundId. */
  async refund(input: SandboxRefundRequest): Promise<{ channelRefundId: string }> {
    const channelRefundId = sandboxRefundIdFor(input.refundId);
    return this.db.$transaction(async (tx) => {
      const payment = await lockPayment(tx, input.paymentId);
      const existing = await tx.sandboxRefund.findUnique({ where: { id: channelRefundId } });
      if (existing) {
        if (existing.paymentId !== payment.id || existing.amount !== input.amount.value) {
          throw new SandboxError('REFUND_CONFLICT', `refund ${input.refundId} was made for another payment or amount`);
        }
        return { channelRefundId };
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
      await tx.sandboxRefund.create({
        data: { id: channelRefundId, paymentId: payment.id, amount: paid, currency: payment.currency },
      });
      await tx.sandboxPayment.update({
        where: { id: payment.id },
        data: { status: 'REFUNDED' satisfies SandboxPaymentStatus },
      });
      return { channelRefundId };
    });
  }
}

async function lockPayment(tx: Prisma.TransactionClient, id: string): Promise<SandboxPayment> {
  const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM sandbox_payments WHERE id = ${id} FOR UPDATE`;
  if (locked.length === 0) throw new SandboxError('PAYMENT_NOT_FOUND', `no sandbox payment ${id}`);
  return tx.sandboxPayment.findUniqueOrThrow({ where: { id } });
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
