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
import { startTemporalServer } from '../../scripts/lib/temporal-server';
import { ApiClient } from '../../testkit/api-client';
import { ReferenceGameServer } from '../../testkit/game-server';
import { freshSecrets } from '../../testkit/secrets';
import { findPids, processUsage, type ProcessUsage } from './measure';
import { TcpBalancer } from './balancer';
import { PgProxy } from './pg-proxy';
import { WORKER_QUEUES, type Engine, type WorkerQueue } from './topology';

export const BENCH_DATA_DIR = path.join(REPO_ROOT, '.data', 'bench');
// Bundling the workflows takes minutes on a loaded 2-core machine.
const READY_TIMEOUT_MS = 300_000;
const STOP_GRACE_MS = 15_000;

/** Children still running when this process exits are killed with it: no orphans holding ports. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** A child of the tool's that is killed with it (a drill's own broker). */
export function killedOnExit(child: ChildProcess): ChildProcess {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}

/** One product process (worker, API, floor worker) that a drill may kill, stop and start again. */
export class ManagedProcess {
  private child?: ChildProcess;
  /** Every exit; `expected` when this tool stopped or killed it (a drill's fault, a restart, the end). */
  readonly exits: { code: number | null; signal: string | null; at: number; expected: boolean }[] = [];
  private stopping = false;
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
      this.exits.push({ code, signal, at: Date.now(), expected: this.stopping });
      this.stopping = false;
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
    this.stopping = true;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  stop() {
    return this.kill('SIGTERM');
  }

  /** Exits this tool did not cause: a crash of the product. */
  unexpectedExits() {
    return this.exits.filter((e) => !e.expected);
  }
}

/**
 * Ports for what the tool starts: with `BENCH_PORT_RANGE=first-last` (a machine shared by several
 * people), taken in order from that range; otherwise any free port the system gives.
 */
const portRange = (() => {
  const m = /^(\d+)-(\d+)$/.exec(process.env.BENCH_PORT_RANGE ?? '');
  return m ? { next: Number(m[1]), last: Number(m[2]) } : undefined;
})();

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `size` consecutive free ports from BENCH_PORT_RANGE (the real Temporal server takes nine); undefined without a range. */
export async function freePortBlock(size: number): Promise<number | undefined> {
  if (!portRange) return undefined;
  while (portRange.next + size - 1 <= portRange.last) {
    const first = portRange.next;
    portRange.next += 1;
    const free = await Promise.all(Array.from({ length: size }, (_, i) => portFree(first + i)));
    if (free.every(Boolean)) {
      portRange.next = first + size;
      return first;
    }
  }
  throw new Error(`no ${size} free consecutive ports left in BENCH_PORT_RANGE ${process.env.BENCH_PORT_RANGE}`);
}

export async function freePort(): Promise<number> {
  const fromRange = await freePortBlock(1);
  if (fromRange) return fromRange;
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
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
  /** Names the task queues and the log folder. */
  name: string;
  databaseUrl: string;
  /** Keep the database's data (only migrate it): a mode measuring again over data it generated before. */
  keepDatabase?: boolean;
  /** A running Temporal frontend to use; otherwise `engine` is started. */
  temporalAddress?: string;
  /** The engine started when no address is given: the CLI's dev server (default) or the real server on PostgreSQL. */
  engine?: Engine;
  /** File-backed dev server (survives its own restart); in memory otherwise. The real server always keeps its databases. */
  temporalDbFile?: string;
  /** API processes (default 1); clients spread their calls over them. */
  apis?: number;
  /** One entry per worker process: the task queues it serves (default: one process serving every queue). */
  workers?: WorkerQueue[][];
  /** Route the product processes' PostgreSQL traffic through a counting, cuttable proxy. */
  pgProxy?: boolean;
  /** Environment of the workers and the APIs on top of the stack's defaults. */
  env?: Record<string, string>;
  gameServerLog?: string;
  /** Node flags for the workers and the APIs (profiling). */
  nodeArgs?: string[];
  log?: (msg: string) => void;
}

/** The task queue of a worker process's queue whose poller shows the process is ready. */
const READY_QUEUE_KIND: Record<WorkerQueue, 'workflow' | 'activity'> = { purchases: 'workflow', fulfillment: 'activity', finance: 'workflow' };

/**
 * The whole system as separate processes, as it runs in production: a Temporal server, N API and M
 * worker processes (`node --import tsx api/server.ts` / `worker.ts`, each with its queues),
 * PostgreSQL (optionally behind a proxy), and a game server in this process.
 */
