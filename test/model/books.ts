import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { PurchaseStubActivities } from '../workflows/stub-activities';
import { isBalanced, ledgerEventId, postingsFor, type LedgerEventKind, type MoneyStage, type Posting } from '../../domain/ledger/events';
import type { Money } from '../../domain/money';
import { canTransition, type OrderStatus } from '../../domain/orders/status';
import type { ChannelReversal, PaymentNotification } from '../../workflows/contract';
import type { GameServerMode, Setup } from './purchase-model';

/**
 * Level 1's system under the workflow: one order's books in memory (its row, its history, its journal
 * built with `postingsFor`, idempotent by event id and deliveryId as the store is), a stub channel and
 * a stub game server, both driven by the model's setup and commands.
 */
export class OrderBooks {
  status?: OrderStatus;
  reason?: string;
  readonly history: { status: OrderStatus; reason?: string }[] = [];
  /** Where the order's money sits, for the stage a reversal takes it from. */
  stage?: MoneyStage;
  paid?: Money;
  /** What the channel's partial refunds returned (the order still holds `paid` less this). */
  returnedPartially = 0;
  readonly journal = new Map<string, Posting[]>();
  /** Transitions the books refused (the store's `canTransition` guard): any one is a bug. */
  readonly refusedTransitions: string[] = [];
  readonly notifications = new Set<string>();
  deliveryId?: string;
  /** When the last delivery started and the order was held for risk review: the workflow's deadlines follow. */
  deliveryStartedAt?: number;
  riskReviewStartedAt?: number;
  revocationId?: string;
  readonly revocationsSent: string[] = [];
  /** Commit-then-crash: every activity's first attempt of this order loses its result after the call (see loseFirstResults). */
  losesFirstResults = false;
  /** The activities whose result was lost, for the failure's report. */
  readonly lostResults: string[] = [];

  readonly channel = {
    /** Money the payer paid at the channel, each payment once. */
    captured: [] as Money[],
    /** Money the channel returned: our refunds (by refund id) and its own reversals. */
    refunds: new Map<string, Money>(),
    /** The payment the channel holds, told to us or not: its query finds it, and its close answers ALREADY_PAID. */
    held: undefined as PaymentNotification | undefined,
  };

  readonly gameServer = {
    mode: 'OK' as GameServerMode,
    /** The goods given, one line per grant (a deliveryId granted twice is a bug). */
    grants: [] as string[],
  };

  constructor(
    readonly orderId: string,
    readonly gameId: string,
    readonly setup: Setup,
    private readonly deliveryAttemptTimeoutMs: number,
  ) {}

  private move(to: OrderStatus, reason?: string) {
    if (this.status !== undefined && !canTransition(this.status, to)) {
      this.refusedTransitions.push(`${this.status} → ${to}`);
      throw ApplicationFailure.nonRetryable(`illegal transition ${this.status} → ${to}`, 'ILLEGAL_TRANSITION');
    }
    this.status = to;
    this.reason = reason;
    this.history.push({ status: to, reason });
  }

  private book(id: string, kind: LedgerEventKind, amount: Money, stage?: MoneyStage) {
    if (this.journal.has(id)) return;
    this.journal.set(id, postingsFor({ kind, amount, stage, channel: 'model', gameId: this.gameId }));
  }

  /** Each entry balances, and so does the whole journal, per currency. */
  ledgerViolations(): string[] {
    const violations = [...this.journal].filter(([, postings]) => !isBalanced(postings)).map(([id]) => `entry ${id} unbalanced`);
    if (!isBalanced([...this.journal.values()].flat())) violations.push('journal unbalanced');
    return violations;
  }

  /** The balance of one account kind (debit positive) over the journal. */
  balance(accountPrefix: string): number {
    return [...this.journal.values()].flat().filter((p) => p.account.startsWith(accountPrefix)).reduce((sum, p) => sum + p.amount, 0);
  }

  /** What the order still holds of its payment (the store's channel clearing of the order). */
  holds(): Money | undefined {
    return this.paid && { ...this.paid, value: this.paid.value - this.returnedPartially };
  }

  // ---- what the activities do, in memory -------------------------------------------------------

  /** The intake's booking of a channel's partial refund: the order's status is left alone. */
  partialRefund(key: string, amount: Money) {
    const id = ledgerEventId.channelRefund('model', key);
    if (this.journal.has(id)) return;
    this.book(id, 'CHANNEL_REFUND', amount, this.stage);
    this.returnedPartially += amount.value;
  }

  open(rejection?: string): { status: 'PENDING_PAYMENT' | 'REJECTED'; reason?: string } {
    if (this.status !== undefined) return { status: this.status as 'PENDING_PAYMENT' | 'REJECTED', reason: this.reason };
    const reason = rejection ?? (this.setup.inStock ? undefined : 'OUT_OF_STOCK');
    this.status = reason ? 'REJECTED' : 'PENDING_PAYMENT';
    this.reason = reason;
    this.history.push({ status: this.status, reason });
    return { status: this.status, reason };
  }

