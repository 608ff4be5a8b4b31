import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, WithStartWorkflowOperation } from '@temporalio/client';
import { purchaseWorkflowId } from '../../domain/ids';
import { runPool, type GameWithItem } from '../../testkit/api-client';
import { GameIdKey, OrderStatusKey, PaymentChannelKey, UserIdKey } from '../../workflows/contract';
import { BENCH_RETRY, log } from './args';
import { floorPaymentNotifiedSignal, floorRequestPaymentUpdate } from './floor/definitions';
import type { floorPurchase } from './floor/workflows';
import { ManagedProcess, Stack, freePort } from './launcher';
import { PgProxy } from './pg-proxy';
import { round, timestampMs, withTimeout } from './system';

const PURCHASE_TIMEOUT_MS = 120_000;
const DRAIN_STALL_MS = 180_000;

export interface PurchaseRun {
  orderIds: string[];
  createMs: number[];
  endToEndMs: number[];
  wallMs: number;
}

/** `count` purchases by `concurrency` clients: create → pay in the sandbox → goods at the game → workflow done. */
export async function drivePurchases(
  stack: Stack,
  client: Client,
  game: GameWithItem,
  count: number,
  concurrency: number,
  /** Purchases started per second (open loop, at most `concurrency` at once); as fast as possible if absent. */
  rate?: number,
): Promise<PurchaseRun> {
  const run: PurchaseRun = { orderIds: [], createMs: [], endToEndMs: [], wallMs: 0 };
  const started = performance.now();
  await runPool(count, concurrency, async (i) => {
    if (rate) await sleep(Math.max(0, started + (i * 1000) / rate - performance.now()));
    const t0 = performance.now();
    const created = await stack.client.createOrderWithRetry(game, { userId: `player-${i % 500}`, sku: game.sku, region: 'CN' }, randomUUID(), BENCH_RETRY);
    run.createMs.push(performance.now() - t0);
    run.orderIds.push(created.orderId);
    if (!created.payment) throw new Error(`order ${created.orderId} was created ${created.status}, without payment`);
    await stack.client.payWithRetry(created.payment.channelPaymentId, {}, BENCH_RETRY);
    await withTimeout(
      (async () => {
        await stack.gameServer.delivered(created.orderId);
        await client.workflow.getHandle(purchaseWorkflowId(created.orderId)).result();
      })(),
      PURCHASE_TIMEOUT_MS,
      `purchase ${created.orderId}`,
    );
    run.endToEndMs.push(performance.now() - t0);
  });
  run.wallMs = performance.now() - started;
  return run;
}

/** The same closed loop against the floor workflow: Update-with-Start → signal → result. */
export async function driveFloor(client: Client, taskQueue: string, count: number, concurrency: number) {
  const updateMs: number[] = [];
  const endToEndMs: number[] = [];
  const started = performance.now();
  await runPool(count, concurrency, async (i) => {
    const orderId = randomUUID();
    const t0 = performance.now();
    const operation = new WithStartWorkflowOperation<typeof floorPurchase>('floorPurchase', {
      workflowId: `floor-${orderId}`,
      taskQueue,
      args: [{ orderId, requestHash: 'h' }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: OrderStatusKey, value: 'PENDING_PAYMENT' },
        { key: GameIdKey, value: 'floor' },
        { key: UserIdKey, value: `player-${i % 500}` },
        { key: PaymentChannelKey, value: 'floor' },
      ],
    });
    await client.workflow.executeUpdateWithStart(floorRequestPaymentUpdate, { args: ['h'], startWorkflowOperation: operation });
    updateMs.push(performance.now() - t0);
    const handle = await operation.workflowHandle();
    await handle.signal(floorPaymentNotifiedSignal, { notificationId: orderId });
    await withTimeout(handle.result(), PURCHASE_TIMEOUT_MS, `floor workflow ${orderId}`);
    endToEndMs.push(performance.now() - t0);
  });
  return { updateMs, endToEndMs, wallMs: performance.now() - started };
}

/** Notification received by the API (channel_notifications) → goods granted by the game server. */
export async function notificationToDelivered(stack: Stack, orderIds: string[]): Promise<number[]> {
  const { rows } = await stack.db.query<{ order_id: string; received_ms: string }>(
    `SELECT order_id, extract(epoch FROM min(first_received_at)) * 1000 AS received_ms
       FROM channel_notifications WHERE order_id = ANY($1::uuid[]) GROUP BY order_id`,
    [orderIds],
  );
  return rows.flatMap((r) => {
    const grant = stack.gameServer.grantOf(r.order_id);
    return grant ? [grant.grantedAt - Number(r.received_ms)] : [];
  });
}

