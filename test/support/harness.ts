import { randomInt, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import {
  NativeConnection,
  Runtime,
  bundleWorkflowCode,
  type Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { startApi, type RunningApi } from '../../api/server';
import { openChannelHealth, type ChannelHealth } from '../../routing/channel-health';
import { loadConfig, type Config } from '../../infra/config';
import { watchConfigChanges, type ConfigChanges } from '../../infra/config-changes';
import { openDatabase, type Database, type Db, type RunSql } from '../../infra/db';
import { createLogger, temporalLogger } from '../../infra/logger';
import { workerTelemetry } from '../../infra/metrics';
import { ApiClient, type Answer, type GameCredentials } from '../../testkit/api-client';
import { ReferenceGameServer, type GameServerOptions } from '../../testkit/game-server';
import { createFinanceWorker, createFulfillmentWorker, createPurchaseWorker } from '../../worker';
import { openRiskCounters } from '../../activities/risk';
import type { RiskCounters } from '../../store/risk-counters';
import { quoteIdent, withMaintenanceDb } from '../../scripts/lib/migrate';
import { templateName } from './global-setup';
import { LogCapture } from './log-capture';

export type TestGame = GameCredentials;
export type JsonResponse = Answer;

/** Every log line of the API, the worker and the workflows of this test file. */
export const logCapture = new LogCapture();

// The worker's Prometheus endpoint needs its port now, synchronously: a random one below the
// kernel's ephemeral range (so no listen(0) elsewhere gets it), another one if it is taken.
export const workerMetricsUrl = installTestRuntime();
function installTestRuntime(): string {
  for (let attempt = 1; ; attempt++) {
    const bindAddress = `127.0.0.1:${randomInt(20_000, 30_000)}`;
    try {
      const log = createLogger({ LOG_LEVEL: 'info', NODE_ENV: 'test' }, 'worker', logCapture);
      Runtime.install({ logger: temporalLogger(log), telemetryOptions: workerTelemetry(bindAddress) });
      return `http://${bindAddress}/metrics`;
    } catch (err) {
      if (attempt === 10 || !/address already in use/i.test((err as Error).message)) throw err;
    }
  }
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle is built once per test file. */
export function workflowBundle() {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
  return bundle;
}
const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };

/**
 * The API's port, picked before it listens (its config names it): a free one below the kernel's
 * ephemeral range, as for the metrics above. A port listen(0) gave and gave back can be handed to the
 * next listen(0) (the game server's, a fake's) before the API binds it: seen in CI as EADDRINUSE.
 */
async function freePort(): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = randomInt(30_000, 32_700);
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '0.0.0.0', () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
    if (attempt === 20) throw new Error('no free port for the API between 30000 and 32700');
  }
}

/**
 * The whole system for one test file: real PostgreSQL (migrated by the global setup), the shared
 * Temporal dev server, our worker and API in process on real sockets, and a fake game server.
 * `config` is read per request, so a test may shorten a duration before it creates an order.
 */
export class Harness {
  /** The purchases pool; with it, the fulfillment pool (game-server calls) starts and stops, as one default worker process runs both. */
  worker?: Worker;
  private workerRun?: Promise<void>;
  fulfillmentWorker?: Worker;
  private fulfillmentWorkerRun?: Promise<void>;
  /** Reconciliation, on its own task queue (as `WORKER_ROLES=finance` runs it). */
  financeWorker?: Worker;
  private financeWorkerRun?: Promise<void>;
  /** The worker's own view of configuration changes, as a separate process would have. */
  private workerChanges?: ConfigChanges;
  /** The worker's own connection to the channels' shared health (PostgreSQL, or REDIS_URL). */
  private workerHealth?: ChannelHealth;
  /** The worker's risk counters (PostgreSQL, or REDIS_URL). */
  private workerRisk?: RiskCounters;

  private constructor(
    readonly config: Config,
    private readonly databaseRef: Database,
    readonly api: RunningApi,
    readonly client: Client,
    private readonly connection: Connection,
    private readonly nativeConnection: NativeConnection,
    readonly gameServer: ReferenceGameServer,
    readonly http: ApiClient,
  ) {}

