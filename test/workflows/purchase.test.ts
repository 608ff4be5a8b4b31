import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, type Client, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { PurchasesClient } from '../../infra/temporal';
import { TEST_TIMING, connectWorkflowEngine, samplePurchase, type WorkflowEngine } from './engine';
import type { PurchaseStubActivities } from './stub-activities';
import { purchaseWorkflowId } from '../../domain/ids';
import type { OrderStatus } from '../../domain/orders/status';
import {
  cancelOrderUpdate,
  channelReversalSignal,
  deliveryAckSignal,
  opsActionUpdate,
  orderSnapshotQuery,
  paymentNotifiedSignal,
  requestPaymentUpdate,
  revocationAckSignal,
  type PaymentNotification,
  type PurchaseInput,
} from '../../workflows/contract';
import type { latePayment, purchase, reversal } from '../../workflows';

/**
 * Every branch of the purchase workflow, against the real Temporal dev server with stub activities:
 * no database, no HTTP. End-to-end tests keep only the integration paths.
 */

type Stubbed = PurchaseStubActivities;

/** What the stubs were asked to do, in order, and knobs for how they answer. */
class StubBooks {
  readonly calls: string[] = [];
  risk: 'ALLOW' | 'REVIEW' | 'DENY' = 'ALLOW';
  outOfStock = false;
  /** PostgreSQL refuses the data of this step (see activities/guard.ts). */
  dataErrorIn?: 'openOrder' | 'markPaid';
  channelDown = false;
  /** The channel answers with a transient failure (an outage) instead of a final refusal. */
  channelFlaky = false;
  closeOutcome: 'CLOSED' | 'ALREADY_PAID' = 'CLOSED';
  /** Delivery attempts that fail before one succeeds (Infinity: the game server never takes it). */
  deliveryFailures = 0;
  /** The game server took the goods while the refund was being decided. */
  deliveredMeanwhile = false;
  /** The channel refuses our refunds for good (a non-retryable REFUND_REFUSED). */
  refundRefused = false;
  /** The game server took the goods (a delivery succeeded, or the order was delivered before). */
  delivered = false;
  statusForLatePayment: OrderStatus = 'CLOSED';
  /** What asking the channel finds, by the number of the query (1-based): a payment, or nothing. */
  queryFinds: (n: number, orderId: string) => PaymentNotification | undefined = () => undefined;
  /** The game takes deliveries over a broker: each attempt is published and awaits the game's ack. */
  brokerMode = false;
  /** Over a broker: the ack the delivery row already holds when the workflow closes the delivery (a late ack won). */
  ackAtClose?: 'GRANTED' | 'REJECTED';
  /** How long telling the store of a delivery takes. */
  confirmDelayMs = 0;
  /** The game takes revocations over a broker: each attempt is published and awaits the game's ack. */
  revocationByBroker = false;
  /** Over a broker: the revocation row holds the game's ack (found by the next republish). */
  revocationAckedInRow = false;
  /** recordReversal was asked to fix the game's mode on the revocation (the broker-revocation patch). */
  reversalFixesMode = false;
  private queries = 0;
  private deliveryAttempts = 0;