  settle(kind: 'PAID' | 'MANUAL_REVIEW' | 'RISK_REVIEW', notification: PaymentNotification, reason?: string) {
    if (this.status === kind) return;
    this.paid = notification.paid;
    const amount = notification.paid!;
    if (kind === 'PAID') {
      this.book(ledgerEventId.captured(this.orderId), 'PAYMENT_CAPTURED', amount);
      this.stage = 'DEFERRED';
    } else {
      this.book(ledgerEventId.held(this.orderId), 'PAYMENT_HELD', amount);
      this.stage = 'SUSPENSE';
    }
    this.move(kind, reason);
    if (kind === 'RISK_REVIEW') this.riskReviewStartedAt = Date.now();
  }

  /** Money for the closed order that the channel will not return: booked as held, for a person. */
  holdLate(notification: PaymentNotification) {
    if (this.status !== 'CLOSED') return;
    this.paid = notification.paid;
    this.book(ledgerEventId.held(this.orderId), 'PAYMENT_HELD', notification.paid!);
    this.stage = 'SUSPENSE';
    this.move('MANUAL_REVIEW', 'LATE_PAYMENT');
  }

  close(reason: string) {
    if (this.status !== 'CLOSED') this.move('CLOSED', reason);
  }

  startDelivery(): string {
    this.deliveryId ??= `dlv_${this.orderId}`;
    if (this.status === 'DELIVERING') return this.deliveryId;
    if (this.stage === 'SUSPENSE') this.book(ledgerEventId.released(this.orderId), 'REVIEW_RELEASED', this.holds()!);
    this.stage = 'DEFERRED';
    this.move('DELIVERING');
    this.deliveryStartedAt = Date.now();
    return this.deliveryId;
  }

  delivered() {
    if (this.status === 'DELIVERED') return;
    this.book(ledgerEventId.delivered(this.orderId), 'GOODS_DELIVERED', this.holds()!);
    this.stage = 'EARNED';
    this.move('DELIVERED');
  }

  refund(reason: string, late?: PaymentNotification): 'REFUNDED' | 'ALREADY_DELIVERED' {
    if (this.status === 'REFUNDED') return 'REFUNDED';
    if (this.status === 'DELIVERED') return 'ALREADY_DELIVERED';
    const paid = late?.paid ?? this.holds();
    if (!paid) throw ApplicationFailure.nonRetryable('no payment to refund', 'NOTHING_TO_REFUND');
    if (!this.setup.refundable) throw ApplicationFailure.nonRetryable('the channel cannot refund', 'REFUND_REFUSED');
    this.channel.refunds.set(`rf_${this.orderId}`, paid);
    if (late) {
      this.paid = paid;
      this.book(ledgerEventId.lateReceived(this.orderId), 'LATE_PAYMENT_RECEIVED', paid);
      this.stage = 'SUSPENSE';
    }
    this.book(ledgerEventId.refunded(this.orderId), 'REFUND', paid, this.stage);
    this.move('REFUNDED', reason);
    return 'REFUNDED';
  }

  reverse(reversal: ChannelReversal): { status?: OrderStatus; reason?: string; revocationId?: string } {
    if (this.status === 'REFUNDED' || this.status === 'CHARGED_BACK') {
      return { status: this.status, reason: this.reason, ...(this.revocationId && { revocationId: this.revocationId }) };
    }
    const to: OrderStatus = reversal.cause === 'CHARGEBACK' ? 'CHARGED_BACK' : 'REFUNDED';
    if (!this.status || !canTransition(this.status, to) || !this.paid) return {};
    const delivered = this.status === 'DELIVERED';
    const delivering = this.status === 'DELIVERING';
    const returned = reversal.amount ?? this.holds()!;
    if (reversal.cause === 'OPS_REFUND') this.book(ledgerEventId.refunded(this.orderId), 'REFUND', returned, this.stage);
    else if (reversal.cause === 'CHARGEBACK') this.book(ledgerEventId.chargeback('model', reversal.dedupeKey), 'CHARGEBACK', returned, this.stage);
    else this.book(ledgerEventId.channelRefund('model', reversal.dedupeKey), 'CHANNEL_REFUND', returned, this.stage);
    const reason = reversal.cause === 'OPS_REFUND' ? 'OPS_REFUND' : reversal.cause;
    this.move(to, reason);
    // As the store: an attempt in flight while delivering may still reach the game.
    if ((delivered || delivering) && reversal.revoke) this.revocationId = `rv_${this.orderId}`;
    return { status: to, reason, ...(this.revocationId && { revocationId: this.revocationId }) };
  }