export class Stack {
  temporal?: DevServer;
  temporalAddress = '';
  connection?: Connection;
  pgProxy?: PgProxy;
  /** In front of the APIs when there are several (PUBLIC_BASE_URL). */
  balancer?: TcpBalancer;
  readonly apis: ManagedProcess[] = [];
  readonly workers: ManagedProcess[] = [];
  /** The queues each of `workers` serves. */
  readonly workerQueues: WorkerQueue[][];
  gameServer!: ReferenceGameServer;
  /** Direct to PostgreSQL (never through the proxy), for checks. */
  readonly db: Pool;
  client!: ApiClient;
  /** The sandbox provider's key pair the API processes share (drills sign notifications with it). */
  readonly sandboxKeys = sandboxKeyPair();
  /** The first API's base URL; `apiUrls` has them all. */
  apiUrl = '';
  apiUrls: string[] = [];
  /** The first API's Prometheus endpoint (API_METRICS_ADDRESS). */
  apiMetricsUrl = '';
  workerMetricsUrl = '';
  readonly engine: Engine;
  /** The stack's own task queues, so that stacks can share a Temporal server. */
  readonly queues: Record<WorkerQueue, string>;
  private temporalPort = 0;
  private readonly log: (msg: string) => void;
  readonly logDir: string;

  constructor(readonly options: StackOptions) {
    this.log = options.log ?? (() => undefined);
    this.logDir = path.join(BENCH_DATA_DIR, options.name);
    this.db = new Pool({ connectionString: options.databaseUrl, max: 4 });
    this.engine = options.engine ?? 'dev';
    this.workerQueues = options.workers ?? [[...WORKER_QUEUES]];
    this.queues = { purchases: `${options.name}-purchases`, fulfillment: `${options.name}-fulfillment`, finance: `${options.name}-finance` };
  }

  /** The purchases task queue (the floor's queue is named after it). */
  get taskQueue(): string {
    return this.queues.purchases;
  }

  /** The first API and worker process (a stack has at least one of each). */
  get api(): ManagedProcess {
    return this.apis[0]!;
  }

  get worker(): ManagedProcess {
    return this.workers[0]!;
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
    await Promise.all([this.startTemporal(true), o.keepDatabase ? migrate(o.databaseUrl) : freshDatabase(o.databaseUrl)]);
    let productDbUrl = o.databaseUrl;
    if (o.pgProxy) {
      const upstream = new URL(o.databaseUrl);
      this.pgProxy = new PgProxy({ host: upstream.hostname, port: Number(upstream.port || 5432) });
      await this.pgProxy.start();
      productDbUrl = PgProxy.viaProxy(o.databaseUrl, this.pgProxy.port);
    }
    this.gameServer = new ReferenceGameServer({ logFile: o.gameServerLog, port: await freePort() });
    await this.gameServer.start();
    const secrets = freshSecrets();
    const shared: NodeJS.ProcessEnv = {
      ...process.env,
      // A deployment as tests run it: no development defaults, secrets of this stack's own.
      NODE_ENV: 'test',
      SANDBOX_ENABLED: 'true',
      ...secrets,
      LOG_LEVEL: 'warn',
      DATABASE_URL: productDbUrl,
      TEMPORAL_ADDRESS: this.temporalAddress,
      TEMPORAL_TASK_QUEUE: this.queues.purchases,
      FULFILLMENT_TASK_QUEUE: this.queues.fulfillment,
      FINANCE_TASK_QUEUE: this.queues.finance,
      // The game server, the sandbox and the fakes listen on 127.0.0.1 over plain http.
      EGRESS_ALLOW_PRIVATE_NETWORKS: 'true',
      EGRESS_ALLOW_HTTP: 'true',
      // The benchmark's users buy far more often than a player would.
      RISK_MAX_ORDERS_PER_USER: '1000000',
      ...this.sandboxKeys,
      ...o.env,
    };
    const apiCount = o.apis ?? 1;
    const apiPorts = await Promise.all(Array.from({ length: apiCount }, () => freePort()));
    this.apiUrls = apiPorts.map((port) => `http://127.0.0.1:${port}`);
    if (apiCount > 1) {
      // Several APIs are one deployment behind one address: callbacks and the worker's channel calls go through it.
      this.balancer = new TcpBalancer(apiPorts, await freePort());
      await this.balancer.start();
    }
    shared.PUBLIC_BASE_URL = this.balancer ? `http://127.0.0.1:${this.balancer.port}` : this.apiUrls[0];
    for (let i = 0; i < apiCount; i++) {
      const metricsPort = await freePort();
      const name = apiCount === 1 ? 'api' : `api-${i + 1}`;
      const env = { ...shared, PORT: String(apiPorts[i]), API_METRICS_ADDRESS: `127.0.0.1:${metricsPort}` };
      this.apis.push(new ManagedProcess(name, ['--import', 'tsx', 'api/server.ts'], env, path.join(this.logDir, `${name}.log`)));
      if (i === 0) this.apiMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    }
    for (const [i, queues] of this.workerQueues.entries()) {
      // The worker's Prometheus endpoint (SDK latencies): on a port of its own, never the shared default.
      const metricsPort = await freePort();
      const name = this.workerQueues.length === 1 ? 'worker' : `worker-${i + 1}`;
      const env: NodeJS.ProcessEnv = { ...shared, WORKER_METRICS_ADDRESS: `127.0.0.1:${metricsPort}` };
      // Without a choice of queues, the worker's own default (every queue).
      if (o.workers) env.WORKER_ROLES = queues.join(',');
      this.workers.push(new ManagedProcess(name, ['--import', 'tsx', 'worker.ts'], env, path.join(this.logDir, `${name}.log`)));
      if (i === 0) this.workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    }
    this.apiUrl = this.apiUrls[0]!;
    for (const p of [...this.workers, ...this.apis]) {
      p.nodeArgs = o.nodeArgs ?? [];
      p.start();
    }
    await Promise.all([...this.workers.map((w) => this.waitForWorker(w)), ...this.apis.map((a) => this.waitForApi(a))]);
    this.client = new ApiClient(this.apiUrls, secrets.ADMIN_TOKEN);
    this.log(
      `${this.workers.map((w, i) => `${w.name} pid ${w.pid} [${this.workerQueues[i]!.join(',')}]`).join(', ')}; ` +
        `${this.apis.map((a, i) => `${a.name} ${this.apiUrls[i]} pid ${a.pid}`).join(', ')}; Temporal ${this.engine === 'server' && !o.temporalAddress ? 'server' : 'dev server'} ${this.temporalAddress}`,
    );
  }