  activities(): Stubbed {
    const call = (name: string) => this.calls.push(name);
    return {
      checkRisk: async () => {
        call('checkRisk');
        if (this.risk === 'REVIEW') return { decision: 'REVIEW', reasons: ['AML_SINGLE'] };
        return this.risk === 'ALLOW' ? { decision: 'ALLOW', reasons: [] } : { decision: 'DENY', reasons: ['BLACKLISTED_USER'] };
      },
      openOrder: async (p) => {
        call('openOrder');
        if (this.dataErrorIn === 'openOrder') throw ApplicationFailure.nonRetryable('invalid byte sequence', 'DATA_ERROR');
        if (p.rejection) return { status: 'REJECTED', reason: p.rejection };
        return this.outOfStock ? { status: 'REJECTED', reason: 'OUT_OF_STOCK' } : { status: 'PENDING_PAYMENT' };
      },
      createChannelPayment: async (p) => {
        call('createChannelPayment');
        if (this.channelDown) throw ApplicationFailure.nonRetryable('channel down', 'CHANNEL_DOWN');
        if (this.channelFlaky) throw ApplicationFailure.retryable('channel timed out', 'TIMEOUT');
        return { channelPaymentId: `pay-${p.orderId}`, payment: { payUrl: `https://pay.example/${p.orderId}` } };
      },
      recordPaymentResult: async (p) => void call(`recordPaymentResult:${p.notification.result}`),
      markPaid: async () => {
        call('markPaid');
        if (this.dataErrorIn === 'markPaid') throw ApplicationFailure.nonRetryable('value out of range', 'DATA_ERROR');
      },
      holdForReview: async () => void call('holdForReview'),
      holdLatePayment: async () => void call('holdLatePayment'),
      startMonthlyCard: async (p) => {
        call(`startMonthlyCard:${p.terms.days}`);
        return { cardId: 'mc_test' };
      },
      holdForRiskReview: async () => void call('holdForRiskReview'),
      closeOrder: async (p) => void call(`closeOrder:${p.reason}`),
      startDelivery: async (p) => {
        call('startDelivery');
        return this.brokerMode && p.brokers ? { deliveryId: `dlv_${p.orderId}`, mode: 'NATS' as const } : `dlv_${p.orderId}`;
      },
      settleDeliveryAck: async (p) => {
        call(`settleDeliveryAck:${p.result}`);
        if (p.result === 'GRANTED') this.delivered = true;
      },
      closeBrokerDelivery: async () => {
        call('closeBrokerDelivery');
        return this.ackAtClose ? { ack: this.ackAtClose } : {};
      },
      orderStatus: async () => {
        call('orderStatus');
        return { status: this.statusForLatePayment, channel: 'sandbox' };
      },
      closeChannelPayment: async () => {
        call('closeChannelPayment');
        return this.closeOutcome;
      },
      refundOrder: async (p) => {
        call(`refundOrder:${p.reason}`);
        if (this.refundRefused) throw ApplicationFailure.nonRetryable('ACQ.TRADE_HAS_FINISHED: trade finished', 'REFUND_REFUSED');
        return this.deliveredMeanwhile ? 'ALREADY_DELIVERED' : 'REFUNDED';
      },
      queryChannelPayment: async (p) => {
        call('queryChannelPayment');
        return this.queryFinds(++this.queries, p.orderId);
      },
      confirmChannelDelivery: async () => {
        call('confirmChannelDelivery');
        await new Promise((resolve) => setTimeout(resolve, this.confirmDelayMs));
      },
      recordReversal: async (p) => {
        call(`recordReversal:${p.reversal.cause}`);
        this.reversalFixesMode = p.brokers === true;
        // Goods go back only where the game took them.
        const revocation = this.delivered ? { revocationId: `rv_${p.orderId}` } : {};
        return p.reversal.cause === 'CHARGEBACK'
          ? { status: 'CHARGED_BACK', reason: 'CHARGEBACK', ...revocation }
          : { status: 'REFUNDED', reason: 'CHANNEL_REFUND', ...revocation };
      },
      revokeGrants: async (p) => {
        call('revokeGrants');
        if (!this.revocationByBroker || !p.brokers) return 'REVOKED';
        return this.revocationAckedInRow ? 'REVOKED' : { awaitingAck: true as const, ackTimeoutMs: 150 };
      },
      refundThroughChannel: async () => {
        call('refundThroughChannel');
        if (this.refundRefused) throw ApplicationFailure.nonRetryable('ACQ.TRADE_HAS_FINISHED: trade finished', 'REFUND_REFUSED');
      },
      deliverOrder: async () => {
        call('deliverOrder');
        if (this.brokerMode) return { awaitingAck: true as const, ackTimeoutMs: 150 };
        this.deliveryAttempts++;
        if (this.deliveryAttempts > this.deliveryFailures) {
          this.delivered = true;
          return undefined;
        }
        // A failing game server: fails fast, and honours cancellation like the real activity.
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (Context.current().cancellationSignal.aborted) throw new Error('cancelled');
        throw ApplicationFailure.retryable('game server answered 500', 'DELIVERY_FAILED');
      },
    };
  }
}


let engine: WorkflowEngine;
let client: Client;
beforeAll(async () => {
  engine = await connectWorkflowEngine();
  client = engine.client;
});
afterAll(() => engine?.close());

