import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { temporal } from '@temporalio/proto';
import { ManagedProcess, freePort } from '../../bench/lib/launcher';
import { purchaseWorkflowId, reversalWorkflowId } from '../../domain/ids';
import { purchaseTiming } from '../../infra/config';
import { PurchasesClient } from '../../infra/temporal';
import { queuesNotPolled, workerQueues } from '../../infra/worker-queues';
import { Harness, type TestGame } from '../support/harness';

/**
 * Worker pools per domain task queue, as separate processes: a purchases-only worker runs the order
 * workflows, a fulfillment-only worker (`--queues fulfillment`, no workflows) makes every call to the
 * game server, and with the fulfillment pool down orders are still taken and paid, their deliveries
 * waiting until it is back.
 */
let h: Harness;
let game: TestGame;
let sku: string;
let purchasesWorker: ManagedProcess;
let fulfillmentWorker: ManagedProcess;

const { EventType } = temporal.api.enums.v1;
const identityOf = (worker: ManagedProcess) => `${worker.pid}@${hostname()}`;

async function workerProcess(name: string, args: string[], env: Record<string, string>): Promise<ManagedProcess> {
  return new ManagedProcess(
    name,
    ['--import', 'tsx', 'worker.ts', ...args],
    {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATABASE_URL: h.config.DATABASE_URL, // this file's own copy of the test database
      TEMPORAL_TASK_QUEUE: h.config.TEMPORAL_TASK_QUEUE,
      FULFILLMENT_TASK_QUEUE: h.config.FULFILLMENT_TASK_QUEUE,
      FINANCE_TASK_QUEUE: h.config.FINANCE_TASK_QUEUE,
      PUBLIC_BASE_URL: h.config.PUBLIC_BASE_URL,
      DELIVERY_HTTP_TIMEOUT_MS: String(h.config.DELIVERY_HTTP_TIMEOUT_MS),
      WORKER_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
      ...env,
    },
    path.join(__dirname, '..', '..', '.temporal', `${name}-test-${process.pid}.log`),
  );
}

/** Starts `worker` and waits until it polls each queue of `roles` (a fulfillment worker polls for activities only). */
async function startPolling(worker: ManagedProcess, roles: Parameters<typeof workerQueues>[1]) {
  worker.start();
  const deadline = Date.now() + 90_000;
  let waiting = workerQueues(h.config, roles);
  while (waiting.length > 0) {
    if (!worker.pid) throw new Error(`${worker.name} exited; see ${worker.logFile}`);
    if (Date.now() > deadline) throw new Error(`${worker.name} did not poll ${waiting.map((q) => q.taskQueue).join(', ')}; see ${worker.logFile}`);
    await sleep(250);
    waiting = await queuesNotPolled(h.client.connection, h.config.TEMPORAL_NAMESPACE, identityOf(worker), waiting);
  }
}

beforeAll(async () => {
  h = await Harness.start();
  await h.stopWorker(); // the purchases and fulfillment queues are the child processes'
  game = await h.createGame();
  const registered = await h.admin('PUT', `/v1/admin/games/${game.gameId}`, {
    name: 'Test Game',
    secret: game.secret,
    deliveryUrl: h.gameServer.deliveryUrl(game.gameId),
    revokeUrl: h.gameServer.revokeUrl(game.gameId),
  });
  expect(registered.status).toBe(200);
  sku = await h.createItem(game);
  purchasesWorker = await workerProcess('purchases-worker', [], { WORKER_ROLES: 'purchases' });
  fulfillmentWorker = await workerProcess('fulfillment-worker', ['--queues', 'fulfillment'], {});
  await Promise.all([startPolling(purchasesWorker, ['purchases']), startPolling(fulfillmentWorker, ['fulfillment'])]);
}, 180_000);
afterAll(async () => {
  await purchasesWorker?.kill('SIGKILL');
  await fulfillmentWorker?.kill('SIGKILL');
  await h?.close();
});

async function paidOrder(): Promise<string> {
  const created = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
  expect(created.status).toBe(201);
  await h.pay(created.body.payment.channelPaymentId);
  return created.body.orderId as string;
}