  /** Where the real server keeps its config (its databases are `<database>_temporal*`). */
  private get serverDataDir() {
    return path.join(this.logDir, 'temporal-server');
  }

  private async startTemporal(first = false) {
    if (this.options.temporalAddress) {
      this.temporalAddress = this.options.temporalAddress;
    } else if (this.engine === 'server') {
      // A fresh engine for a fresh run; a restart keeps its databases (and ports).
      this.temporalPort ||= (await freePortBlock(9)) ?? 0;
      this.temporal = await startTemporalServer({
        databaseUrl: this.options.databaseUrl,
        dataDir: this.serverDataDir,
        port: this.temporalPort || undefined,
        headless: true,
        fresh: first,
        logFile: path.join(this.logDir, 'temporal.log'),
        log: this.log,
      });
      this.temporalAddress = this.temporal.address;
      this.temporalPort = Number(this.temporal.address.split(':')[1]);
    } else {
      this.temporalPort ||= (await freePortBlock(1)) ?? 0;
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

  /** Pid of the Temporal server this stack started (for its memory and CPU). */
  temporalPid(): number | undefined {
    if (!this.temporal) return undefined;
    if (this.engine === 'server') return findPids('temporal-server', `--root ${this.serverDataDir}`)[0];
    return findPids('start-dev', `--port ${this.temporalPort}`)[0];
  }

  /** Stops the Temporal server (SIGTERM), keeps it down for `downMs`, starts it again on the same port and data. */
  async restartTemporal(downMs: number) {
    if (!this.temporal) throw new Error('this stack uses a Temporal server it did not start');
    await this.temporal.stop();
    this.temporal = undefined;
    await sleep(downMs);
    await this.startTemporal();
  }

  async restartWorker(signal: NodeJS.Signals = 'SIGKILL', downMs = 0, worker = this.worker) {
    await worker.kill(signal);
    await sleep(downMs);
    worker.start();
    await this.waitForWorker(worker);
  }

  async restartApi(signal: NodeJS.Signals = 'SIGKILL', downMs = 0, api = this.api) {
    await api.kill(signal);
    await sleep(downMs);
    api.start();
    await this.waitForApi(api);
  }

  /**
   * The worker is ready once Temporal lists a poller with its identity (pid@host) on its first queue
   * (a fulfillment-only process polls activities only). `taskQueue` checks another queue's workflows.
   */
  async waitForWorker(worker = this.worker, taskQueue?: string) {
    const queues = this.workerQueues[this.workers.indexOf(worker)];
    const queue: WorkerQueue = queues?.includes('purchases') ? 'purchases' : (queues?.[0] ?? 'purchases');
    const name = taskQueue ?? this.queues[queue];
    const kind = taskQueue ? 'workflow' : READY_QUEUE_KIND[queue];
    const deadline = Date.now() + READY_TIMEOUT_MS;
    const identity = () => `${worker.pid}@${os.hostname()}`;
    while (Date.now() < deadline) {
      if (!worker.pid) throw new Error(`${worker.name} exited while starting; see ${worker.logFile}`);
      try {
        const { pollers } = await this.connection!.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType:
            kind === 'workflow' ? proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        });
        if (pollers?.some((p) => p.identity === identity())) return;
      } catch {
        // Temporal restarting
      }
      await sleep(250);
    }
    throw new Error(`${worker.name} did not poll ${name} within ${READY_TIMEOUT_MS / 1000}s; see ${worker.logFile}`);
  }

  async waitForApi(api = this.api) {
    const url = this.apiUrls[this.apis.indexOf(api)];
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!api.pid) throw new Error(`${api.name} exited while starting; see ${api.logFile}`);
      try {
        if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    throw new Error(`${api.name} did not become healthy within ${READY_TIMEOUT_MS / 1000}s; see ${api.logFile}`);
  }

  /** Every product process by name (APIs, then workers), for CPU and memory per process. */
  processes(): ManagedProcess[] {
    return [...this.apis, ...this.workers];
  }

  async stop() {
    runningStacks.delete(this);
    await Promise.all(this.processes().map((p) => p.stop()));
    await this.gameServer?.stop();
    await this.pgProxy?.stop();
    await this.balancer?.stop();
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