/** One purchase workflow on its own task queue with `books` as its activities, until `scenario` ends. */
async function withWorkflow<T>(
  books: StubBooks,
  scenario: (order: OrderUnderTest) => Promise<T>,
  timing = TEST_TIMING,
  extra: Partial<PurchaseInput> = {},
): Promise<T> {
  const taskQueue = `wf-test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: engine.nativeConnection,
    taskQueue,
    workflowBundle: engine.bundle,
    activities: books.activities(),
  });
  const input = samplePurchase(randomUUID(), timing, extra);
  return worker.runUntil(scenario(new OrderUnderTest(input, taskQueue)));
}

class OrderUnderTest {
  constructor(
    readonly input: PurchaseInput,
    readonly taskQueue: string,
  ) {}

  get handle() {
    return client.workflow.getHandle<typeof purchase>(purchaseWorkflowId(this.input.orderId));
  }

  /** The game's create call: Update-with-Start, answered once the order is open. */
  create(requestHash = this.input.requestHash) {
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof purchase>('purchase', {
      workflowId: purchaseWorkflowId(this.input.orderId),
      taskQueue: this.taskQueue,
      args: [this.input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    return client.workflow.executeUpdateWithStart(requestPaymentUpdate, { args: [requestHash], startWorkflowOperation });
  }

  notify(result: 'SUCCESS' | 'FAILED', paid = this.input.amount, notificationId: string = randomUUID()) {
    const notification: PaymentNotification = {
      notificationId,
      channelPaymentId: `pay-${this.input.orderId}`,
      merchantOrderId: this.input.orderId,
      result,
      ...(result === 'SUCCESS' && { paid, channelTxnId: 'txn-1', paidAt: new Date().toISOString() }),
    };
    return this.handle.signal(paymentNotifiedSignal, notification);
  }

  ops(action: 'RETRY_DELIVERY' | 'REFUND' | 'DELIVER' | 'RISK_APPROVE' | 'RISK_DENY') {
    return this.handle.executeUpdate(opsActionUpdate, { args: [{ action, operator: 'alice', reason: 'test' }] });
  }

  status() {
    return this.handle.query(orderSnapshotQuery).then((s) => s.status);
  }

  async until(status: OrderStatus, timeoutMs = 5_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await this.status();
      if (current === status) return;
      if (Date.now() > deadline) throw new Error(`order is ${current}, expected ${status}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  result() {
    return this.handle.result();
  }
}