  get database(): Database {
    return this.databaseRef;
  }

  get db(): Db {
    return this.databaseRef.db;
  }

  get sql(): RunSql {
    return this.databaseRef.sql;
  }

  /** `gameServer`: the reference game server's options (e.g. a seeded random source for its faults). */
  static async start(overrides: Record<string, string> = {}, gameServer: GameServerOptions = {}): Promise<Harness> {
    const port = await freePort();
    // A database of this file's own: channel accounts, breakers and routing one file sets up never
    // reach another file's orders.
    const ownDatabase = overrides.DATABASE_URL ? undefined : await copyOfTestDatabase(process.env.DATABASE_URL!);
    const config = loadConfig({
      ...process.env,
      ...(ownDatabase && { DATABASE_URL: ownDatabase }),
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      PORT: String(port),
      API_METRICS_ADDRESS: '127.0.0.1:0',
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      TEMPORAL_TASK_QUEUE: `test-${randomUUID()}`,
      FINANCE_TASK_QUEUE: `test-finance-${randomUUID()}`,
      FULFILLMENT_TASK_QUEUE: `test-fulfillment-${randomUUID()}`,
      PAYMENT_TIMEOUT_MS: '60000',
      DELIVERY_DEADLINE_MS: '60000',
      DELIVERY_HTTP_TIMEOUT_MS: '2000',
      DELIVERY_RETRY_INITIAL_MS: '200',
      DELIVERY_RETRY_MAX_MS: '500',
      ACTIVITY_RETRY_INITIAL_MS: '100',
      ACTIVITY_RETRY_MAX_MS: '1000',
      CHANNEL_OPEN_BUDGET_MS: '3000',
      SANDBOX_NOTIFY_RETRY_MS: '200',
      SANDBOX_NOTIFY_POLL_MS: '50',
      RISK_MAX_ORDERS_PER_USER: '1000',
      // Routing would adapt to what earlier tests of the file did to the channels (a sandbox made to
      // fail, an outage): here an order goes where it went before routing, unless a test turns
      // adaptation on (test/e2e/routing.test.ts).
      ROUTING_EXPLORATION_SHARE: '0',
      ROUTING_FAILURE_PENALTY_BPS: '0',
      CHANNEL_BREAKER_CONSECUTIVE_FAILURES: '1000000',
      CHANNEL_BREAKER_MIN_CALLS: '1000000',
      ...overrides,
    });
    const database = openDatabase(config.DATABASE_URL, 5);
    const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
    const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
    const referenceGameServer = await new ReferenceGameServer(gameServer).start();
    const api = await startApi(config, database, connection, createLogger(config, 'api', logCapture));
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const apiClient = new ApiClient(api.url, config.ADMIN_TOKEN);
    const harness = new Harness(config, database, api, client, connection, nativeConnection, referenceGameServer, apiClient);
    await harness.startWorker();
    await harness.startFinanceWorker();
    return harness;
  }

  /** A started system with one game that sells one item (overrides: config; item: its fields). */
  static async startWithGame(overrides: Record<string, string> = {}, item: Partial<Record<string, unknown>> = {}) {
    const h = await Harness.start(overrides);
    const game = await h.createGame();
    return { h, game, sku: await h.createItem(game, item) };
  }

  async startWorker() {
    this.workerChanges ??= watchConfigChanges(this.config.DATABASE_URL);
    this.workerHealth ??= openChannelHealth(this.config, this.databaseRef);
    this.workerRisk ??= openRiskCounters(this.config, this.databaseRef);
    this.worker = await createPurchaseWorker({
      config: this.config,
      database: this.databaseRef,
      connection: this.nativeConnection,
      workflowBundle: await workflowBundle(),
      changes: this.workerChanges,
      health: this.workerHealth,
      riskCounters: this.workerRisk,
    });
    this.workerRun = this.worker.run();
    this.fulfillmentWorker = await createFulfillmentWorker({
      config: this.config,
      database: this.databaseRef,
      connection: this.nativeConnection,
      changes: this.workerChanges,
      health: this.workerHealth,
      riskCounters: this.workerRisk,
    });
    this.fulfillmentWorkerRun = this.fulfillmentWorker.run();
  }

