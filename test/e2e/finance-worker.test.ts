import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'pg';
import { ManagedProcess, freePort } from '../../bench/lib/launcher';
import { orderOf, writeDayOfOrders } from '../../bench/lib/finance-data';
import { RECONCILIATION } from '../../workflows/contract';
import { Harness } from '../support/harness';
import { SANDBOX_FEE_RATE_BASIS_POINTS } from '../../sandbox/statements';

/** A sandbox account at the provider's own price: its statements' fees are judged at these terms. */
const SANDBOX_PRICED = { type: 'sandbox', enabled: true, routing: { feeRateBps: SANDBOX_FEE_RATE_BASIS_POINTS } };

/**
 * The finance worker as its own process (`WORKER_ROLES=finance`): it puts the daily schedules in
 * place when it starts, and a run it is killed in the middle of finishes, after a restart, with the
 * same result as a run nobody disturbed.
 */
let h: Harness;
let pool: Pool;
let worker: ManagedProcess;
const channel = `crash-${randomUUID().slice(0, 8)}`;
const DATE = '2020-05-20';
const ORDERS = 400_000;
const seed = `crash${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  h = await Harness.start();
  await h.stopFinanceWorker(); // the queue is the child process's
  pool = new Pool({ connectionString: h.config.DATABASE_URL, max: 2 });
  expect((await h.admin('PUT', `/v1/admin/channels/${channel}`, SANDBOX_PRICED)).status).toBe(200);
  worker = new ManagedProcess(
    'finance-worker',
    ['--import', 'tsx', 'worker.ts'],
    {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATABASE_URL: h.config.DATABASE_URL, // this file's own copy of the test database
      WORKER_ROLES: 'finance',
      FINANCE_TASK_QUEUE: h.config.FINANCE_TASK_QUEUE,
      TEMPORAL_TASK_QUEUE: h.config.TEMPORAL_TASK_QUEUE,
      PUBLIC_BASE_URL: h.config.PUBLIC_BASE_URL,
      WORKER_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
    },
    path.join(__dirname, '..', '..', '.temporal', `finance-worker-test-${process.pid}.log`),
  );
  worker.start();
}, 120_000);
afterAll(async () => {
  await worker?.kill('SIGKILL');
  for (const c of ['sandbox', channel]) {
    await h?.client.schedule.getHandle(RECONCILIATION.scheduleId(h.config.FINANCE_TASK_QUEUE, c)).delete().catch(() => undefined);
  }
  await pool?.end();
  await h?.close();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    if (!worker.pid && what !== 'the worker stopped') throw new Error(`the finance worker exited; see ${worker.logFile}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const scheduleOf = (c: string) => h.client.schedule.getHandle(RECONCILIATION.scheduleId(h.config.FINANCE_TASK_QUEUE, c));
const runOf = async (id: string) => (await h.admin('GET', `/v1/finance/reconciliations/${id}?limit=1000`)).body;

describe('the finance worker', () => {
  it('puts a daily schedule in place for every channel account with statements when it starts', async () => {
    const schedule = await until('the schedule', () => scheduleOf(channel).describe());
    expect(schedule.spec.timezone).toBe('Asia/Shanghai');
    expect(schedule.spec.calendars).toEqual([
      expect.objectContaining({ hour: [{ start: 10, end: 10, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] }),
    ]);
    expect(schedule.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: RECONCILIATION.scheduledWorkflow,
      args: [{ channel }],
      taskQueue: h.config.FINANCE_TASK_QUEUE,
    });
    expect(schedule.state.paused).toBe(false);
    expect((await scheduleOf('sandbox').describe()).action).toMatchObject({ args: [{ channel: 'sandbox' }] });
    // Paused by a person in the Temporal UI: it stays paused when the worker starts again (below).
    await scheduleOf(channel).pause('finance closes the books by hand this week');
  });

  it('finishes a run it was killed in the middle of, with the result of an undisturbed run', async () => {
    const game = await h.createGame();
    const data = { gameId: game.gameId, sku: await h.createItem(game), channel, date: DATE, timeZone: h.config.RECON_TIME_ZONE, orders: ORDERS, seed };
    await writeDayOfOrders(pool, data);
    for (const [n, kind, amount] of [[7, 'AMOUNT', 1], [70_000, 'DROP', null], [350_000, 'FEE', null]] as const) {
      const o = await orderOf(pool, seed, n);
      await pool.query(`INSERT INTO sandbox_statement_adjustments (statement_date, kind, payment_id, amount, fee) VALUES ($1, $2, $3, $4, $5)`, [
        DATE,
        kind,
        o.paymentId,
        amount,
        kind === 'FEE' ? 1 : null,
      ]);
    }

    const requested = await h.admin('POST', '/v1/finance/reconciliations', { channel, from: DATE, to: DATE });
    expect(requested.status).toBe(202);
    const runId = requested.body.runs[0].id;
    // Killed once the first chunk of the statement is in, well before the last.
    const partly = await until('a staged chunk', async () => {
      const run = await runOf(runId);
      return run.progress.rowsRead >= 100_000 ? run : undefined;
    }, 120_000, 20);
    await worker.kill('SIGKILL');
    const atKill = await runOf(runId);
    expect(atKill.status).toBe('RUNNING');
    expect(partly.progress.rowsRead).toBeLessThan(ORDERS);

    worker.start();
    const finished = await until('the run to finish', async () => {
      const run = await runOf(runId);
      return run.status === 'RUNNING' ? undefined : run;
    }, 180_000, 500);
    expect(finished.status).toBe('COMPLETED');
    expect(finished.progress.rowsRead).toBe(finished.summary.statementRows);
    // The staging step ran more than once: it resumed after the kill.
    const history = await h.client.workflow.getHandle(RECONCILIATION.runWorkflowId(runId)).fetchHistory();
    const staging = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'stageStatement');
    const started = history.events!.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(staging?.eventId));
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBeGreaterThan(1);

    const again = await h.admin('POST', '/v1/finance/reconciliations', { channel, from: DATE, to: DATE });
    const undisturbed = await until('the rerun', async () => {
      const run = await runOf(again.body.runs[0].id);
      return run.status === 'RUNNING' ? undefined : run;
    }, 180_000, 500);
    const shape = (run: { summary: unknown; differences: { kind: string; reason: string; resolution: string; orderId?: string }[] }) => ({
      summary: run.summary,
      differences: run.differences.map((d) => `${d.kind}/${d.reason}/${d.resolution} ${d.orderId}`).sort(),
    });
    expect(shape(finished)).toEqual(shape(undisturbed));
    expect(shape(finished).differences).toEqual(
      [
        `AMOUNT_MISMATCH/AMOUNT_DIFFERS/OPEN ${(await orderOf(pool, seed, 7)).id}`,
        `CROSS_DAY/AWAITING_NEXT_DAY/HELD_CROSS_DAY ${(await orderOf(pool, seed, 70_000)).id}`,
        `FEE_MISMATCH/FEE_DIFFERS/OPEN ${(await orderOf(pool, seed, 350_000)).id}`,
      ].sort(),
    );
    expect(finished.summary).toMatchObject({ statementRows: ORDERS - 1, platformRows: ORDERS, matched: ORDERS - 1 });

    // The restarted worker put its schedules in place again, and left the paused one paused.
    expect((await scheduleOf(channel).describe()).state.paused).toBe(true);
  }, 400_000);
});