/** Waits until `done` holds (the stubs' calls are read while the workflow runs). */
async function until(done: () => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const failureType = (err: unknown) =>
  err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure ? err.cause.type : String(err);

describe('the purchase workflow', () => {
  it('opens the order, takes the payment and delivers', async () => {
    const books = new StubBooks();
    await withWorkflow(books, async (order) => {
      const snapshot = await order.create();
      expect(snapshot).toMatchObject({ status: 'PENDING_PAYMENT', payment: { payUrl: expect.any(String) } });
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('DELIVERED');
    });
    expect(books.calls).toEqual([
      'checkRisk',
      'openOrder',
      'createChannelPayment',
      'recordPaymentResult:SUCCESS',
      'markPaid',
      'startDelivery',
      'deliverOrder',
    ]);
  });

  it('answers a repeated create with the same order, and refuses another request under its key', async () => {
    await withWorkflow(new StubBooks(), async (order) => {
      const first = await order.create();
      expect(await order.create()).toEqual(first);
      expect(failureType(await order.create('another-hash').catch((e: unknown) => e))).toBe('IDEMPOTENCY_CONFLICT');
      await order.handle.executeUpdate(cancelOrderUpdate);
      expect(await order.result()).toBe('CLOSED');
    });
  });

  it('refuses an order the risk check denies, and an item out of stock, keeping them REJECTED', async () => {
    for (const knob of ['risk', 'stock'] as const) {
      const books = new StubBooks();
      if (knob === 'risk') books.risk = 'DENY';
      else books.outOfStock = true;
      await withWorkflow(books, async (order) => {
        expect(await order.create()).toMatchObject({ status: 'REJECTED', reason: knob === 'risk' ? 'BLACKLISTED_USER' : 'OUT_OF_STOCK' });
        expect(await order.result()).toBe('REJECTED');
      });
      expect(books.calls).toEqual(['checkRisk', 'openOrder']);
    }
  });

  describe('an order risk decided REVIEW', () => {
    const reviewed = async (decide: (order: OrderUnderTest) => Promise<unknown>, timing = TEST_TIMING) => {
      const books = new StubBooks();
      books.risk = 'REVIEW';
      const status = await withWorkflow(
        books,
        async (order) => {
          await order.create();
          await order.notify('SUCCESS');
          await order.until('RISK_REVIEW');
          await decide(order);
          return order.result();
        },
        timing,
      );
      return { status, calls: books.calls };
    };
    const held = ['checkRisk', 'openOrder', 'createChannelPayment', 'recordPaymentResult:SUCCESS', 'holdForRiskReview'];

    it('holds the paid order for a person, and delivers it once approved', async () => {
      const { status, calls } = await reviewed(async (order) => {
        expect(failureType(await order.ops('DELIVER').catch((e: unknown) => e))).toBe('OPS_ACTION_NOT_ALLOWED');
        await order.ops('RISK_APPROVE');
      });
      expect(status).toBe('DELIVERED');
      expect(calls).toEqual([...held, 'startDelivery', 'deliverOrder']);
    });

    it('refunds it when an operator denies it', async () => {
      const { status, calls } = await reviewed((order) => order.ops('RISK_DENY'));
      expect(status).toBe('REFUNDED');
      expect(calls).toEqual([...held, 'refundOrder:RISK_DENIED']);
    });

    it('refunds it when no one decides within the review timeout', async () => {
      const { status, calls } = await reviewed(async () => undefined, { ...TEST_TIMING, riskReviewTimeoutMs: 300 });
      expect(status).toBe('REFUNDED');
      expect(calls).toEqual([...held, 'refundOrder:RISK_REVIEW_TIMEOUT']);
    });

    it('refuses a risk decision for an order not held for review', async () => {
      await withWorkflow(new StubBooks(), async (order) => {
        await order.create();
        expect(failureType(await order.ops('RISK_APPROVE').catch((e: unknown) => e))).toBe('OPS_ACTION_NOT_ALLOWED');
        await order.handle.executeUpdate(cancelOrderUpdate);
        expect(await order.result()).toBe('CLOSED');
      });
    });
  });

  it('rejects an order whose data the database refuses, at once, and lets a person decide a paid one', async () => {
    const refused = new StubBooks();
    refused.dataErrorIn = 'openOrder';
    await withWorkflow(refused, async (order) => {
      expect(failureType(await order.create().catch((e: unknown) => e))).toBe('DATA_ERROR');
      expect(await order.result()).toBe('REJECTED');
    });
    expect(refused.calls).toEqual(['checkRisk', 'openOrder']);

    const paid = new StubBooks();
    paid.dataErrorIn = 'markPaid';
    await withWorkflow(paid, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await order.until('MANUAL_REVIEW');
      await order.ops('REFUND');
      expect(await order.result()).toBe('REFUNDED');
    });
    expect(paid.calls.filter((c) => c === 'markPaid')).toHaveLength(1);
    expect(paid.calls.at(-1)).toBe('refundOrder:OPS_REFUND');
  });

  it('closes the order and releases its stock when the channel cannot open the payment', async () => {
    const books = new StubBooks();
    books.channelDown = true;
    await withWorkflow(books, async (order) => {
      expect(failureType(await order.create().catch((e: unknown) => e))).toBe('CHANNEL_UNAVAILABLE');
      expect(await order.result()).toBe('CLOSED');
    });
    expect(books.calls).toEqual(['checkRisk', 'openOrder', 'createChannelPayment', 'closeOrder:CHANNEL_UNAVAILABLE']);
  });

  it('keeps trying a channel that times out for its budget, then closes the order', async () => {
    const books = new StubBooks();
    books.channelFlaky = true;
    const started = Date.now();
    await withWorkflow(books, async (order) => {
      expect(failureType(await order.create().catch((e: unknown) => e))).toBe('CHANNEL_UNAVAILABLE');
      expect(await order.result()).toBe('CLOSED');
    }, { ...TEST_TIMING, channelOpenBudgetMs: 1_500 });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(books.calls.filter((c) => c === 'createChannelPayment').length).toBeGreaterThan(1);
    expect(books.calls.at(-1)).toBe('closeOrder:CHANNEL_UNAVAILABLE');
  });

  it('closes an unpaid order at the payment timeout: stock released, channel payment closed', async () => {
    const books = new StubBooks();
    await withWorkflow(books, async (order) => {
      await order.create();
      expect(await order.result()).toBe('CLOSED');
    }, { ...TEST_TIMING, paymentTimeoutMs: 500 });
    expect(books.calls.slice(-2)).toEqual(['closeOrder:PAYMENT_TIMEOUT', 'closeChannelPayment']);
  });

  it('closes an order the game cancels, and refuses to cancel one that is paid', async () => {
    const books = new StubBooks();
    await withWorkflow(books, async (order) => {
      await order.create();
      expect(await order.handle.executeUpdate(cancelOrderUpdate)).toMatchObject({ status: 'CLOSED' });
      expect(await order.result()).toBe('CLOSED');
    });
    expect(books.calls.slice(-2)).toEqual(['closeOrder:CANCELLED_BY_GAME', 'closeChannelPayment']);

    const paid = new StubBooks();
    paid.deliveryFailures = Infinity;
    await withWorkflow(paid, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await order.until('DELIVERING');
      expect(failureType(await order.handle.executeUpdate(cancelOrderUpdate).catch((e: unknown) => e))).toBe('ORDER_NOT_CANCELLABLE');
      await order.ops('REFUND');
      expect(await order.result()).toBe('REFUNDED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 120_000 });
  });

  it('stays payable after a failed payment and delivers on the next success, once for duplicates', async () => {
    const books = new StubBooks();
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('FAILED');
      await order.notify('SUCCESS', order.input.amount, 'ntf-1');
      await order.notify('SUCCESS', order.input.amount, 'ntf-1');
      expect(await order.result()).toBe('DELIVERED');
    });
    expect(books.calls.filter((c) => c.startsWith('recordPaymentResult'))).toEqual([
      'recordPaymentResult:FAILED',
      'recordPaymentResult:SUCCESS',
    ]);
    expect(books.calls.filter((c) => c === 'deliverOrder')).toHaveLength(1);
  });

  it('holds a payment of another amount for a person, who delivers or refunds', async () => {
    for (const decision of ['DELIVER', 'REFUND'] as const) {
      const books = new StubBooks();
      await withWorkflow(books, async (order) => {
        await order.create();
        await order.notify('SUCCESS', { currency: 'CNY', value: 1 });
        await order.until('MANUAL_REVIEW');
        expect(books.calls).not.toContain('markPaid');
        await order.ops(decision);
        expect(await order.result()).toBe(decision === 'DELIVER' ? 'DELIVERED' : 'REFUNDED');
      });
      expect(books.calls).toContain('holdForReview');
      expect(books.calls.at(-1)).toBe(decision === 'DELIVER' ? 'deliverOrder' : 'refundOrder:OPS_REFUND');
    }
  });

  it('retries a failing delivery and delivers once the game server takes it', async () => {
    const books = new StubBooks();
    books.deliveryFailures = 2;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('DELIVERED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 30_000 });
    expect(books.calls.filter((c) => c === 'deliverOrder')).toHaveLength(3);
    expect(books.calls).not.toContain('refundOrder:DELIVERY_FAILED');
  });

  it('refunds when the game server cannot take the goods before the delivery deadline', async () => {
    const books = new StubBooks();
    books.deliveryFailures = Infinity;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('REFUNDED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 800 });
    expect(books.calls.at(-1)).toBe('refundOrder:DELIVERY_FAILED');
  });

  it("starts a delivered monthly card's days after its delivery, and no card for an order refunded undelivered", async () => {
    const monthlyCard = { days: 30, dailyGrants: [{ itemId: 'gem', quantity: 100 }] };
    const books = new StubBooks();
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('DELIVERED');
    }, TEST_TIMING, { monthlyCard });
    expect(books.calls.slice(-2)).toEqual(['deliverOrder', 'startMonthlyCard:30']);

    const undelivered = new StubBooks();
    undelivered.deliveryFailures = Infinity;
    await withWorkflow(undelivered, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('REFUNDED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 800 }, { monthlyCard });
    expect(undelivered.calls.some((c) => c.startsWith('startMonthlyCard'))).toBe(false);
  });

  it("keeps the money for an operator's refund or the channel's own when the channel refuses our refund for good", async () => {
    const books = new StubBooks();
    books.deliveryFailures = Infinity;
    books.refundRefused = true;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await until(() => books.calls.includes('refundOrder:DELIVERY_FAILED'));
      const deadline = Date.now() + 5_000;
      while ((await order.handle.query(orderSnapshotQuery)).reason !== 'REFUND_REFUSED' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(await order.handle.query(orderSnapshotQuery)).toMatchObject({ status: 'DELIVERING', reason: 'REFUND_REFUSED' });
      // An operator asks again; refused again, the money still waits, until the channel returns it itself.
      await order.ops('REFUND');
      await until(() => books.calls.includes('refundOrder:OPS_REFUND'));
      await order.handle.signal(channelReversalSignal, { cause: 'CHANNEL_REFUND', dedupeKey: 'rf-portal-1', revoke: true });
      expect(await order.result()).toBe('REFUNDED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 800 });
    expect(books.calls.filter((c) => c.startsWith('refundOrder') || c.startsWith('recordReversal'))).toEqual([
      'refundOrder:DELIVERY_FAILED',
      'refundOrder:OPS_REFUND',
      'recordReversal:CHANNEL_REFUND',
    ]);
  });

  it('keeps goods the game took while the refund was decided: DELIVERED, not refunded', async () => {
    const books = new StubBooks();
    books.deliveryFailures = Infinity;
    books.deliveredMeanwhile = true;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('DELIVERED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 800 });
  });

  it("lets an operator retry a stuck delivery now, or refund it instead", async () => {
    const retried = new StubBooks();
    retried.deliveryFailures = 1;
    await withWorkflow(retried, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await order.until('DELIVERING');
      await order.ops('RETRY_DELIVERY');
      expect(await order.result()).toBe('DELIVERED');
    }, { ...TEST_TIMING, deliveryRetryInitialMs: 60_000, deliveryRetryMaxMs: 60_000, deliveryDeadlineMs: 120_000 });

    const refunded = new StubBooks();
    refunded.deliveryFailures = Infinity;
    await withWorkflow(refunded, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await order.until('DELIVERING');
      await order.ops('REFUND');
      expect(await order.result()).toBe('REFUNDED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 120_000 });
    expect(refunded.calls.at(-1)).toBe('refundOrder:OPS_REFUND');
  });

  it('refuses operator actions the status does not allow', async () => {
    await withWorkflow(new StubBooks(), async (order) => {
      await order.create();
      for (const action of ['RETRY_DELIVERY', 'REFUND', 'DELIVER'] as const) {
        expect(failureType(await order.ops(action).catch((e: unknown) => e))).toBe('OPS_ACTION_NOT_ALLOWED');
      }
      await order.handle.executeUpdate(cancelOrderUpdate);
    });
  });

  it('refunds a payment the payer made while the order was being closed', async () => {
    const books = new StubBooks();
    books.closeOutcome = 'ALREADY_PAID';
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.until('CLOSED', 5_000);
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('REFUNDED');
    }, { ...TEST_TIMING, paymentTimeoutMs: 500 });
    expect(books.calls.at(-1)).toBe('refundOrder:LATE_PAYMENT');
  });

  it('holds a payment made while the order was being closed when the channel will not refund it, and delivers on the operator\'s word', async () => {
    const books = new StubBooks();
    books.closeOutcome = 'ALREADY_PAID';
    books.refundRefused = true;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.until('CLOSED', 5_000);
      await order.notify('SUCCESS');
      await order.until('MANUAL_REVIEW', 5_000);
      await order.ops('DELIVER');
      expect(await order.result()).toBe('DELIVERED');
    }, { ...TEST_TIMING, paymentTimeoutMs: 500 });
    expect(books.calls.slice(-4)).toEqual(['refundOrder:LATE_PAYMENT', 'holdLatePayment', 'startDelivery', 'deliverOrder']);
  });
});

describe('a channel that stays silent, or changes its mind', () => {
  const success = (orderId: string): PaymentNotification => ({
    notificationId: 'query:txn-1',
    channelPaymentId: `pay-${orderId}`,
    merchantOrderId: orderId,
    result: 'SUCCESS',
    paid: { currency: 'CNY', value: 600 },
    channelTxnId: 'txn-1',
  });

  it('asks the channel when no notification comes, backing off, and takes the payment it reports', async () => {
    const books = new StubBooks();
    books.queryFinds = (n, orderId) => (n >= 2 ? success(orderId) : undefined);
    await withWorkflow(books, async (order) => {
      await order.create();
      expect(await order.result()).toBe('DELIVERED');
    }, { ...TEST_TIMING, paymentTimeoutMs: 20_000, paymentQueryAfterMs: 200 });
    expect(books.calls.filter((c) => c === 'queryChannelPayment')).toHaveLength(2);
    expect(books.calls).toContain('markPaid');
  });

  it('asks once more before closing on timeout, and closes when the channel has nothing', async () => {
    const books = new StubBooks();
    await withWorkflow(books, async (order) => {
      await order.create();
      expect(await order.result()).toBe('CLOSED');
    }, { ...TEST_TIMING, paymentTimeoutMs: 600, paymentQueryAfterMs: 60_000 });
    expect(books.calls.slice(-3)).toEqual(['queryChannelPayment', 'closeOrder:PAYMENT_TIMEOUT', 'closeChannelPayment']);
  });

  it('stops delivering when the channel charges the payment back, and refunds nothing itself', async () => {
    const books = new StubBooks();
    books.deliveryFailures = Infinity;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await order.until('DELIVERING');
      await order.handle.signal(channelReversalSignal, { cause: 'CHARGEBACK', dedupeKey: 'cb-1', revoke: true });
      expect(await order.result()).toBe('CHARGED_BACK');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 120_000 });
    expect(books.calls).toContain('recordReversal:CHARGEBACK');
    expect(books.calls.some((c) => c.startsWith('refundOrder'))).toBe(false);
  });

  it('ends the order without delivering when the refund was known before the payment landed', async () => {
    const books = new StubBooks();
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.handle.signal(channelReversalSignal, { cause: 'CHANNEL_REFUND', dedupeKey: 'rf-early-1', revoke: true });
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('REFUNDED');
      expect(await order.handle.query(orderSnapshotQuery)).toMatchObject({ status: 'REFUNDED', reason: 'CHANNEL_REFUND' });
    });
    expect(books.calls.slice(-2)).toEqual(['markPaid', 'recordReversal:CHANNEL_REFUND']);
    expect(books.calls.filter((c) => c === 'startDelivery' || c === 'deliverOrder' || c === 'revokeGrants')).toEqual([]);
  });

  it('takes the goods back when a store refund arrives as the delivered order ends', async () => {
    const books = new StubBooks();
    books.confirmDelayMs = 1_000;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await order.until('DELIVERED');
      await order.handle.signal(channelReversalSignal, { cause: 'CHANNEL_REFUND', dedupeKey: 'rf-apple-1', revoke: true });
      expect(await order.result()).toBe('REFUNDED');
    }, TEST_TIMING, { confirmsDelivery: true });
    expect(books.calls.slice(-3)).toEqual(['confirmChannelDelivery', 'recordReversal:CHANNEL_REFUND', 'revokeGrants']);
  });
});

