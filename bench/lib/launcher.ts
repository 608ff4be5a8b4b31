import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { Pool } from 'pg';
import { migrate, quoteIdent, withMaintenanceDb } from '../../scripts/lib/migrate';
import { REPO_ROOT, resolveTemporalCli, startTemporalDevServer, type DevServer } from '../../scripts/lib/temporal-cli';
import { ApiClient } from '../../testkit/api-client';
import { ReferenceGameServer } from '../../testkit/game-server';
import { freshSecrets } from '../../testkit/secrets';
import { findPids, processUsage, type ProcessUsage } from './measure';
import { PgProxy } from './pg-proxy';

export const BENCH_DATA_DIR = path.join(REPO_ROOT, '.data', 'bench');
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 15_000;

/** Children still running when this process exits are killed with it: no orphans holding ports. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** One product process (worker, API, floor worker) that a drill may kill, stop and start again. */
export class ManagedProcess {
  private child?: ChildProcess;
  readonly exits: { code: number | null; signal: string | null; at: number }[] = [];
  /** Node flags for the next starts (e.g. --cpu-prof). */
  nodeArgs: string[] = [];

  constructor(
    readonly name: string,
    /** Node arguments: loader flags, then the entry file. */
    private readonly args: string[],
    public env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {}

  start() {
    if (this.pid) throw new Error(`${this.name} is already running (pid ${this.pid})`);
    mkdirSync(path.dirname(this.logFile), { recursive: true });
    // A new run starts a new log; restarts within it append.
    const out = openSync(this.logFile, this.exits.length ? 'a' : 'w');
    const child = spawn(process.execPath, [...this.nodeArgs, ...this.args], {
      cwd: REPO_ROOT,
      env: this.env,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    liveChildren.add(child);
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      this.exits.push({ code, signal, at: Date.now() });
    });
    this.child = child;
  }

  get pid(): number | undefined {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  usage(): ProcessUsage | undefined {
    return this.pid ? processUsage(this.pid) : undefined;
  }

  /** Sends `signal` and waits for the exit (SIGKILL for a crash, SIGTERM for a clean stop). */
  async kill(signal: NodeJS.Signals = 'SIGKILL', graceMs = STOP_GRACE_MS): Promise<void> {
    const child = this.child;
    if (!child || !this.pid) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  stop() {
    return this.kill('SIGTERM');
  }
}

/** With `BENCH_PORT_BASE` (a machine shared by several people), ports are taken upwards from it. */
let nextPort = Number(process.env.BENCH_PORT_BASE) || 0;

export async function freePort(): Promise<number> {
  const server = createServer();
  for (;;) {
    const wanted = nextPort ? nextPort++ : 0;
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(wanted, '127.0.0.1', () => resolve(true));
    });
    if (bound) break;
  }
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Drops and migrates a database this tool owns; refuses any other name. */
export async function freshDatabase(databaseUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (!/bench|chaos/.test(name)) throw new Error(`refusing to drop database ${name}: its name must contain "bench" or "chaos"`);
  await withMaintenanceDb(databaseUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
  await migrate(databaseUrl);
}

export function sandboxKeyPair() {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    SANDBOX_PRIVATE_KEY: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    SANDBOX_PUBLIC_KEY: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface StackOptions {
  /** Names the task queue and the log folder. */
  name: string;
  databaseUrl: string;
  /** Keep the database's data (only migrate it): a mode measuring again over data it generated before. */
  keepDatabase?: boolean;
  /** A running Temporal frontend to use; otherwise a dev server is started. */
  temporalAddress?: string;
  /** File-backed dev server (survives its own restart); in memory otherwise. */
  temporalDbFile?: string;
  /** Route the product processes' PostgreSQL traffic through a counting, cuttable proxy. */
  pgProxy?: boolean;
  /** Environment of the worker and the API on top of the stack's defaults. */
  env?: Record<string, string>;
  gameServerLog?: string;
  /** Node flags for the worker and the API (profiling). */
  nodeArgs?: string[];
  log?: (msg: string) => void;
}

/**
 * The whole system as separate processes, as it runs in production: a Temporal server, the worker
 * and the API (`node --import tsx worker.ts` / `api/server.ts`), PostgreSQL (optionally behind a
 * proxy), and a game server in this process.
 */
export class Stack {
  temporal?: DevServer;
  temporalAddress = '';
  connection?: Connection;
  pgProxy?: PgProxy;
  worker!: ManagedProcess;
  api!: ManagedProcess;
  readonly gameServer: ReferenceGameServer;
  /** Direct to PostgreSQL (never through the proxy), for checks. */
  readonly db: Pool;
  client!: ApiClient;
  /** The sandbox provider's key pair the API processes share (drills sign notifications with it). */
  readonly sandboxKeys = sandboxKeyPair();
  apiUrl = '';
  /** The API's Prometheus endpoint (API_METRICS_ADDRESS). */
  apiMetricsUrl = '';
  workerMetricsUrl = '';
  taskQueue: string;
  private temporalPort = 0;
  private readonly log: (msg: string) => void;
  readonly logDir: string;

  constructor(readonly options: StackOptions) {
    this.log = options.log ?? (() => undefined);
    this.logDir = path.join(BENCH_DATA_DIR, options.name);
    this.gameServer = new ReferenceGameServer({ logFile: options.gameServerLog });
    this.db = new Pool({ connectionString: options.databaseUrl, max: 4 });
    this.taskQueue = `${options.name}-purchases`;
  }

  static async start(options: StackOptions): Promise<Stack> {
    const stack = new Stack(options);
    runningStacks.add(stack);
    try {
      await stack.boot();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  private async boot() {
    const o = this.options;
    this.log(`database ${new URL(o.databaseUrl).pathname.slice(1)}: ${o.keepDatabase ? 'kept' : 'fresh'} and migrated`);
    await Promise.all([this.startTemporal(), o.keepDatabase ? migrate(o.databaseUrl) : freshDatabase(o.databaseUrl)]);
    let productDbUrl = o.databaseUrl;
    if (o.pgProxy) {
      const upstream = new URL(o.databaseUrl);
      this.pgProxy = new PgProxy({ host: upstream.hostname, port: Number(upstream.port || 5432) });
      await this.pgProxy.start();
      productDbUrl = PgProxy.viaProxy(o.databaseUrl, this.pgProxy.port);
    }
    await this.gameServer.start();
    const [apiPort, metricsPort, apiMetricsPort] = [await freePort(), await freePort(), await freePort()];
    this.apiMetricsUrl = `http://127.0.0.1:${apiMetricsPort}/metrics`;
    // The worker's Prometheus endpoint (SDK latencies): on a port of its own, never the shared default.
    this.workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    const secrets = freshSecrets();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // A deployment as tests run it: no development defaults, secrets of this stack's own.
      NODE_ENV: 'test',
      SANDBOX_ENABLED: 'true',
      ...secrets,
      LOG_LEVEL: 'warn',
      PORT: String(apiPort),
      PUBLIC_BASE_URL: this.apiUrl,
      DATABASE_URL: productDbUrl,
      TEMPORAL_ADDRESS: this.temporalAddress,
      TEMPORAL_TASK_QUEUE: this.taskQueue,
      // The game server, the sandbox and the fakes listen on 127.0.0.1 over plain http.
      EGRESS_ALLOW_PRIVATE_NETWORKS: 'true',
      EGRESS_ALLOW_HTTP: 'true',
      // The benchmark's users buy far more often than a player would.
      RISK_MAX_ORDERS_PER_USER: '1000000',
      WORKER_METRICS_ADDRESS: `127.0.0.1:${metricsPort}`,
      API_METRICS_ADDRESS: `127.0.0.1:${apiMetricsPort}`,
      ...this.sandboxKeys,
      ...o.env,
    };
    this.worker = new ManagedProcess('worker', ['--import', 'tsx', 'worker.ts'], env, path.join(this.logDir, 'worker.log'));
    this.api = new ManagedProcess('api', ['--import', 'tsx', 'api/server.ts'], env, path.join(this.logDir, 'api.log'));
    for (const p of [this.worker, this.api]) {
      p.nodeArgs = o.nodeArgs ?? [];
      p.start();
    }
    await Promise.all([this.waitForWorker(), this.waitForApi()]);
    this.client = new ApiClient(this.apiUrl, secrets.ADMIN_TOKEN);
    this.log(`worker pid ${this.worker.pid}, API ${this.apiUrl} pid ${this.api.pid}, Temporal ${this.temporalAddress}`);
  }

  private async startTemporal() {
    if (this.options.temporalAddress) {
      this.temporalAddress = this.options.temporalAddress;
    } else {
      this.temporal = await startTemporalDevServer({
        headless: true,
        dbFile: this.options.temporalDbFile,
        port: this.temporalPort || undefined,
        logFile: path.join(this.logDir, 'temporal.log'),
        log: this.log,
      });
      this.temporalAddress = this.temporal.address;
      this.temporalPort = Number(this.temporal.address.split(':')[1]);
    }
    this.connection ??= await Connection.connect({ address: this.temporalAddress });
  }

  /** Pid of the Temporal dev server this stack started (for its memory and CPU). */
  temporalPid(): number | undefined {
    if (!this.temporal) return undefined;
    return findPids('start-dev', `--port ${this.temporalPort}`)[0];
  }

  /** Stops the Temporal dev server, keeps it down for `downMs`, starts it again on the same port and file. */
  async restartTemporal(downMs: number) {
    if (!this.temporal) throw new Error('this stack uses a Temporal server it did not start');
    await this.temporal.stop();
    this.temporal = undefined;
    await sleep(downMs);
    await this.startTemporal();
  }

  async restartWorker(signal: NodeJS.Signals = 'SIGKILL', downMs = 0) {
    await this.worker.kill(signal);
    await sleep(downMs);
    this.worker.start();
    await this.waitForWorker();
  }

  async restartApi(signal: NodeJS.Signals = 'SIGKILL', downMs = 0) {
    await this.api.kill(signal);
    await sleep(downMs);
    this.api.start();
    await this.waitForApi();
  }

  /** The worker is ready once Temporal lists a poller with its identity (pid@host) on our queue. */
  async waitForWorker(worker = this.worker, taskQueue = this.taskQueue) {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const identity = () => `${worker.pid}@${os.hostname()}`;
    while (Date.now() < deadline) {
      if (!worker.pid) throw new Error(`${worker.name} exited while starting; see ${worker.logFile}`);
      try {
        const { pollers } = await this.connection!.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        if (pollers?.some((p) => p.identity === identity())) return;
      } catch {
        // Temporal restarting
      }
      await sleep(250);
    }
    throw new Error(`${worker.name} did not poll ${taskQueue} within ${READY_TIMEOUT_MS / 1000}s; see ${worker.logFile}`);
  }

  async waitForApi() {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.api.pid) throw new Error(`api exited while starting; see ${this.api.logFile}`);
      try {
        if ((await fetch(`${this.apiUrl}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    throw new Error(`the API did not become healthy within ${READY_TIMEOUT_MS / 1000}s; see ${this.api.logFile}`);
  }

  async stop() {
    runningStacks.delete(this);
    await Promise.all([this.worker?.stop(), this.api?.stop()]);
    await this.gameServer.stop();
    await this.pgProxy?.stop();
    await this.connection?.close();
    await this.temporal?.stop();
    await this.db.end();
  }
}

const runningStacks = new Set<Stack>();

/** Ctrl+C (or a timeout's SIGTERM) stops every stack cleanly, Temporal dev servers included. */
export function stopStacksOnSignal() {
  const stopAll = async () => {
    await Promise.allSettled([...runningStacks].map((s) => s.stop()));
    process.exit(130);
  };
  process.once('SIGINT', () => void stopAll());
  process.once('SIGTERM', () => void stopAll());
}

/** `tsx bench/launcher.ts`: the system as separate processes with a registered benchmark game, until Ctrl+C. */
async function main() {
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/payments_bench';
  const log = (m: string) => console.log(`[launcher] ${m}`);
  await resolveTemporalCli(log);
  const stack = await Stack.start({ name: 'launcher', databaseUrl, temporalAddress: process.env.TEMPORAL_ADDRESS, log });
  const game = await stack.client.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: 'bench' });
  stack.gameServer.setSecret(game.gameId, game.secret);
  console.log(
    [
      `API          ${stack.apiUrl}`,
      `Temporal     ${stack.temporalAddress}`,
      `Game         ${game.gameId} (secret ${game.secret}), item ${game.sku}, deliveries to ${stack.gameServer.deliveryUrl(game.gameId)}`,
      `Logs         ${stack.logDir}`,
      'Press Ctrl+C to stop.',
    ].join('\n'),
  );
  stopStacksOnSignal();
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
