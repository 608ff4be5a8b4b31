import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, WithStartWorkflowOperation } from '@temporalio/client';
import { purchaseWorkflowId } from '../domain/ids';
import { REPO_ROOT, resolveTemporalCli } from '../infra/temporal-cli';
import { GameIdKey, OrderStatusKey, PaymentChannelKey, UserIdKey } from '../workflows/definitions';
import { runPool, type BenchGame } from './client';
import { floorPaymentNotifiedSignal, floorRequestPaymentUpdate } from './floor/definitions';
import type { floorPurchase } from './floor/workflows';
import { BENCH_DATA_DIR, ManagedProcess, Stack, freePort, stopStacksOnSignal } from './launcher';
import {
  RssSampler,
  cpuMsOf,
  describeMachine,
  histogramDelta,
  histogramQuantile,
  parsePromHistogram,
  processUsage,
  summarize,
  type LatencySummary,
} from './measure';
import { PgProxy } from './pg-proxy';
import { profilesOfPid, summarizeProfile, type ProfileSummary } from './profile';

const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');
const PURCHASE_TIMEOUT_MS = 120_000;
/** A game server retries a 503 with the same key; the latency then includes the retries, and the answers are reported. */
const BENCH_RETRY = { deadlineMs: 60_000, delayMs: 200 };
const DRAIN_STALL_MS = 180_000;
const SINGLE_CLIENT_PURCHASES = 50;
const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'throughput' },
    purchases: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '4' },
    'open-orders': { type: 'string', default: '10000' },
    'sql-sample': { type: 'string', default: '200' },
    'database-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/payments_bench' },
    'temporal-address': { type: 'string' },
    'temporal-db-file': { type: 'string' },
    'notify-poll-ms': { type: 'string', default: '200' },
    'paced-share': { type: 'string', default: '0.5' },
    'paced-seconds': { type: 'string', default: '60' },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});

const N = Number(args.purchases);
const C = Number(args.concurrency);
const WARMUP = Number(args.warmup);
/** The measured purchases and the floor's workflows alternate in this many rounds, so both see the same machine. */
const ROUNDS = Math.max(1, Number(args.rounds));

function baseEnv(): Record<string, string> {
  return { SANDBOX_NOTIFY_POLL_MS: args['notify-poll-ms']! };
}

/** CPU of every process of the system, for CPU per purchase. */
interface CpuSnapshot {
  at: number;
  byProcess: Record<string, number>;
}

async function postgresBackendPids(stack: Stack): Promise<number[]> {
  const name = decodeURIComponent(new URL(stack.options.databaseUrl).pathname.slice(1));
  const { rows } = await stack.db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  return rows.map((r) => r.pid);
}

async function cpuSnapshot(stack: Stack, extra: Record<string, ManagedProcess> = {}): Promise<CpuSnapshot> {
  // Stopped product processes (during the floor) simply have no pid.
  const byProcess: Record<string, number> = {};
  const add = (name: string, pid: number | undefined) => {
    if (pid) byProcess[name] = cpuMsOf(pid);
  };
  add('api', stack.api.pid);
  add('worker', stack.worker.pid);
  add('temporal', stack.temporalPid());
  for (const [name, p] of Object.entries(extra)) add(name, p.pid);
  for (const pid of await postgresBackendPids(stack)) byProcess[`pg:${pid}`] = cpuMsOf(pid);
  const self = process.cpuUsage();
  byProcess['bench (load generator, game server)'] = (self.user + self.system) / 1000;
  return { at: performance.now(), byProcess };
}

/** Adds the CPU each process used between two snapshots to `acc`, for the processes `counted` names. */
function addCpu(acc: Record<string, number>, before: CpuSnapshot, after: CpuSnapshot, counted: (name: string) => boolean) {
  for (const [name, end] of Object.entries(after.byProcess)) {
    const key = name.startsWith('pg:') ? 'postgresql' : name;
    if (counted(key)) acc[key] = (acc[key] ?? 0) + (end - (before.byProcess[name] ?? 0));
  }
}

function perUnit(acc: Record<string, number>, units: number): Record<string, number> {
  const total = Object.values(acc).reduce((a, b) => a + b, 0);
  return { ...Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, round(v / units, 2)])), total: round(total / units, 2) };
}