describe('the reversal workflow', () => {
  const reverse = (books: StubBooks, cause: 'OPS_REFUND' | 'CHANNEL_REFUND') =>
    withWorkflow(books, (order) =>
      client.workflow.execute<typeof reversal>('reversal', {
        workflowId: `reversal-${order.input.orderId}`,
        taskQueue: order.taskQueue,
        args: [order.input.orderId, { cause, dedupeKey: `${cause}-1`, revoke: true }, TEST_TIMING],
      }),
    );

  it("returns an operator's refund through the channel, then ends the order and takes the goods back", async () => {
    const books = new StubBooks();
    books.delivered = true;
    expect(await reverse(books, 'OPS_REFUND')).toBe('REFUNDED');
    expect(books.calls).toEqual(['refundThroughChannel', 'recordReversal:OPS_REFUND', 'revokeGrants']);
  });

  it("republishes a broker revocation until the game's ack, which ends it", async () => {
    const books = new StubBooks();
    books.delivered = true;
    books.revocationByBroker = true;
    const status = await withWorkflow(books, async (order) => {
      const handle = await client.workflow.start<typeof reversal>('reversal', {
        workflowId: `reversal-${order.input.orderId}`,
        taskQueue: order.taskQueue,
        args: [order.input.orderId, { cause: 'CHARGEBACK', dedupeKey: 'cb-1', revoke: true }, { ...TEST_TIMING, deliveryDeadlineMs: 30_000 }],
      });
      await until(() => books.calls.filter((c) => c === 'revokeGrants').length >= 3);
      await handle.signal(revocationAckSignal, { revocationId: `rv_${order.input.orderId}` });
      return handle.result();
    });
    expect(status).toBe('CHARGED_BACK');
    expect(books.calls[0]).toBe('recordReversal:CHARGEBACK');
    expect(books.reversalFixesMode).toBe(true);
    const published = books.calls.filter((c) => c === 'revokeGrants').length;
    // The ack ends the wait at once: no publish after it (give a stray republish its timeout to show).
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(books.calls.filter((c) => c === 'revokeGrants')).toHaveLength(published);
  });

  it('stops republishing a broker revocation whose ack the row holds, and at the deadline without one', async () => {
    const acked = new StubBooks();
    acked.delivered = true;
    acked.revocationByBroker = true;
    acked.revocationAckedInRow = true;
    expect(await reverse(acked, 'CHANNEL_REFUND')).toBe('REFUNDED');
    expect(acked.calls.filter((c) => c === 'revokeGrants')).toHaveLength(1);

    const silent = new StubBooks();
    silent.delivered = true;
    silent.revocationByBroker = true;
    const status = await withWorkflow(silent, (order) =>
      client.workflow.execute<typeof reversal>('reversal', {
        workflowId: `reversal-${order.input.orderId}`,
        taskQueue: order.taskQueue,
        args: [order.input.orderId, { cause: 'CHANNEL_REFUND', dedupeKey: 'rf-1', revoke: true }, { ...TEST_TIMING, deliveryDeadlineMs: 3_000 }],
      }),
    );
    // Left PENDING for operations: the reversal itself is done.
    expect(status).toBe('REFUNDED');
    expect(silent.calls.filter((c) => c === 'revokeGrants').length).toBeGreaterThan(1);
  });

  it("fails for good, booking and revoking nothing, when the channel refuses an operator's refund", async () => {
    const books = new StubBooks();
    books.refundRefused = true;
    const failed = await reverse(books, 'OPS_REFUND').catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    expect(books.calls).toEqual(['refundThroughChannel']);
  });

  // Issue 24's suspected sequence, confirmed harmless at the workflow: the failed reversal frees its id.
  it("books the store's own refund after an operator's refund of an App Store order failed at the channel", async () => {
    const books = new StubBooks();
    books.delivered = true;
    books.refundRefused = true;
    await withWorkflow(books, async (order) => {
      const purchases = new PurchasesClient(client, order.taskQueue, 5_000);
      const { orderId } = order.input;
      const opsRefund = { cause: 'OPS_REFUND' as const, dedupeKey: `ops-refund:${orderId}`, operator: 'alice', reason: 'player asked us', revoke: true };
      expect(await purchases.reverse(orderId, opsRefund, TEST_TIMING)).toBe('STARTED');
      await expect(client.workflow.getHandle(`reversal-${orderId}`).result()).rejects.toBeInstanceOf(WorkflowFailedError);

      const appleRefund = { cause: 'CHANNEL_REFUND' as const, dedupeKey: 'apple-refund-1', revoke: true };
      expect(await purchases.reverse(orderId, appleRefund, TEST_TIMING)).toBe('STARTED');
      expect(await client.workflow.getHandle(`reversal-${orderId}`).result()).toBe('REFUNDED');
    });
    expect(books.calls).toEqual(['refundThroughChannel', 'recordReversal:CHANNEL_REFUND', 'revokeGrants']);
  });
});

