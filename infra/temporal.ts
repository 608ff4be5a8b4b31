import {
  Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { latePaymentWorkflowId, purchaseWorkflowId, reversalWorkflowId } from '../domain/ids';
import {
  GameIdKey,
  OrderStatusKey,
  PaymentChannelKey,
  UserIdKey,
  cancelOrderUpdate,
  channelReversalSignal,
  deliveryAckSignal,
  opsActionUpdate,
  paymentNotifiedSignal,
  requestPaymentUpdate,
  CONSUMPTION,
  revocationAckSignal,
  type ChannelReversal,
  type ConsumptionRequestInput,
  type RevocationAck,
  type DeliveryAck,
  type OpsRequest,
  type OrderSnapshot,
  type PaymentNotification,
  type PurchaseInput,
  type PurchaseTiming,
} from '../workflows/contract';


/** The business failure a workflow update reported (its ApplicationFailure type), if any. */
export class PurchaseRefusedError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** A typed client for the purchase workflows: the only way the API talks to Temporal. */
export class PurchasesClient {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    /** How long a caller waits for a workflow to answer (e.g. when no worker is running). */
    private readonly answerTimeoutMs: number,
  ) {}

  /**
   * Starts the order's workflow (or joins the one already running for this idempotency key) and
   * returns its payment parameters in the same round trip. Returns undefined when the workflow
   * already finished: the caller then reads the order from the database.
   */
  async startPurchase(input: PurchaseInput): Promise<OrderSnapshot | undefined> {
    const startWorkflowOperation = new WithStartWorkflowOperation('purchase', {
      workflowId: purchaseWorkflowId(input.orderId),
      taskQueue: this.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A finished order is never restarted by a retried request.
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: OrderStatusKey, value: 'PENDING_PAYMENT' },
        { key: GameIdKey, value: input.gameId },
        { key: UserIdKey, value: input.userId },
        { key: PaymentChannelKey, value: input.channel },
      ],
    });
    try {
      return await this.client.withDeadline(Date.now() + this.answerTimeoutMs, () =>
        this.client.workflow.executeUpdateWithStart(requestPaymentUpdate, {
          args: [input.requestHash],
          startWorkflowOperation,
        }),
      );
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
      throw refusal(err);
    }
  }

  async cancel(orderId: string): Promise<OrderSnapshot> {
    try {
      return await this.client.withDeadline(Date.now() + this.answerTimeoutMs, () =>
        this.client.workflow.getHandle(purchaseWorkflowId(orderId)).executeUpdate(cancelOrderUpdate),
      );
    } catch (err) {
      throw refusal(err);
    }
  }

  /** An operator's action; refused (PurchaseRefusedError) when the order's state does not allow it. */
  async opsAction(orderId: string, request: OpsRequest): Promise<OrderSnapshot> {
    try {
      return await this.client.withDeadline(Date.now() + this.answerTimeoutMs, () =>
        this.client.workflow.getHandle(purchaseWorkflowId(orderId)).executeUpdate(opsActionUpdate, { args: [request] }),
      );
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw new PurchaseRefusedError('ORDER_FINAL', 'the order has finished; its workflow takes no more actions');
      }
      throw refusal(err);
    }
  }

  /**
   * Tells the order's workflow about a verified payment result. When that workflow already
   * ended, a late-payment workflow decides (a success for a closed order is refunded).
   */
  async notifyPayment(orderId: string, notification: PaymentNotification, timing: PurchaseTiming): Promise<void> {
    try {
      await this.client.workflow.getHandle(purchaseWorkflowId(orderId)).signal(paymentNotifiedSignal, notification);
      return;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    if (notification.result !== 'SUCCESS') return;
    try {
      await this.client.workflow.start('latePayment', {
        workflowId: latePaymentWorkflowId(orderId),
        taskQueue: this.taskQueue,
        args: [orderId, notification, timing],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    } catch (err) {
      // One late-payment decision per order; a repeated notification needs no second one.
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /**
   * Hands the game's ack, already recorded on the delivery row, to the order's workflow. A workflow that
   * has ended needs none (the row told it, or its delivery was closed first).
   */
  async acknowledgeDelivery(orderId: string, ack: DeliveryAck): Promise<void> {
    try {
      await this.client.withDeadline(Date.now() + this.answerTimeoutMs, () =>
        this.client.workflow.getHandle(purchaseWorkflowId(orderId)).signal(deliveryAckSignal, ack),
      );
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }

  /**
   * Hands the game's ack of a broker revocation, already recorded on the revocation row, to the workflow
   * that revokes: the order's reversal workflow when one runs (it was started because the purchase had
   * ended, or for an operator's refund), else the purchase workflow. One that has ended needs none; a
   * workflow waiting elsewhere finds the row REVOKED at its next republish.
   */
  async acknowledgeRevocation(orderId: string, ack: RevocationAck): Promise<void> {
    for (const workflowId of [reversalWorkflowId(orderId), purchaseWorkflowId(orderId)]) {
      try {
        await this.client.withDeadline(Date.now() + this.answerTimeoutMs, () => this.client.workflow.getHandle(workflowId).signal(revocationAckSignal, ack));
        return;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
  }

  /**
   * Reports a reversal (a channel refund, a chargeback, a revocation, an operator's refund of a
   * delivered order): to the order's workflow while it runs, else to a reversal workflow started for
   * it — one per order that did not fail, so a channel's repeated reports reverse it once.
   */
  async reverse(orderId: string, reversal: ChannelReversal, timing: PurchaseTiming): Promise<'SIGNALLED' | 'STARTED' | 'ALREADY_STARTED'> {
    if (reversal.cause !== 'OPS_REFUND') {
      try {
        await this.client.workflow.getHandle(purchaseWorkflowId(orderId)).signal(channelReversalSignal, reversal);
        return 'SIGNALLED';
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
    try {
      await this.client.workflow.start('reversal', {
        workflowId: reversalWorkflowId(orderId),
        taskQueue: this.taskQueue,
        args: [orderId, reversal, timing],
        // One reversal per order; one that failed (e.g. the channel refused an operator's refund) never
        // keeps the id from the channel's own later report.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      });
      return 'STARTED';
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'ALREADY_STARTED';
      throw err;
    }
  }

  /** Starts the answer to a store's consumption request, or joins the one already started for the transaction. */
  async requestConsumptionAnswer(request: ConsumptionRequestInput): Promise<'STARTED' | 'ALREADY_STARTED'> {
    try {
      await this.client.workflow.start(CONSUMPTION.workflow, {
        workflowId: CONSUMPTION.workflowId(request.channel, request.transactionId),
        taskQueue: this.taskQueue,
        args: [request],
        // One answer per transaction, ever: a finished workflow's id is not reused.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
      return 'STARTED';
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'ALREADY_STARTED';
      throw err;
    }
  }

  async healthy(): Promise<boolean> {
    try {
      await this.client.workflowService.getSystemInfo({});
      return true;
    } catch {
      return false;
    }
  }

  /** Whether a worker polls the purchases task queue: without one, every new order would wait for 503. */
  async workerPolls(): Promise<boolean> {
    try {
      const { pollers } = await this.client.workflowService.describeTaskQueue({
        namespace: this.client.options.namespace,
        taskQueue: { name: this.taskQueue },
      });
      const seenSince = Date.now() - POLLER_SEEN_WITHIN_MS;
      return (pollers ?? []).some((poller) => Number(poller.lastAccessTime?.seconds ?? 0) * 1000 >= seenSince);
    } catch {
      return false;
    }
  }
}

/**
 * Temporal lists a poller for minutes after it went away; a live worker renews its long poll (up to
 * a minute) at once, so one not seen for two minutes is taken as gone.
 */
const POLLER_SEEN_WITHIN_MS = 2 * 60_000;

function refusal(err: unknown): unknown {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && cause.type) return new PurchaseRefusedError(cause.type, cause.message);
  return err;
}
