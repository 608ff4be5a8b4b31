import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { ChannelError } from '../../channels/http';
import {
  CONSUMPTION_SETTINGS_OFF,
  decideConsumptionAnswer,
  type ConsumptionBody,
  type ConsumptionOutcome,
  type ConsumptionSettings,
} from '../../domain/stores/consumption';
import { PurchasesClient } from '../../infra/temporal';
import { CONSUMPTION, type ConsumptionRequestInput } from '../../workflows/contract';
import type { consumptionAnswer } from '../../workflows';
import { connectWorkflowEngine, type WorkflowEngine } from './engine';

/**
 * Every branch of the consumption answer workflow (one per store transaction), against the real
 * Temporal dev server with stub activities: the answer sent; a 429 and a 5xx retried, then sent; the
 * deadline (signedDate + 12 h) passed before or while retrying → MISSED; a game that answers nothing
 * or a player who did not consent → nothing sent; resends join the one workflow of the transaction.
 */

type Stubbed = Pick<Activities, 'recordConsumptionRequest' | 'answerConsumptionRequest' | 'closeConsumptionRequest'>;

const ON: ConsumptionSettings = { answers: 'ON', playerConsent: 'ALL', sampleContentProvided: true, refundPreference: 'DECLINE' };

/** What the stubs were asked, what reached "Apple", and knobs for how they answer. */
class StubStore {
  readonly calls: string[] = [];
  readonly sent: ConsumptionBody[] = [];
  settings: ConsumptionSettings = ON;
  consented = false;
  /** Store answers before the one that takes the body: 429 or 503 (transient), in order; 'always' never takes it. */
  failures: ('429' | '503')[] | 'always' = [];
  /** Held until released: the answer is in flight while copies arrive. */
  gate?: Promise<void>;