/** Which worker identity started each scheduled activity of a workflow, with the queue it was scheduled on. */
async function activitiesOf(workflowId: string): Promise<{ type: string; taskQueue: string; identity: string }[]> {
  const { events } = await h.client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, { type: string; taskQueue: string }>();
  const started: { type: string; taskQueue: string; identity: string }[] = [];
  for (const event of events ?? []) {
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const attrs = event.activityTaskScheduledEventAttributes!;
      scheduled.set(String(event.eventId), { type: attrs.activityType!.name!, taskQueue: attrs.taskQueue!.name! });
    }
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const attrs = event.activityTaskStartedEventAttributes!;
      started.push({ ...scheduled.get(String(attrs.scheduledEventId))!, identity: attrs.identity! });
    }
  }
  return started;
}

/** The identities that completed the workflow's tasks. */
async function workflowTaskIdentities(workflowId: string): Promise<Set<string>> {
  const { events } = await h.client.workflow.getHandle(workflowId).fetchHistory();
  return new Set(
    (events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).map((e) => e.workflowTaskCompletedEventAttributes!.identity!),
  );
}

it('delivers through the fulfillment-only worker while the purchases-only worker runs the workflow', async () => {
  const purchases = identityOf(purchasesWorker);
  const fulfillment = identityOf(fulfillmentWorker);
  const orderId = await paidOrder();
  await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('DELIVERED');
  expect(h.gameServer.grantsFor(orderId)).toHaveLength(1);

  expect(await workflowTaskIdentities(purchaseWorkflowId(orderId))).toEqual(new Set([purchases]));
  expect(await activitiesOf(purchaseWorkflowId(orderId))).toContainEqual({ type: 'deliverOrder', taskQueue: h.config.FULFILLMENT_TASK_QUEUE, identity: fulfillment });
  // Only game-server calls leave the purchases queue.
  const elsewhere = (await activitiesOf(purchaseWorkflowId(orderId))).filter((a) => a.taskQueue !== h.config.TEMPORAL_TASK_QUEUE);
  expect(elsewhere.map((a) => a.type)).toEqual(['deliverOrder']);

  // The fulfillment-only process registers no workflows: it never polls for workflow tasks.
  const [workflowPollers] = await queuesNotPolled(h.client.connection, h.config.TEMPORAL_NAMESPACE, fulfillment, workerQueues(h.config, ['purchases']));
  expect(workflowPollers?.taskQueue).toBe(h.config.TEMPORAL_TASK_QUEUE);

  // Taking the goods back after a chargeback is the fulfillment pool's call too.
  const client = new PurchasesClient(h.client, h.config.TEMPORAL_TASK_QUEUE, 10_000);
  await client.reverse(orderId, { cause: 'CHARGEBACK', dedupeKey: `pools-${orderId}`, revoke: true }, purchaseTiming(h.config));
  await expect(h.waitForWorkflowEnd(reversalWorkflowId(orderId))).resolves.toBe('CHARGED_BACK');
  expect([...h.gameServer.revocations.values()].filter((r) => r.orderId === orderId)).toHaveLength(1);
  expect(await activitiesOf(reversalWorkflowId(orderId))).toContainEqual({ type: 'revokeGrants', taskQueue: h.config.FULFILLMENT_TASK_QUEUE, identity: fulfillment });
}, 90_000);

it('takes and settles orders while the fulfillment pool is down; their deliveries complete once it is back', async () => {
  await fulfillmentWorker.stop();
  const orderId = await paidOrder();
  await h.waitForStatus(orderId, 'DELIVERING');
  await sleep(2_000);
  expect(await h.orderStatus(orderId)).toBe('DELIVERING');
  expect(h.gameServer.attemptsFor(orderId)).toHaveLength(0);

  await startPolling(fulfillmentWorker, ['fulfillment']);
  await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('DELIVERED');
  expect(h.gameServer.grantsFor(orderId)).toHaveLength(1);
}, 150_000);
