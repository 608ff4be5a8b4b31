import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { ApplicationFailure, type RetryPolicy } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { connectWorkflowEngine, type WorkflowEngine } from './engine';
import type { RunSummary } from '../../store/reconciliation';
import { RECONCILIATION, type ReconciliationRun } from '../../workflows/contract';
import type { reconcileChannelDay, reconcileRuns, scheduledReconciliation } from '../../workflows';

/**
 * The reconciliation workflows with stub activities (no database, no channel): the order of the
 * steps, one child per day in date order, a failed day that ends FAILED without stopping the others,
 * and what a schedule's firing reconciles.
 */
type Stubbed = Pick<
  Activities,
  'openScheduledRun' | 'startRun' | 'stageStatement' | 'matchStatement' | 'repairDifferences' | 'completeRun' | 'failRun' | 'rollUpReports'
>;

class StubFinance {
  readonly calls: string[] = [];
  /** Days whose statement the channel refuses. */
  readonly refusedDays = new Set<string>();
  /** Days whose staging fails every attempt, retryably (the worker's database connection dies each time). */
  readonly dyingDays = new Set<string>();
  scheduledWith?: { channel: string; scheduledAt: string };

  activities(): Stubbed {
    const call = (name: string, day?: string) => this.calls.push(day ? `${name} ${day}` : name);
    const summary: RunSummary = { statementRows: 3, platformRows: 3, matched: 2, differences: { CROSS_DAY: 1 }, resolutions: { HELD_CROSS_DAY: 1 } };
    const dayOf = new Map<string, string>();
    return {
      openScheduledRun: async (p) => {
        this.scheduledWith = { channel: p.channel, scheduledAt: p.scheduledAt };
        return { runId: randomUUID(), channel: p.channel, date: '2026-11-01' };
      },
      startRun: async (p) => void call('startRun', dayOf.get(p.runId)),
      stageStatement: async (run) => {
        dayOf.set(run.runId, run.date);
        call('stageStatement', run.date);
        if (this.refusedDays.has(run.date)) throw ApplicationFailure.nonRetryable('no statement for that day', 'NO_STATEMENT');
        if (this.dyingDays.has(run.date)) throw new Error('terminating connection because protocol synchronization was lost');
        return { lines: 3 };
      },
      matchStatement: async (run) => {
        call('matchStatement', run.date);
        return summary;
      },
      repairDifferences: async (p) => {
        call('repairDifferences', dayOf.get(p.runId));
        return { repaired: 0 };
      },
      completeRun: async (p) => void call('completeRun', dayOf.get(p.runId)),
      failRun: async (p) => void call(`failRun (${p.error})`, dayOf.get(p.runId)),
      rollUpReports: async (p) => void call('rollUpReports', p.date),
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

async function withWorker<T>(stubs: StubFinance, run: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = `recon-test-${randomUUID()}`;
  const worker = await Worker.create({
    connection: engine.nativeConnection,
    taskQueue,
    workflowBundle: engine.bundle,
    activities: stubs.activities(),
  });
  return worker.runUntil(run(taskQueue));
}

const run = (date: string): ReconciliationRun => ({ runId: randomUUID(), channel: 'sandbox', date });

describe('reconciliation workflows', () => {
  it('runs each day as a child, in date order: stage, match, repair, complete, roll up', async () => {
    const stubs = new StubFinance();
    const runs = [run('2026-11-03'), run('2026-11-01'), run('2026-11-02')];
    const outcomes = await withWorker(stubs, (taskQueue) =>
      client.workflow.execute<typeof reconcileRuns>(RECONCILIATION.requestWorkflow, {
        taskQueue,
        workflowId: RECONCILIATION.requestWorkflowId(randomUUID()),
        args: [runs],
      }),
    );
    expect(outcomes.map((o) => [o.date, o.status, o.unsettled])).toEqual([
      ['2026-11-01', 'COMPLETED', 1],
      ['2026-11-02', 'COMPLETED', 1],
      ['2026-11-03', 'COMPLETED', 1],
    ]);
    expect(stubs.calls.slice(0, 6)).toEqual([
      'startRun',
      'stageStatement 2026-11-01',
      'matchStatement 2026-11-01',
      'repairDifferences 2026-11-01',
      'completeRun 2026-11-01',
      'rollUpReports 2026-11-01',
    ]);
    // Each run is its own child workflow, named by its run id (its history stays its own).
    const child = await client.workflow.getHandle(RECONCILIATION.runWorkflowId(runs[1]!.runId)).describe();
    expect(child.type).toBe('reconcileChannelDay');
    const history = await client.workflow.getHandle(RECONCILIATION.runWorkflowId(runs[1]!.runId)).fetchHistory();
    expect(history.events!.length).toBeLessThan(50);
  });

  it('ends a day whose statement the channel refuses FAILED, and goes on with the next', async () => {
    const stubs = new StubFinance();
    stubs.refusedDays.add('2026-11-01');
    const outcomes = await withWorker(stubs, (taskQueue) =>
      client.workflow.execute<typeof reconcileRuns>(RECONCILIATION.requestWorkflow, {
        taskQueue,
        workflowId: RECONCILIATION.requestWorkflowId(randomUUID()),
        args: [[run('2026-11-01'), run('2026-11-02')]],
      }),
    );
    expect(outcomes.map((o) => o.status)).toEqual(['FAILED', 'COMPLETED']);
    expect(stubs.calls).toContain('failRun (NO_STATEMENT: no statement for that day) 2026-11-01');
    expect(stubs.calls).not.toContain('matchStatement 2026-11-01');
    expect(stubs.calls).toContain('rollUpReports 2026-11-02');
  });

  it('ends a run whose staging keeps failing FAILED with the reason once its bounded retries run out', async () => {
    const stubs = new StubFinance();
    stubs.dyingDays.add('2026-11-01');
    const fastRetry: RetryPolicy = { initialInterval: '10ms', maximumInterval: '10ms', maximumAttempts: 3 };
    const outcome = await withWorker(stubs, (taskQueue) =>
      client.workflow.execute<typeof reconcileChannelDay>('reconcileChannelDay', {
        taskQueue,
        workflowId: RECONCILIATION.runWorkflowId(randomUUID()),
        args: [run('2026-11-01'), fastRetry],
      }),
    );
    expect(outcome.status).toBe('FAILED');
    expect(stubs.calls.filter((c) => c === 'stageStatement 2026-11-01')).toHaveLength(3);
    expect(stubs.calls).toContain('failRun (Error: terminating connection because protocol synchronization was lost) 2026-11-01');
    expect(stubs.calls).not.toContain('matchStatement 2026-11-01');
  });

  it("opens a schedule's run for the time it fired, and reconciles it", async () => {
    const stubs = new StubFinance();
    const outcomes = await withWorker(stubs, (taskQueue) =>
      client.workflow.execute<typeof scheduledReconciliation>(RECONCILIATION.scheduledWorkflow, {
        taskQueue,
        workflowId: `recon-scheduled-test-${randomUUID()}`,
        args: [{ channel: 'sandbox' }],
      }),
    );
    expect(outcomes).toEqual([expect.objectContaining({ channel: 'sandbox', date: '2026-11-01', status: 'COMPLETED' })]);
    // Started by hand (no schedule): the workflow's start time stands for the firing.
    expect(Math.abs(Date.parse(stubs.scheduledWith!.scheduledAt) - Date.now())).toBeLessThan(60_000);
  });
});