  activities(): Stubbed {
    return {
      recordConsumptionRequest: async () => void this.calls.push('record'),
      answerConsumptionRequest: async (): Promise<ConsumptionOutcome> => {
        this.calls.push('answer');
        await this.gate;
        // The same decision as the real activity, from a delivered order's facts.
        const decision = decideConsumptionAnswer({
          order: {
            status: 'DELIVERED',
            statusReason: null,
            deliveredAt: new Date().toISOString(),
            failedDeliveryAttempts: 0,
            consumptionDataConsent: this.consented,
            grantLog: { gameSendsLogs: false, granted: false, consumptionPercentage: null },
          },
          settings: this.settings,
        });
        if (decision.outcome !== 'SEND') return decision.outcome;
        const failure = this.failures === 'always' ? '503' : this.failures.shift();
        if (failure) throw new ChannelError('TRANSIENT', `HTTP_${failure}`, `the store answered ${failure}`);
        this.sent.push(decision.body);
        return 'SENT';
      },
      closeConsumptionRequest: async ({ outcome }) => void this.calls.push(`close:${outcome}`),
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

/** A request Apple signed `signedAgoMs` ago, for a fresh transaction. */
const request = (signedAgoMs = 0): ConsumptionRequestInput => ({
  channel: 'appstore',
  transactionId: `2000000${Math.floor(Math.random() * 1e9)}`,
  orderId: randomUUID(),
  reason: 'UNINTENDED_PURCHASE',
  signedDate: new Date(Date.now() - signedAgoMs).toISOString(),
  source: 'CALLBACK',
});

/** The intake's start (or join) of the request's workflow, on a task queue served by `store`'s stubs until `scenario` ends. */
async function withAnswers<T>(store: StubStore, scenario: (take: (r: ConsumptionRequestInput) => Promise<string>, answer: (r: ConsumptionRequestInput) => Promise<string>) => Promise<T>): Promise<T> {
  const taskQueue = `wf-consumption-${randomUUID()}`;
  const worker = await Worker.create({ connection: engine.nativeConnection, taskQueue, workflowBundle: engine.bundle, activities: store.activities() });
  const purchases = new PurchasesClient(client, taskQueue, 5_000);
  const take = (r: ConsumptionRequestInput) => purchases.requestConsumptionAnswer(r);
  const answer = (r: ConsumptionRequestInput) => client.workflow.getHandle<typeof consumptionAnswer>(CONSUMPTION.workflowId(r.channel, r.transactionId)).result();
  return worker.runUntil(scenario(take, answer));
}

const HOUR = 3_600_000;

describe('consumption answer workflow', () => {
  it('sends the answer once and ends SENT', async () => {
    const store = new StubStore();
    await withAnswers(store, async (take, answer) => {
      const r = request();
      expect(await take(r)).toBe('STARTED');
      expect(await answer(r)).toBe('SENT');
    });
    expect(store.calls).toEqual(['record', 'answer']);
    expect(store.sent).toEqual([{ customerConsented: true, deliveryStatus: 'DELIVERED', sampleContentProvided: true, refundPreference: 'DECLINE' }]);
  });

  it('retries a 429 and a 503 from the store, then sends once', async () => {
    const store = new StubStore();
    store.failures = ['429', '503'];
    await withAnswers(store, async (take, answer) => {
      const r = request();
      await take(r);
      expect(await answer(r)).toBe('SENT');
    });
    expect(store.calls).toEqual(['record', 'answer', 'answer', 'answer']);
    expect(store.sent).toHaveLength(1);
  }, 60_000);

  it('ends MISSED without asking when Apple signed the request more than 12 hours ago', async () => {
    const store = new StubStore();
    await withAnswers(store, async (take, answer) => {
      const r = request(12 * HOUR + 60_000);
      await take(r);
      expect(await answer(r)).toBe('MISSED');
    });
    expect(store.calls).toEqual(['record', 'close:MISSED']);
    expect(store.sent).toEqual([]);
  });

  it('ends MISSED when the store keeps failing until the deadline', async () => {
    const store = new StubStore();
    store.failures = 'always';
    await withAnswers(store, async (take, answer) => {
      // Three seconds left: the first retry (after 5 s) would come after the deadline.
      const r = request(12 * HOUR - 3_000);
      await take(r);
      expect(await answer(r)).toBe('MISSED');
    });
    expect(store.calls[0]).toBe('record');
    expect(store.calls.at(-1)).toBe('close:MISSED');
    expect(store.sent).toEqual([]);
  }, 60_000);

  it.each([
    ['OFF', { settings: CONSUMPTION_SETTINGS_OFF, consented: true }],
    ['NO_CONSENT', { settings: { ...ON, playerConsent: 'PER_ORDER' as const }, consented: false }],
  ])('sends nothing and ends %s when the game does not answer or the player did not consent', async (outcome, knobs) => {
    const store = Object.assign(new StubStore(), knobs);
    await withAnswers(store, async (take, answer) => {
      const r = request();
      await take(r);
      expect(await answer(r)).toBe(outcome);
    });
    // Decided once, not retried, nothing sent.
    expect(store.calls).toEqual(['record', 'answer']);
    expect(store.sent).toEqual([]);
  });

  it('joins resends and sweep copies to the one workflow of the transaction, while it runs and after it ended', async () => {
    const store = new StubStore();
    let release!: () => void;
    store.gate = new Promise((resolve) => (release = resolve));
    await withAnswers(store, async (take, answer) => {
      const r = request();
      expect(await take(r)).toBe('STARTED');
      expect(await take(r)).toBe('ALREADY_STARTED');
      expect(await take({ ...r, source: 'SWEEP' })).toBe('ALREADY_STARTED');
      release();
      expect(await answer(r)).toBe('SENT');
      expect(await take(r)).toBe('ALREADY_STARTED');
      expect(await take({ ...r, source: 'SWEEP' })).toBe('ALREADY_STARTED');
    });
    expect(store.calls).toEqual(['record', 'answer']);
    expect(store.sent).toHaveLength(1);
  });
});