describe('the late-payment workflow', () => {
  const late = (books: StubBooks) =>
    withWorkflow(books, async (order) => {
      const notification: PaymentNotification = {
        notificationId: 'late-1',
        channelPaymentId: 'pay-1',
        merchantOrderId: order.input.orderId,
        result: 'SUCCESS',
        paid: order.input.amount,
      };
      return client.workflow.execute<typeof latePayment>('latePayment', {
        workflowId: `late-${order.input.orderId}`,
        taskQueue: order.taskQueue,
        args: [order.input.orderId, notification, TEST_TIMING],
      });
    });

  it('refunds money that arrived for an order closed unpaid, and ignores a duplicate for any other', async () => {
    const closed = new StubBooks();
    expect(await late(closed)).toBe('REFUNDED');
    expect(closed.calls).toEqual(['orderStatus', 'recordPaymentResult:SUCCESS', 'refundOrder:LATE_PAYMENT']);

    const delivered = new StubBooks();
    delivered.statusForLatePayment = 'DELIVERED';
    expect(await late(delivered)).toBe('IGNORED');
    expect(delivered.calls).toEqual(['orderStatus']);
  });

  // Found by the model-based tests (test/model/seeds.json, "late payment at a channel we cannot refund through").
  it('holds for a person, booked, money that arrived for a closed order at a channel we cannot refund through (App Store)', async () => {
    const appStore = new StubBooks();
    appStore.refundRefused = true;
    expect(await late(appStore)).toBe('HELD');
    expect(appStore.calls).toEqual(['orderStatus', 'recordPaymentResult:SUCCESS', 'refundOrder:LATE_PAYMENT', 'holdLatePayment']);
  });
});