  /** One delivery attempt at the stub game server, answering as its mode says; idempotent by deliveryId. */
  async attempt(deliveryId: string): Promise<void> {
    const granted = this.gameServer.grants.includes(deliveryId);
    switch (this.gameServer.mode) {
      case 'OK':
        if (!granted) this.gameServer.grants.push(deliveryId);
        return;
      case 'TAKES_AND_FAILS':
        if (!granted) this.gameServer.grants.push(deliveryId);
        throw ApplicationFailure.retryable('game server took the goods but answered 500', 'DELIVERY_FAILED');
      case 'HANGS':
        // The real activity gives up on an attempt after its timeout; a cancellation ends it sooner.
        await Context.current().sleep(this.deliveryAttemptTimeoutMs);
        throw ApplicationFailure.retryable('game server did not answer in time', 'DELIVERY_TIMEOUT');
      case 'FAILS':
        await Context.current().sleep(10);
        throw ApplicationFailure.retryable('game server answered 500', 'DELIVERY_FAILED');
    }
  }
}

export type StubActivities = PurchaseStubActivities;

/** The registry the worker's activities look the order's books up in (one worker serves every run). */
export const booksByOrder = new Map<string, OrderBooks>();
const booksOf = (orderId: string) => {
  const books = booksByOrder.get(orderId);
  if (!books) throw ApplicationFailure.nonRetryable(`no books for ${orderId}`, 'NO_BOOKS');
  return books;
};

export const stubActivities: StubActivities = {
  checkRisk: async ({ orderId }) => {
    const { risk } = booksOf(orderId!).setup;
    return risk === 'DENY' ? { decision: 'DENY', reasons: ['BLACKLISTED_USER'] } : { decision: risk, reasons: risk === 'REVIEW' ? ['AML_SINGLE'] : [] };
  },
  openOrder: async (p) => booksOf(p.orderId).open(p.rejection),
  createChannelPayment: async (p) => {
    const { channel } = booksOf(p.orderId).setup;
    if (channel === 'REFUSES') throw ApplicationFailure.nonRetryable('the channel refused', 'CHANNEL_REFUSED');
    if (channel === 'TIMES_OUT') throw ApplicationFailure.retryable('the channel timed out', 'TIMEOUT');
    return { channelPaymentId: `pay-${p.orderId}`, payment: { payUrl: `https://pay.example/${p.orderId}` } };
  },
  recordPaymentResult: async (p) => {
    booksOf(p.orderId).notifications.add(p.notification.notificationId);
  },
  markPaid: async (p) => booksOf(p.orderId).settle('PAID', p.notification),
  holdForReview: async (p) =>
    booksOf(p.orderId).settle('MANUAL_REVIEW', p.notification, p.notification.productMismatch ? 'PRODUCT_MISMATCH' : 'AMOUNT_MISMATCH'),
  holdForRiskReview: async (p) => booksOf(p.orderId).settle('RISK_REVIEW', p.notification),
  holdLatePayment: async (p) => booksOf(p.orderId).holdLate(p.notification),
  closeOrder: async (p) => booksOf(p.orderId).close(p.reason),
  startDelivery: async (p) => booksOf(p.orderId).startDelivery(),
  orderStatus: async (p) => ({ status: booksOf(p.orderId).status!, channel: 'model' }),
  closeChannelPayment: async (p) => (booksOf(p.orderId).channel.held ? 'ALREADY_PAID' : 'CLOSED'),
  refundOrder: async (p) => booksOf(p.orderId).refund(p.reason, p.latePayment),
  deliverOrder: async (p) => {
    const books = booksOf(p.orderId);
    await books.attempt(p.deliveryId);
    books.delivered();
    return undefined;
  },
  queryChannelPayment: async (p) => booksOf(p.orderId).channel.held,
  confirmChannelDelivery: async () => undefined,
  recordReversal: async (p) => booksOf(p.orderId).reverse(p.reversal),
  revokeGrants: async (p) => {
    booksOf(p.orderId).revocationsSent.push(p.revocationId);
    return 'REVOKED';
  },
  refundThroughChannel: async (p) => {
    const books = booksOf(p.orderId);
    if (!books.setup.refundable) throw ApplicationFailure.nonRetryable('the channel cannot refund through its API', 'REFUND_REFUSED');
    books.channel.refunds.set(`rf_${p.orderId}`, books.holds()!);
  },
  startMonthlyCard: async () => ({}),
  settleDeliveryAck: async () => undefined,
  closeBrokerDelivery: async () => ({}),
};

/**
 * Commit-then-crash: for an order whose books say so, each activity's first attempt runs for real and
 * then throws a retryable failure, as a worker that crashed after the call and before reporting it
 * would: the effect is kept, the result lost, and the retry must find the work done.
 */
export const loseFirstResults: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const result = await next(input);
      const orderId = (input.args[0] as { orderId?: string } | undefined)?.orderId;
      const books = orderId === undefined ? undefined : booksByOrder.get(orderId);
      if (books?.losesFirstResults && ctx.info.attempt === 1) {
        books.lostResults.push(ctx.info.activityType);
        throw ApplicationFailure.retryable(`the worker lost the result of ${ctx.info.activityType} after the call`, 'RESULT_LOST');
      }
      return result;
    },
  },
});
