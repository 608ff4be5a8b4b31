import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { TEST_TIMING, connectWorkflowEngine, samplePurchase, type WorkflowEngine } from './engine';
import { purchaseWorkflowId } from '../../domain/ids';
import {
  PaymentChannelKey,
  cancelOrderUpdate,
  orderSnapshotQuery,
  requestPaymentUpdate,
  type PurchaseInput,
} from '../../workflows/contract';
import type { purchase } from '../../workflows';

/**
 * Step 3 with failover (patch `channel-failover`): the ranked accounts are tried in turn within the
 * failover budget, each attempt recorded, the order's channel following the opening. Stub
 * activities on the real Temporal dev server; a recorded failover history replays.
 */

type Stubbed = Pick<
  Activities,
  'checkRisk' | 'openOrder' | 'openChannelAttempt' | 'endChannelAttempt' | 'createChannelPayment' | 'closeOrder' | 'closeChannelPayment'
>;

type AccountBehaviour = 'opens' | 'refuses' | 'fails' | 'hangs' | 'opens-late' | { flakyTimes: number };

/** The accounts as the stubs see them, and what the workflow asked of them, in order. */
class StubAccounts {
  readonly calls: string[] = [];
  /** Attempts the workflow gave up on (as the attempts table would hold them). */
  readonly ended = new Map<number, string>();
  private readonly tries = new Map<string, number>();

  constructor(private readonly behaviour: Record<string, AccountBehaviour>) {}

  activities(): Stubbed {
    const call = (what: string) => this.calls.push(what);
    const payment = (orderId: string, channel: string) => ({
      channelPaymentId: `${channel}-pay-${orderId}`,
      payment: { payUrl: `https://${channel}.example/pay/${orderId}` },
    });
    return {
      checkRisk: async () => ({ decision: 'ALLOW', reasons: [] }),
      openOrder: async (p) => {
        call(`openOrder:${p.channel}:${p.channelCandidates?.join(',')}`);
        return { status: 'PENDING_PAYMENT' };
      },
      createChannelPayment: async (p) => {
        call(`createChannelPayment:${p.channel}`);
        return payment(p.orderId, p.channel);
      },
      openChannelAttempt: async (p) => {
        call(`open:${p.channel}#${p.attempt}`);
        const tries = (this.tries.get(p.channel) ?? 0) + 1;
        this.tries.set(p.channel, tries);
        const behaviour = this.behaviour[p.channel]!;
        if (behaviour === 'refuses') throw ApplicationFailure.nonRetryable('refused: invalid merchant', 'INVALID_MERCHANT');
        if (behaviour === 'fails') throw ApplicationFailure.retryable('HTTP 503', 'HTTP_503');
        if (typeof behaviour === 'object' && tries <= behaviour.flakyTimes) throw ApplicationFailure.retryable('timeout', 'TIMEOUT');
        if (behaviour === 'hangs' || behaviour === 'opens-late') await new Promise((resolve) => setTimeout(resolve, 5_000));
        return payment(p.orderId, p.channel);
      },
      endChannelAttempt: async (p) => {
        call(`end:${p.channel}#${p.attempt}:${p.outcome}`);
        this.ended.set(p.attempt, p.outcome);
        // The attempt's row was written by the account first: it opened as its time ran out.
        return this.behaviour[p.channel] === 'opens-late' ? payment(p.orderId, p.channel) : undefined;
      },
      closeOrder: async (p) => void call(`closeOrder:${p.reason}`),
      closeChannelPayment: async (p) => {
        call(`closeChannelPayment:${p.channel}`);
        return 'CLOSED';
      },
    };
  }
}

const TIMING: PurchaseInput['timing'] = {
  ...TEST_TIMING,
  paymentTimeoutMs: 60_000,
  channelOpenBudgetMs: 2_000,
  channelFailoverBudgetMs: 1_200,
};

let engine: WorkflowEngine;
let client: Client;
beforeAll(async () => {
  engine = await connectWorkflowEngine();
  client = engine.client;
});
afterAll(() => engine?.close());

/** One order whose payment the ranked `candidates` may open, on its own task queue with `accounts` as its activities. */
async function withOrder<T>(accounts: StubAccounts, candidates: string[] | undefined, scenario: (order: Order) => Promise<T>): Promise<T> {
  const taskQueue = `failover-test-${randomUUID()}`;
  const worker = await Worker.create({ connection: engine.nativeConnection, taskQueue, workflowBundle: engine.bundle, activities: accounts.activities() });
  const input = samplePurchase(randomUUID(), TIMING, { channel: candidates?.[0] ?? 'sandbox', ...(candidates && { channelCandidates: candidates }) });
  return worker.runUntil(scenario(new Order(input, taskQueue)));
}

class Order {
  constructor(
    readonly input: PurchaseInput,
    readonly taskQueue: string,
  ) {}

  get handle() {
    return client.workflow.getHandle<typeof purchase>(purchaseWorkflowId(this.input.orderId));
  }