describe('the purchase workflow, delivering over a broker', () => {
  const ack = (order: OrderUnderTest, result: 'GRANTED' | 'REJECTED') =>
    order.handle.signal(deliveryAckSignal, { deliveryId: `dlv_${order.input.orderId}`, result });

  it("publishes, then delivers on the game's GRANTED ack: no refund, the delivery never closed", async () => {
    const books = new StubBooks();
    books.brokerMode = true;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await until(() => books.calls.includes('deliverOrder'));
      await ack(order, 'GRANTED');
      expect(await order.result()).toBe('DELIVERED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 30_000 });
    expect(books.calls).toContain('settleDeliveryAck:GRANTED');
    expect(books.calls.filter((c) => c.startsWith('refundOrder') || c === 'closeBrokerDelivery')).toEqual([]);
  });

  it('republishes each time the ack timeout passes without an ack (same deliveryId, a new attempt)', async () => {
    const books = new StubBooks();
    books.brokerMode = true;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await until(() => books.calls.filter((c) => c === 'deliverOrder').length >= 3);
      await ack(order, 'GRANTED');
      expect(await order.result()).toBe('DELIVERED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 30_000 });
  });

  it("refunds at once on the game's REJECTED ack (DELIVERY_REJECTED)", async () => {
    const books = new StubBooks();
    books.brokerMode = true;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await until(() => books.calls.includes('deliverOrder'));
      await ack(order, 'REJECTED');
      expect(await order.result()).toBe('REFUNDED');
      expect((await order.handle.query(orderSnapshotQuery)).reason).toBe('DELIVERY_REJECTED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 30_000 });
    expect(books.calls.slice(-2)).toEqual(['settleDeliveryAck:REJECTED', 'refundOrder:DELIVERY_REJECTED']);
  });

  it('closes the delivery at the deadline and refunds (DELIVERY_FAILED) when no ack came', async () => {
    const books = new StubBooks();
    books.brokerMode = true;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('REFUNDED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 2_000 });
    expect(books.calls.slice(-2)).toEqual(['closeBrokerDelivery', 'refundOrder:DELIVERY_FAILED']);
    expect(books.calls.filter((c) => c === 'deliverOrder').length).toBeGreaterThan(1);
  });

  it('follows an ack recorded just before the deadline closed the delivery: the first written wins', async () => {
    const books = new StubBooks();
    books.brokerMode = true;
    books.ackAtClose = 'GRANTED';
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      expect(await order.result()).toBe('DELIVERED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 800 });
    expect(books.calls.slice(-2)).toEqual(['closeBrokerDelivery', 'settleDeliveryAck:GRANTED']);
    expect(books.calls.filter((c) => c.startsWith('refundOrder'))).toEqual([]);
  });

  it("closes the delivery before an operator's refund (OPS_REFUND)", async () => {
    const books = new StubBooks();
    books.brokerMode = true;
    await withWorkflow(books, async (order) => {
      await order.create();
      await order.notify('SUCCESS');
      await until(() => books.calls.includes('deliverOrder'));
      await order.ops('REFUND');
      expect(await order.result()).toBe('REFUNDED');
    }, { ...TEST_TIMING, deliveryDeadlineMs: 30_000 });
    expect(books.calls.slice(-2)).toEqual(['closeBrokerDelivery', 'refundOrder:OPS_REFUND']);
  });
});