/**
 * Risk check durations from the workflow histories: the checkRisk marker's completion time minus
 * the start of the workflow task that ran it (an upper bound: it includes the activation, ~1 ms).
 */
export async function riskCheckFromHistories(client: Client, orderIds: string[]): Promise<number[]> {
  const durations: number[] = [];
  for (const orderId of orderIds) {
    const history = await client.workflow.getHandle(purchaseWorkflowId(orderId)).fetchHistory();
    const events = history.events ?? [];
    const wftStarted = events.find((e) => e.workflowTaskStartedEventAttributes);
    const startedMs = timestampMs(wftStarted?.eventTime);
    for (const e of events) {
      const marker = e.markerRecordedEventAttributes;
      if (!marker || marker.markerName !== 'core_local_activity') continue;
      const data = marker.details?.data?.payloads?.[0]?.data;
      if (!data) continue;
      const parsed = JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string; complete_time?: unknown };
      if (parsed.activity_type !== 'checkRisk') continue;
      const completeMs = timestampMs(parsed.complete_time);
      if (startedMs !== undefined && completeMs !== undefined) durations.push(completeMs - startedMs);
    }
  }
  return durations;
}

export async function startFloorWorker(stack: Stack) {
  const metricsPort = await freePort();
  const floor = new ManagedProcess(
    'floor-worker',
    ['--import', 'tsx', 'bench/lib/floor/worker.ts'],
    {
      ...stack.api.env, // the stack's deployment settings (NODE_ENV and its secrets)
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_TASK_QUEUE: `${stack.taskQueue}-floor`,
      WORKER_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
    },
    path.join(stack.logDir, 'floor-worker.log'),
  );
  floor.start();
  await stack.waitForWorker(floor, `${stack.taskQueue}-floor`);
  return floor;
}

/** Statements per purchase, counted at two proxies (one per process) in a separate, smaller pass. */
export async function countSql(stack: Stack, client: Client, game: GameWithItem, sample: number) {
  const upstream = new URL(stack.options.databaseUrl);
  const target = { host: upstream.hostname, port: Number(upstream.port || 5432) };
  const proxies = { api: new PgProxy(target), worker: new PgProxy(target) };
  await Promise.all(Object.values(proxies).map((p) => p.start()));
  stack.api.env = { ...stack.api.env, DATABASE_URL: PgProxy.viaProxy(stack.options.databaseUrl, proxies.api.port) };
  stack.worker.env = { ...stack.worker.env, DATABASE_URL: PgProxy.viaProxy(stack.options.databaseUrl, proxies.worker.port) };
  await Promise.all([stack.restartApi('SIGTERM'), stack.restartWorker('SIGTERM')]);
  await drivePurchases(stack, client, game, 20, 5);
  await sleep(500);
  for (const p of Object.values(proxies)) p.resetCounts();
  const started = performance.now();
  await drivePurchases(stack, client, game, sample, 10);
  const seconds = (performance.now() - started) / 1000;
  await sleep(500);
  const isPoll = (sql: string) => sql.startsWith('UPDATE sandbox_notifications SET next_attempt_at');
  const per = (p: PgProxy) => {
    const all = [...p.statements];
    const polls = all.filter(([sql]) => isPoll(sql)).reduce((a, [, n]) => a + n, 0);
    const tx = all.filter(([sql]) => sql === 'BEGIN').reduce((a, [, n]) => a + n, 0);
    return {
      statements: round(p.totalStatements() / sample, 2),
      outboxPolls: round(polls / sample, 2),
      transactions: round(tx / sample, 2),
      top: all
        .filter(([sql]) => !isPoll(sql))
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([sql, n]) => ({ perPurchase: round(n / sample, 2), sql: sql.slice(0, 160) })),
    };
  };
  const result = { sample, seconds: round(seconds, 1), api: per(proxies.api), worker: per(proxies.worker) };
  await Promise.all(Object.values(proxies).map((p) => p.stop()));
  return result;
}

/** Waits until every order's goods are granted, or until nothing has moved for DRAIN_STALL_MS; returns how many were. */
export async function waitForGrants(stack: Stack, orderIds: string[]): Promise<number> {
  const grantedCount = () => orderIds.filter((id) => stack.gameServer.grantOf(id)).length;
  let last = -1;
  let lastProgress = performance.now();
  for (;;) {
    const n = grantedCount();
    if (n === orderIds.length) return n;
    if (n !== last) {
      log(`delivered ${n}/${orderIds.length}`);
      last = n;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > DRAIN_STALL_MS) {
      log(`no delivery for ${DRAIN_STALL_MS / 1000} s: ${orderIds.length - n} orders stuck`);
      return n;
    }
    await sleep(5_000);
  }
}

