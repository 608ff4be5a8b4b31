import {
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { OrderStatus } from '../../domain/orders/status';
import { WORKFLOW_OPS_ALLOWED } from '../../domain/orders/ops-actions';
import {
  FAILURE,
  OrderStatusKey,
  PaymentChannelKey,
  cancelOrderUpdate,
  channelReversalSignal,
  deliveryAckSignal,
  opsActionUpdate,
  orderSnapshotQuery,
  paymentNotifiedSignal,
  requestPaymentUpdate,
  type ChannelReversal,
  type DeliveryAck,
  type OpsRequest,
  type OrderSnapshot,
  type PaymentNotification,
  type PurchaseInput,
} from '../contract';

/** Which operator actions each status allows; anything else is refused before it reaches history. */
const OPS_ALLOWED: Record<OpsRequest['action'], readonly OrderStatus[]> = WORKFLOW_OPS_ALLOWED;

/**
 * What one order's workflow knows, and the handlers through which the outside world changes it:
 * the game's create and cancel calls (updates), the channel's payment results (a signal, at least
 * once, deduplicated here), operators' actions (an update) and the snapshot query.
 */
export class OrderState {
  status: OrderStatus = 'PENDING_PAYMENT';
  reason?: string;
  /** The channel's payment parameters for the payer, once the channel payment is open. */
  payment?: Record<string, unknown>;
  /** The create call may answer: the order is open (or was refused). */
  opened = false;
  /** Why the create call fails, when the order could not be opened at its channel. */
  openFailure?: string;
  cancelRequested = false;
  /** Risk decided REVIEW: once paid the exact amount, the order is held for an operator (RISK_REVIEW). */
  holdsForRiskReview = false;
  /** The delivery in progress, cancelled by an operator's retry or refund. */
  deliveryScope?: CancellationScope;
  readonly inbox: PaymentNotification[] = [];
  /** The game's ack of the broker delivery (the first; the API recorded it on the delivery row first). */
  ack?: DeliveryAck;
  /** The channel returned the money (first report wins; the order ends with it). */
  reversal?: ChannelReversal;
  private opsRequest?: OpsRequest;
  private readonly seenNotifications = new Set<string>();
  /** The account the order's payment is at: the router's choice until failover opens it elsewhere. */
  private paymentChannel: string;

  constructor(
    private readonly input: PurchaseInput,
    readonly expiresAtMs: number,
  ) {
    this.paymentChannel = input.channel;
  }

  get channel(): string {
    return this.paymentChannel;
  }

  /** Failover opened the payment at another account: every later step, and the search attribute, follow it. */
  switchChannel(channel: string) {
    if (channel === this.paymentChannel) return;
    this.paymentChannel = channel;
    upsertSearchAttributes([{ key: PaymentChannelKey, value: channel }]);
  }

  get expiresAt(): string {
    return new Date(this.expiresAtMs).toISOString();
  }

  snapshot(): OrderSnapshot {
    return {
      orderId: this.input.orderId,
      status: this.status,
      reason: this.reason,
      amount: this.input.amount,
      channel: this.channel,
      payment: this.payment,
      expiresAt: this.expiresAt,
    };
  }

  /** Records a status change: search attribute for the Temporal UI, one replay-safe log line. */
  enter(next: OrderStatus, why?: string) {
    this.status = next;
    this.reason = why;
    upsertSearchAttributes([{ key: OrderStatusKey, value: next }]);
    log.info('order status changed', { orderId: this.input.orderId, status: next, reason: why, requestId: this.input.requestId });
  }

  /** The operator's pending request, if any (read through a method: handlers set it while the workflow awaits). */
  pendingOps(): OpsRequest | undefined {
    return this.opsRequest;
  }

  clearOps() {
    this.opsRequest = undefined;
  }

  /** Answers the create call: the order is open (or refused, or its channel failed). */
  markOpened(failure?: string) {
    this.openFailure = failure;
    this.opened = true;
  }

  /** A payment result, from the channel's notification or from asking it: each one once. */
  receive(notification: PaymentNotification) {
    if (this.seenNotifications.has(notification.notificationId)) return;
    this.seenNotifications.add(notification.notificationId);
    this.inbox.push(notification);
  }

  lateSuccess(): PaymentNotification | undefined {
    return this.inbox.find((n) => n.result === 'SUCCESS');
  }

  installHandlers() {
    setHandler(orderSnapshotQuery, () => this.snapshot());
    setHandler(
      requestPaymentUpdate,
      async () => {
        await condition(() => this.opened);
        if (this.openFailure) throw ApplicationFailure.nonRetryable('the payment channel is unavailable', this.openFailure);
        return this.snapshot();
      },
      {
        validator: (requestHash) => {
          if (requestHash !== this.input.requestHash) {
            throw ApplicationFailure.nonRetryable(
              'this idempotency key was used for a different request',
              FAILURE.idempotencyConflict,
            );
          }
        },
      },
    );
    setHandler(
      cancelOrderUpdate,
      async () => {
        this.cancelRequested = true;
        await condition(() => this.status !== 'PENDING_PAYMENT');
        if (this.status !== 'CLOSED') throw notCancellable(this.status);
        return this.snapshot();
      },
      {
        validator: () => {
          if (!this.opened || this.status !== 'PENDING_PAYMENT') throw notCancellable(this.status);
        },
      },
    );
    setHandler(
      opsActionUpdate,
      (request) => {
        this.opsRequest = request;
        if (request.action !== 'DELIVER') this.deliveryScope?.cancel();
        return this.snapshot();
      },
      {
        validator: (request: OpsRequest) => {
          if (!OPS_ALLOWED[request.action].includes(this.status)) {
            throw ApplicationFailure.nonRetryable(
              `${request.action} is not allowed for an order in status ${this.status}`,
              FAILURE.opsActionRefused,
            );
          }
          if ((request.action === 'REFUND' || request.action === 'RISK_DENY') && this.input.refundable === false) {
            throw ApplicationFailure.nonRetryable(
              `${this.channel} cannot refund through its API (the store refunds at the player's request)`,
              FAILURE.opsActionRefused,
            );
          }
        },
      },
    );
    setHandler(paymentNotifiedSignal, (notification) => this.receive(notification));
    setHandler(deliveryAckSignal, (ack) => {
      this.ack ??= ack;
    });
    setHandler(channelReversalSignal, (reversal) => {
      if (this.reversal) return;
      this.reversal = reversal;
      // A delivery in progress stops: the money is gone (goods already taken are taken back after).
      this.deliveryScope?.cancel();
    });
  }
}

function notCancellable(status: OrderStatus) {
  return ApplicationFailure.nonRetryable(`an order in status ${status} cannot be cancelled`, FAILURE.notCancellable);
}