async function postgresVersion(stack: Stack): Promise<string | undefined> {
  const { rows } = await stack.db.query<{ server_version: string }>('SHOW server_version');
  return rows[0]?.server_version;
}

async function pgCounters(stack: Stack) {
  const name = decodeURIComponent(new URL(stack.options.databaseUrl).pathname.slice(1));
  const { rows } = await stack.db.query(
    'SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched FROM pg_stat_database WHERE datname = $1',
    [name],
  );
  return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
}

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

interface PurchaseRun {
  orderIds: string[];
  createMs: number[];
  endToEndMs: number[];
  wallMs: number;
}

/** `count` purchases by `concurrency` clients: create → pay in the sandbox → goods at the game → workflow done. */
async function drivePurchases(
  stack: Stack,
  client: Client,
  game: BenchGame,
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
async function driveFloor(client: Client, taskQueue: string, count: number, concurrency: number) {
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

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

/** Notification received by the API (channel_notifications) → goods granted by the game server. */
async function notificationToDelivered(stack: Stack, orderIds: string[]): Promise<number[]> {
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
async function riskCheckFromHistories(client: Client, orderIds: string[]): Promise<number[]> {
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

/** protobuf Timestamp as decoded ({ seconds, nanos }, seconds possibly a Long) or as serde JSON. */
function timestampMs(ts: unknown): number | undefined {
  if (!ts || typeof ts !== 'object') return undefined;
  const t = ts as { seconds?: unknown; nanos?: unknown };
  const seconds = typeof t.seconds === 'object' && t.seconds !== null ? Number(String(t.seconds)) : Number(t.seconds ?? 0);
  return seconds * 1000 + Number(t.nanos ?? 0) / 1e6;
}

async function scrape(url: string): Promise<string> {
  try {
    return await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  } catch {
    return '';
  }
}

/** Temporal's own view from the worker's metrics: where a purchase waits inside the engine. */
function temporalBreakdown(before: string, after: string) {
  const h = (name: string, filter: Record<string, string> = {}) =>
    histogramDelta(parsePromHistogram(after, name, filter), parsePromHistogram(before, name, filter));
  const describe = (x: ReturnType<typeof h>) => ({
    count: x.count,
    meanMs: x.count ? round((x.sum / x.count) * 1000, 2) : NaN,
    p99UpperBoundMs: round(histogramQuantile(x, 0.99) * 1000, 1),
  });
  return {
    workflowTaskScheduleToStart: describe(h('temporal_workflow_task_schedule_to_start_latency')),
    workflowTaskExecution: describe(h('temporal_workflow_task_execution_latency')),
    activityScheduleToStart: describe(h('temporal_activity_schedule_to_start_latency')),
    riskCheckLocalActivity: describe(h('temporal_local_activity_execution_latency', { activity_type: 'checkRisk' })),
    deliverOrderActivity: describe(h('temporal_activity_execution_latency', { activity_type: 'deliverOrder' })),
    pollRequests: describe(h('temporal_long_request_latency')),
    requests: describe(h('temporal_request_latency')),
  };
}

async function startFloorWorker(stack: Stack) {
  const metricsPort = await freePort();
  const floor = new ManagedProcess(
    'floor-worker',
    ['--import', 'tsx', 'bench/floor/worker.ts'],
    {
      ...process.env,
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
async function countSql(stack: Stack, client: Client, game: BenchGame, sample: number) {
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

async function throughputMode() {
  const cli = await resolveTemporalCli((m) => log(m));
  const machine = describeMachine({ temporalCli: cli });
  const profileDir = path.join(BENCH_DATA_DIR, 'profiles');
  if (args.profile) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const stack = await Stack.start({
    name: 'bench',
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    temporalDbFile: args['temporal-db-file'],
    env: baseEnv(),
    nodeArgs: args.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    log,
  });
  const client = new Client({ connection: stack.connection! });
  try {
    machine.postgres = await postgresVersion(stack);
    const game = await stack.client.registerGame((id) => stack.gameServer.deliveryUrl(id));
    stack.gameServer.setSecret(game.gameId, game.secret);

    log(`warm-up: ${WARMUP} purchases`);
    await drivePurchases(stack, client, game, WARMUP, C);
    // The floor runs on the same Temporal server beside the (idle) product processes.
    const floorWorker = await startFloorWorker(stack);
    const floorQueue = `${stack.taskQueue}-floor`;
    log(`floor warm-up: ${WARMUP} workflows of the same shape without database or HTTP`);
    await driveFloor(client, floorQueue, WARMUP, C);
    await sleep(1_500);
    const withFloor = { 'floor-worker': floorWorker };
    const samplers = { worker: new RssSampler(() => stack.worker.pid), api: new RssSampler(() => stack.api.pid), temporal: new RssSampler(() => stack.temporalPid()) };
    const [cpuBefore, pgBefore, metricsBefore] = [await cpuSnapshot(stack, withFloor), await pgCounters(stack), await scrape(stack.workerMetricsUrl)];
    log(`measured: ${N} purchases and ${N} floor workflows by ${C} concurrent clients, alternating in ${ROUNDS} rounds`);
    const run: PurchaseRun = { orderIds: [], createMs: [], endToEndMs: [], wallMs: 0 };
    const floor = { updateMs: [] as number[], endToEndMs: [] as number[], wallMs: 0 };
    const productCpu: Record<string, number> = {};
    const floorCpu: Record<string, number> = {};
    const isFloor = (name: string) => name === 'floor-worker';
    const engineOrBench = (name: string) => ['temporal', 'floor-worker'].includes(name) || name.startsWith('bench');
    for (let r = 0, done = 0; r < ROUNDS; r++) {
      const count = Math.round((N * (r + 1)) / ROUNDS) - done;
      done += count;
      const atStart = await cpuSnapshot(stack, withFloor);
      const purchases = await drivePurchases(stack, client, game, count, C);
      const afterPurchases = await cpuSnapshot(stack, withFloor);
      addCpu(productCpu, atStart, afterPurchases, (name) => !isFloor(name));
      const floorRun = await driveFloor(client, floorQueue, count, C);
      addCpu(floorCpu, afterPurchases, await cpuSnapshot(stack, withFloor), engineOrBench);
      run.orderIds.push(...purchases.orderIds);
      run.createMs.push(...purchases.createMs);
      run.endToEndMs.push(...purchases.endToEndMs);
      run.wallMs += purchases.wallMs;
      floor.updateMs.push(...floorRun.updateMs);
      floor.endToEndMs.push(...floorRun.endToEndMs);
      floor.wallMs += floorRun.wallMs;
      log(`round ${r + 1}: ${round(count / (purchases.wallMs / 1000))} purchases/s, floor ${round(count / (floorRun.wallMs / 1000))}/s`);
    }
    const [metricsAfter, cpuAfter] = [await scrape(stack.workerMetricsUrl), await cpuSnapshot(stack, withFloor)];
    await sleep(1_500); // PostgreSQL flushes its statistics at most once a second
    const pgAfter = await pgCounters(stack);
    const peakRss = { worker: samplers.worker.stop(), api: samplers.api.stop(), temporal: samplers.temporal.stop() };
    const lifetimePeak = { worker: stack.worker.usage()?.peakRssMiB, api: stack.api.usage()?.peakRssMiB };
    const purchasesPerSecond = N / (run.wallMs / 1000);
    const floorPerSecond = N / (floor.wallMs / 1000);
    log(`purchases: ${round(purchasesPerSecond)}/s; floor: ${round(floorPerSecond)}/s`);
    // The engine's own latency with nothing queued: what a create cannot go below on this server.
    const floorAlone = await driveFloor(client, floorQueue, SINGLE_CLIENT_PURCHASES, 1);
    await floorWorker.stop();

    // Latency below saturation: the same 50 clients, purchases arriving at a share of the measured maximum.
    const pacedRate = round(purchasesPerSecond * Number(args['paced-share']), 2);
    const pacedCount = Math.max(C, Math.round(pacedRate * Number(args['paced-seconds'])));
    log(`paced: ${pacedCount} purchases arriving at ${pacedRate}/s, at most ${C} at once`);
    const paced = await drivePurchases(stack, client, game, pacedCount, C, pacedRate);
    const pacedNotified = await notificationToDelivered(stack, paced.orderIds);

    // The unloaded path: one client, one purchase at a time.
    log(`single client: ${SINGLE_CLIENT_PURCHASES} purchases one after another`);
    const single = await drivePurchases(stack, client, game, SINGLE_CLIENT_PURCHASES, 1);
    const singleNotified = await notificationToDelivered(stack, single.orderIds);
    const singleRisk = await riskCheckFromHistories(client, single.orderIds);

    const notified = await notificationToDelivered(stack, run.orderIds);
    const riskSample = run.orderIds.slice(0, 300);
    const risk = await riskCheckFromHistories(client, riskSample);
    const temporal = temporalBreakdown(metricsBefore, metricsAfter);

    const pids = { worker: stack.worker.pid!, api: stack.api.pid! };
    await Promise.all([stack.worker.stop(), stack.api.stop()]);
    // With --profile, each process wrote its profile as it exited; keep the measured rounds' samples.
    const stoppedAt = performance.now();
    const window = { fromMsBeforeEnd: stoppedAt - cpuBefore.at, toMsBeforeEnd: stoppedAt - cpuAfter.at };
    const profiles: Record<string, ProfileSummary> | undefined = args.profile
      ? Object.fromEntries(
          Object.entries(pids).flatMap(([name, pid]) =>
            profilesOfPid(profileDir, pid).map(({ thread, file }) => [`${name} thread ${thread}`, summarizeProfile(file, window)]),
          ),
        )
      : undefined;

    log(`SQL: ${args['sql-sample']} purchases through counting proxies`);
    const sql = await countSql(stack, client, game, Number(args['sql-sample']));

    const created = summarize(run.createMs);
    const notifiedSummary = summarize(notified);
    const riskSummary = summarize(risk);
    const ratio = purchasesPerSecond / floorPerSecond;
    const result = {
      kind: 'throughput',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: {
        purchases: N,
        concurrency: C,
        warmup: WARMUP,
        rounds: ROUNDS,
        temporal: args['temporal-address'] ? `external ${args['temporal-address']}` : `dev server (${args['temporal-db-file'] ? 'file' : 'in-memory'} SQLite)`,
        sandboxNotifyPollMs: Number(args['notify-poll-ms']),
        databasePoolSize: 10,
        workerOptions: `as worker.ts (maxCachedWorkflows ${process.env.WORKER_MAX_CACHED_WORKFLOWS ?? 'default 500'})`,
      },
      purchases: {
        perSecond: round(purchasesPerSecond, 1),
        createOrderMs: created,
        endToEndMs: summarize(run.endToEndMs),
        notificationToDeliveredMs: notifiedSummary,
        riskCheckMs: { ...riskSummary, sampledWorkflows: riskSample.length, source: 'workflow history: checkRisk marker time minus workflow task start' },
        cpuMsPerPurchase: perUnit(productCpu, N),
        postgresPerPurchase: Object.fromEntries(Object.entries(pgAfter).map(([k, v]) => [k, round((v - (pgBefore[k] ?? 0)) / N, 2)])),
        peakRssMiB: { duringRun: roundAll(peakRss), processLifetime: roundAll(lifetimePeak) },
        temporal,
        profiles,
      },
      paced: {
        ratePerSecond: pacedRate,
        purchases: pacedCount,
        createOrderMs: summarize(paced.createMs),
        notificationToDeliveredMs: summarize(pacedNotified),
        endToEndMs: summarize(paced.endToEndMs),
      },
      singleClient: {
        purchases: single.orderIds.length,
        createOrderMs: summarize(single.createMs),
        notificationToDeliveredMs: summarize(singleNotified),
        riskCheckMs: summarize(singleRisk),
        endToEndMs: summarize(single.endToEndMs),
      },
      nonSuccessAnswers: stack.client.answers.toJSON(),
      sql,
      floor: {
        perSecond: round(floorPerSecond, 1),
        updateWithStartMs: summarize(floor.updateMs),
        singleClientUpdateWithStartMs: summarize(floorAlone.updateMs),
        endToEndMs: summarize(floor.endToEndMs),
        cpuMsPerWorkflow: perUnit(floorCpu, N),
      },
      ratioToFloor: round(ratio, 3),
      targets: [
        target(`create-order p99 < 100 ms at ${C} clients, saturated`, created.p99 < 100, `${created.p99} ms`),
        target(`create-order p99 < 100 ms at ${C} clients, paced at ${pacedRate}/s`, summarize(paced.createMs).p99 < 100, `${summarize(paced.createMs).p99} ms`),
        target('notification → delivered p99 < 1 s, saturated', notifiedSummary.p99 < 1000, `${notifiedSummary.p99} ms`),
        target(`notification → delivered p99 < 1 s, paced at ${pacedRate}/s`, summarize(pacedNotified).p99 < 1000, `${summarize(pacedNotified).p99} ms`),
        target('throughput ≥ 70% of the engine floor', ratio >= 0.7, `${round(ratio * 100)}%`),
      ],
    };
    finish('throughput', result, throughputMarkdown(result));
  } finally {
    await stack.stop();
  }
}

const roundAll = (o: Record<string, number | undefined>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === undefined ? null : round(v)]));

function target(name: string, met: boolean, measured: string) {
  return { name, met, measured };
}

async function openOrdersMode() {
  const count = Number(args['open-orders']);
  const cli = await resolveTemporalCli((m) => log(m));
  const machine = describeMachine({ temporalCli: cli });
  const stack = await Stack.start({
    name: 'bench-open',
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    temporalDbFile: args['temporal-db-file'],
    // Orders stay payable through the whole run; a failed delivery is retried within the stall window.
    env: { ...baseEnv(), PAYMENT_TIMEOUT_MS: String(2 * 3_600_000), DELIVERY_RETRY_MAX_MS: '10000' },
    log,
  });
  try {
    machine.postgres = await postgresVersion(stack);
    const game = await stack.client.registerGame((id) => stack.gameServer.deliveryUrl(id));
    stack.gameServer.setSecret(game.gameId, game.secret);
    const samplers = { worker: new RssSampler(() => stack.worker.pid), api: new RssSampler(() => stack.api.pid), temporal: new RssSampler(() => stack.temporalPid()) };

    log(`opening ${count} orders (${C} clients)`);
    const payments: { orderId: string; channelPaymentId: string }[] = [];
    const createMs: number[] = [];
    const openStarted = performance.now();
    await runPool(count, C, async (i) => {
      const t0 = performance.now();
      const created = await stack.client.createOrderWithRetry(game, { userId: `player-${i % 2000}`, sku: game.sku, region: 'CN' }, randomUUID(), BENCH_RETRY);
      createMs.push(performance.now() - t0);
      if (!created.payment) throw new Error(`order ${created.orderId} was created ${created.status}, without payment`);
      payments.push({ orderId: created.orderId, channelPaymentId: created.payment.channelPaymentId });
    });
    const openSeconds = (performance.now() - openStarted) / 1000;
    await sleep(3_000);
    const metrics = await scrape(stack.workerMetricsUrl);
    const cachedWorkflows = Number(/^temporal_sticky_cache_size\{[^}]*\}\s+(\S+)/m.exec(metrics)?.[1] ?? NaN);
    const whileOpen = {
      workerRssMiB: round(stack.worker.usage()?.rssMiB ?? NaN),
      apiRssMiB: round(stack.api.usage()?.rssMiB ?? NaN),
      temporalRssMiB: round(processUsage(stack.temporalPid() ?? 0)?.rssMiB ?? NaN),
      workflowsInWorkerCache: cachedWorkflows,
    };
    log(`open: worker ${whileOpen.workerRssMiB} MiB, Temporal ${whileOpen.temporalRssMiB} MiB; paying all`);

    const drainStarted = performance.now();
    await runPool(payments.length, C, (i) => stack.client.payWithRetry(payments[i]!.channelPaymentId, {}, BENCH_RETRY));
    const paidSeconds = (performance.now() - drainStarted) / 1000;
    const drainStartedAt = Date.now() - (performance.now() - drainStarted);
    const granted = await waitForGrants(stack, payments.map((p) => p.orderId));
    // Until the last delivery (a stall's wait for stuck orders is not drain time).
    const lastGrant = Math.max(...payments.map((p) => stack.gameServer.grantOf(p.orderId)?.grantedAt ?? 0));
    const drainSeconds = (lastGrant - drainStartedAt) / 1000;
    await sleep(2_000);
    const { rows: statusRows } = await stack.db.query<{ status: string; n: string }>(
      'SELECT status, count(*) AS n FROM orders WHERE game_id = $1 GROUP BY status',
      [game.gameId],
    );
    const statuses = Object.fromEntries(statusRows.map((r) => [r.status, Number(r.n)]));
    const peak = { worker: samplers.worker.stop(), api: samplers.api.stop(), temporal: samplers.temporal.stop() };
    const result = {
      kind: 'open-orders',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { openOrders: count, concurrency: C, sandboxNotifyPollMs: Number(args['notify-poll-ms']), workerOptions: `as worker.ts (maxCachedWorkflows ${process.env.WORKER_MAX_CACHED_WORKFLOWS ?? 'default 500'})` },
      open: { seconds: round(openSeconds, 1), ordersPerSecond: round(count / openSeconds, 1), createOrderMs: summarize(createMs), ...whileOpen },
      drain: { paySeconds: round(paidSeconds, 1), drainSeconds: round(drainSeconds, 1), deliveredPerSecond: round(count / drainSeconds, 1), statuses, allDelivered: statuses.DELIVERED === count && granted === count },
      nonSuccessAnswers: stack.client.answers.toJSON(),
      peakRssMiB: roundAll(peak),
      processLifetimePeakRssMiB: roundAll({ worker: stack.worker.usage()?.peakRssMiB, api: stack.api.usage()?.peakRssMiB }),
      targets: [target(`${count} open orders complete with the worker under 1 GiB`, peak.worker < 1024 && statuses.DELIVERED === count, `worker peak ${round(peak.worker)} MiB, ${statuses.DELIVERED ?? 0}/${count} delivered`)],
    };
    finish('open-orders', result, openOrdersMarkdown(result));
  } finally {
    await stack.stop();
  }
}

/** Waits until every order's goods are granted, or until nothing has moved for DRAIN_STALL_MS; returns how many were. */
async function waitForGrants(stack: Stack, orderIds: string[]): Promise<number> {
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

function finish(name: string, result: object, markdown: string) {
  console.log(`\n${markdown}`);
  if (args['no-write']) return;
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, `${name}.md`), markdown);
  log(`wrote bench/results/${name}.json and .md`);
}

function machineLine(m: ReturnType<typeof describeMachine> & { loadAverageAtEnd: number[] }) {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}, PostgreSQL ${m.postgres}, ${m.temporal}; load average ${m.loadAverageAtStart.join(' / ')} at start, ${m.loadAverageAtEnd.join(' / ')} at end`;
}

const answersLine = (a: Record<string, number>) => Object.entries(a).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
const ms = (s: LatencySummary) => `p50 ${s.p50} · p95 ${s.p95} · p99 ${s.p99} · max ${s.max}`;
const targetsTable = (targets: { name: string; met: boolean; measured: string }[]) =>
  ['| Target | Measured | Met |', '| --- | --- | --- |', ...targets.map((t) => `| ${t.name} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`)].join('\n');

function throughputMarkdown(r: any): string {
  const p = r.purchases;
  const cpu = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [
    `### Throughput — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    `Run: ${r.settings.purchases} purchases and as many floor workflows by ${r.settings.concurrency} concurrent clients, alternating in ${r.settings.rounds ?? 1} rounds, after ${r.settings.warmup} warm-up; Temporal ${r.settings.temporal}; sandbox outbox polled every ${r.settings.sandboxNotifyPollMs} ms.`,
    '',
    '| Measure | Value |',
    '| --- | --- |',
    `| Purchases per second (create → pay → delivered → workflow closed) | **${p.perSecond}** |`,
    `| Engine floor, same shape, no DB/HTTP (workflows per second) | ${r.floor.perSecond} |`,
    `| Ratio to the floor | **${Math.round(r.ratioToFloor * 100)}%** |`,
    `| Saturated: create order, ms | ${ms(p.createOrderMs)} |`,
    `| Saturated: notification received → goods granted, ms | ${ms(p.notificationToDeliveredMs)} |`,
    `| Risk check, ms (${p.riskCheckMs.sampledWorkflows} histories) | ${ms(p.riskCheckMs)} |`,
    `| End-to-end purchase, ms | ${ms(p.endToEndMs)} |`,
    `| Paced at ${r.paced.ratePerSecond}/s (${r.paced.purchases} purchases, ${r.settings.concurrency} clients): create order, ms | ${ms(r.paced.createOrderMs)} |`,
    `| Paced: notification received → goods granted, ms | ${ms(r.paced.notificationToDeliveredMs)} |`,
    `| One client alone (${r.singleClient.purchases} purchases in a row): create order, ms | ${ms(r.singleClient.createOrderMs)} |`,
    `| One client alone: notification received → goods granted, ms | ${ms(r.singleClient.notificationToDeliveredMs)} |`,
    `| One client alone: risk check, ms | ${ms(r.singleClient.riskCheckMs)} |`,
    `| Floor Update-with-Start, saturated at ${r.settings.concurrency} clients, ms | ${ms(r.floor.updateWithStartMs)} |`,
    `| Floor Update-with-Start, one client alone, ms | ${ms(r.floor.singleClientUpdateWithStartMs)} |`,
    `| SQL statements per purchase (API + worker) | ${round(r.sql.api.statements + r.sql.worker.statements, 1)} (API ${r.sql.api.statements}, worker ${r.sql.worker.statements}; of which sandbox outbox polls ${round(r.sql.api.outboxPolls, 1)}) |`,
    `| Transactions per purchase (BEGIN at the proxy / pg_stat_database commits) | ${round(r.sql.api.transactions + r.sql.worker.transactions, 1)} / ${p.postgresPerPurchase.xact_commit} |`,
    `| Rows written per purchase (inserted + updated) | ${round(p.postgresPerPurchase.tup_inserted + p.postgresPerPurchase.tup_updated, 1)} |`,
    `| Peak RSS during the run, MiB | worker ${p.peakRssMiB.duringRun.worker}, API ${p.peakRssMiB.duringRun.api}, Temporal ${p.peakRssMiB.duringRun.temporal} |`,
    `| Peak RSS over the process life (VmHWM), MiB | worker ${p.peakRssMiB.processLifetime.worker}, API ${p.peakRssMiB.processLifetime.api} |`,
    `| CPU ms per purchase | ${cpu(p.cpuMsPerPurchase)} |`,
    `| Answers other than success (retried with the same key) | ${answersLine(r.nonSuccessAnswers)} |`,
    `| CPU ms per floor workflow | ${cpu(r.floor.cpuMsPerWorkflow)} |`,
    `| Worker: workflow task schedule-to-start / execution, mean ms | ${p.temporal.workflowTaskScheduleToStart.meanMs} / ${p.temporal.workflowTaskExecution.meanMs} |`,
    '',
    targetsTable(r.targets),
    '',
  ];
  if (p.profiles) {
    for (const [name, prof] of Object.entries(p.profiles as Record<string, ProfileSummary>)) {
      if (prof.sampledMs < 500) continue;
      lines.push(
        `CPU profile, ${name}, measured run (${prof.sampledMs} ms of busy samples): ${prof.byArea.slice(0, 8).map((a) => `${a.area} ${a.percent}%`).join(', ')}; top functions: ${prof.topFunctions.slice(0, 5).map((f) => `${f.fn} ${f.percent}%`).join(', ')}.`,
        '',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function openOrdersMarkdown(r: any): string {
  return `${[
    `### ${r.settings.openOrders} open orders — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    '',
    '| Measure | Value |',
    '| --- | --- |',
    `| Opening ${r.settings.openOrders} orders (${r.settings.concurrency} clients) | ${r.open.seconds} s, ${r.open.ordersPerSecond} orders/s; create ${ms(r.open.createOrderMs)} ms |`,
    `| While all are open: RSS, MiB | worker ${r.open.workerRssMiB}, API ${r.open.apiRssMiB}, Temporal ${r.open.temporalRssMiB} |`,
    `| Workflows in the worker's cache | ${r.open.workflowsInWorkerCache} |`,
    `| Paying all (${r.settings.concurrency} clients) / draining until every order is delivered | ${r.drain.paySeconds} s / ${r.drain.drainSeconds} s (${r.drain.deliveredPerSecond} deliveries/s) |`,
    `| Final statuses | ${Object.entries(r.drain.statuses).map(([k, v]) => `${k} ${v}`).join(', ')}; all delivered: ${r.drain.allDelivered ? 'yes' : '**no**'} |`,
    `| Answers other than success (retried with the same key) | ${answersLine(r.nonSuccessAnswers)} |`,
    `| Peak RSS over the mode, MiB | worker ${r.peakRssMiB.worker}, API ${r.peakRssMiB.api}, Temporal ${r.peakRssMiB.temporal} |`,
    '',
    targetsTable(r.targets),
  ].join('\n')}\n`;
}

async function main() {
  stopStacksOnSignal();
  if (args.mode === 'throughput') await throughputMode();
  else if (args.mode === 'open-orders') await openOrdersMode();
  else if (args.mode === 'all') {
    await throughputMode();
    await openOrdersMode();
  } else throw new Error(`unknown --mode ${args.mode}: throughput, open-orders or all`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