  async stopWorker() {
    this.worker?.shutdown();
    this.fulfillmentWorker?.shutdown();
    await this.workerRun;
    await this.fulfillmentWorkerRun;
    this.worker = undefined;
    this.fulfillmentWorker = undefined;
  }

  async startFinanceWorker() {
    this.workerChanges ??= watchConfigChanges(this.config.DATABASE_URL);
    this.workerRisk ??= openRiskCounters(this.config, this.databaseRef);
    this.financeWorker = await createFinanceWorker({
      config: this.config,
      database: this.databaseRef,
      connection: this.nativeConnection,
      workflowBundle: await workflowBundle(),
      changes: this.workerChanges,
      riskCounters: this.workerRisk,
    });
    this.financeWorkerRun = this.financeWorker.run();
  }

  async stopFinanceWorker() {
    this.financeWorker?.shutdown();
    await this.financeWorkerRun;
    this.financeWorker = undefined;
  }

  async close() {
    await this.stopWorker();
    await this.stopFinanceWorker();
    await this.workerChanges?.close();
    await this.workerHealth?.close();
    await this.workerRisk?.close();
    await this.api.stop();
    await this.gameServer.stop();
    await this.connection.close();
    await this.nativeConnection.close();
    await this.databaseRef.close();
    if (this.config.DATABASE_URL !== process.env.DATABASE_URL) await dropDatabase(this.config.DATABASE_URL);
  }

  /** A new game whose deliveries go to the reference game server. */
  async createGame(name = 'Test Game'): Promise<TestGame> {
    const game = await this.http.registerGame((gameId) => this.gameServer.deliveryUrl(gameId), { name });
    this.gameServer.setSecret(game.gameId, game.secret);
    return game;
  }

  /** The demo gems (CN 600 CNY, JP 160 JPY, elsewhere 99 USD) in `game`, with `item`'s fields changed. */
  createItem(game: TestGame, item: Partial<Record<string, unknown>> = {}): Promise<string> {
    return this.http.registerItem(game, undefined, item);
  }

  admin(method: string, path: string, body?: unknown, token = this.config.ADMIN_TOKEN) {
    return this.http.admin(method, path, body, token);
  }

  signed(game: TestGame, method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}) {
    return this.http.signed(game, method, path, body, extraHeaders);
  }

  createOrder(game: TestGame, body: Record<string, unknown>, idempotencyKey: string = randomUUID()) {
    return this.http.createOrder(game, body, idempotencyKey);
  }

  pay(channelPaymentId: string, body: Record<string, unknown> = { result: 'SUCCESS' }) {
    return this.http.pay(channelPaymentId, body);
  }

  request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<JsonResponse> {
    return this.http.request(method, path, body, headers);
  }

  async orderStatus(orderId: string): Promise<string | undefined> {
    const order = await this.db.order.findUnique({ where: { id: orderId }, select: { status: true } });
    return order?.status;
  }

  async waitForStatus(orderId: string, status: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let current: string | undefined;
    while (Date.now() < deadline) {
      current = await this.orderStatus(orderId);
      if (current === status) return;
      await sleep(50);
    }
    throw new Error(`order ${orderId} is ${current}, expected ${status} within ${timeoutMs} ms`);
  }

  /** Waits until the order's workflow has finished, whatever its result. */
  async waitForWorkflowEnd(workflowId: string): Promise<unknown> {
    return this.client.workflow.getHandle(workflowId).result();
  }
}

/** A fresh copy of the migrated test database (created from its template in milliseconds). */
async function copyOfTestDatabase(databaseUrl: string): Promise<string> {
  const url = new URL(databaseUrl);
  const name = `${decodeURIComponent(url.pathname.slice(1))}_${randomUUID().slice(0, 8)}`;
  await withMaintenanceDb(databaseUrl, (admin, base) => admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(templateName(base))}`));
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

async function dropDatabase(databaseUrl: string) {
  await withMaintenanceDb(databaseUrl, (admin, name) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