  create() {
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof purchase>('purchase', {
      workflowId: purchaseWorkflowId(this.input.orderId),
      taskQueue: this.taskQueue,
      args: [this.input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [{ key: PaymentChannelKey, value: this.input.channel }],
    });
    return client.workflow.executeUpdateWithStart(requestPaymentUpdate, { args: [this.input.requestHash], startWorkflowOperation });
  }

  async paymentChannelAttribute() {
    return (await this.handle.describe()).typedSearchAttributes.get(PaymentChannelKey);
  }

  async cancel() {
    await this.handle.executeUpdate(cancelOrderUpdate);
    return this.handle.result();
  }
}

const failureType = (err: unknown) =>
  err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure ? err.cause.type : String(err);

describe('opening the payment with failover', () => {
  it('moves on to the next account when one fails, and the order follows the account that opened it', async () => {
    const accounts = new StubAccounts({ first: 'fails', second: 'opens', third: 'opens' });
    await withOrder(accounts, ['first', 'second', 'third'], async (order) => {
      const snapshot = await order.create();
      expect(snapshot).toMatchObject({ status: 'PENDING_PAYMENT', channel: 'second', payment: { payUrl: expect.stringContaining('second') } });
      expect(await order.handle.query(orderSnapshotQuery)).toMatchObject({ channel: 'second' });
      expect(await order.paymentChannelAttribute()).toBe('second');
      // Compensations reach the account that holds the payment.
      expect(await order.cancel()).toBe('CLOSED');
    });
    expect(accounts.calls).toEqual([
      'openOrder:first:first,second,third',
      'open:first#1',
      'end:first#1:FAILED',
      'open:second#2',
      'closeOrder:CANCELLED_BY_GAME',
      'closeChannelPayment:second',
    ]);
  });

  it('leaves an account that does not answer within its share of the budget, and answers within the budget', async () => {
    const accounts = new StubAccounts({ slow: 'hangs', backup: 'opens' });
    await withOrder(accounts, ['slow', 'backup'], async (order) => {
      const started = Date.now();
      const snapshot = await order.create();
      const tookMs = Date.now() - started;
      expect(snapshot.channel).toBe('backup');
      // The slow account had half of the 1.2 s budget; the backup opened at once.
      expect(tookMs).toBeGreaterThanOrEqual(600);
      expect(tookMs).toBeLessThan(TIMING.channelFailoverBudgetMs! + 1_000);
      await order.cancel();
    });
    expect(accounts.calls.slice(1, 4)).toEqual(['open:slow#1', 'end:slow#1:TIMED_OUT', 'open:backup#2']);
  });

  it('takes an attempt that opened as its time ran out rather than open a second payment', async () => {
    const accounts = new StubAccounts({ late: 'opens-late', backup: 'opens' });
    await withOrder(accounts, ['late', 'backup'], async (order) => {
      const snapshot = await order.create();
      expect(snapshot).toMatchObject({ channel: 'late', payment: { payUrl: expect.stringContaining('late') } });
      await order.cancel();
    });
    expect(accounts.calls).not.toContain('open:backup#2');
    expect(accounts.calls).toContain('closeChannelPayment:late');
  });

  it('closes the order CHANNEL_UNAVAILABLE only when every account failed, each attempt recorded', async () => {
    const accounts = new StubAccounts({ a: 'refuses', b: 'fails', c: 'fails' });
    await withOrder(accounts, ['a', 'b', 'c'], async (order) => {
      expect(failureType(await order.create().catch((e: unknown) => e))).toBe('CHANNEL_UNAVAILABLE');
      expect(await order.handle.result()).toBe('CLOSED');
    });
    expect(accounts.calls.filter((c) => c.startsWith('end:'))).toEqual(['end:a#1:FAILED', 'end:b#2:FAILED', 'end:c#3:TIMED_OUT']);
    expect(accounts.calls).toContain('closeOrder:CHANNEL_UNAVAILABLE');
    // The last account keeps being retried until the budget is spent.
    expect(accounts.calls.filter((c) => c === 'open:c#3').length).toBeGreaterThan(1);
  });

  it('retries a sole account within its opening budget, as before failover', async () => {
    const accounts = new StubAccounts({ only: { flakyTimes: 2 } });
    await withOrder(accounts, ['only'], async (order) => {
      expect((await order.create()).channel).toBe('only');
      await order.cancel();
    });
    expect(accounts.calls.filter((c) => c === 'open:only#1')).toHaveLength(3);
    expect(accounts.calls.some((c) => c.startsWith('end:'))).toBe(false);
  });

  it('keeps the old opening for orders without candidates', async () => {
    const accounts = new StubAccounts({});
    await withOrder(accounts, undefined, async (order) => {
      expect((await order.create()).channel).toBe('sandbox');
      await order.cancel();
    });
    expect(accounts.calls).toContain('createChannelPayment:sandbox');
    expect(accounts.calls.some((c) => c.startsWith('open:'))).toBe(false);
  });

  it('replays a failover history deterministically', async () => {
    const accounts = new StubAccounts({ first: 'fails', second: 'opens' });
    const history = await withOrder(accounts, ['first', 'second'], async (order) => {
      await order.create();
      await order.cancel();
      return order.handle.fetchHistory();
    });
    await expect(
      Worker.runReplayHistory({ workflowBundle: engine.bundle }, history, `replay-${randomUUID()}`),
    ).resolves.toBeUndefined();
  });
});
