import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { ConfigError, loadConfig, reportStartupFailure, WORKER_ROLES, type Config } from '../infra/config';
import { credentialsKeyring } from '../infra/credentials';
import { openDatabase } from '../infra/db';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { queuesNotPolled, workerQueues } from '../infra/worker-queues';
import { putGame, putItem } from '../store/catalog';
import { ApiClient } from '../testkit/api-client';
import { DEMO_GAME_ID, DEMO_GAME_NAME, DEMO_ITEMS, DEMO_SECRET } from '../api/shared/demo-catalog';
import { ReferenceGameServer } from '../testkit/game-server';
import { ensureConsoleBuilt } from './lib/console-build';
import { migrate } from './lib/migrate';
import { startTemporalDevServer } from './lib/temporal-cli';
import { startTemporalServer } from './lib/temporal-server';

/**
 * `npm run dev`: the whole system with nothing installed but Node — a file-backed Temporal dev server
 * with its UI, PostgreSQL (embedded PGlite unless DATABASE_URL is set), a demo game with a demo game
 * server, the worker and the API. Everything it keeps lives in DEV_DATA_DIR, so a restart continues
 * the orders and workflows of the last run.
 */
/** Printed once everything answers; tools and tests wait for it. */
export const READY_LINE = 'Payment center is running:';

const ROOT = resolve(__dirname, '..');
const READY_TIMEOUT_MS = 120_000;
/** How long the worker may drain its tasks and the API its requests before they are killed. */
const CHILD_STOP_TIMEOUT_MS = 20_000;
const log = (m: string) => console.log(`[dev] ${m}`);

interface Stoppable {
  name: string;
  stop(): Promise<unknown>;
}

async function main() {
  const startedAt = Date.now();
  // The development defaults (public admin token and credentials key, the sandbox) apply only where
  // NODE_ENV=development is set explicitly; this script is development, and its children inherit it.
  process.env.NODE_ENV = 'development';
  const config = loadConfig();
  const embeddedDatabase = process.env.DATABASE_URL === undefined;
  const startsTemporal = !process.env.TEMPORAL_ADDRESS;
  if (startsTemporal && config.TEMPORAL_MODE === 'server' && embeddedDatabase && !config.TEMPORAL_DATABASE_URL) {
    throw new ConfigError('Invalid configuration:\n  TEMPORAL_MODE: server needs a PostgreSQL server: set DATABASE_URL or TEMPORAL_DATABASE_URL (the embedded database cannot hold Temporal)');
  }
  await checkPorts(config, { embeddedDatabase, startsTemporal });
  const dataDir = resolve(ROOT, config.DEV_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });

  // Stopped in reverse order of start, so the API and the worker, which drain through Temporal and the database, go first.
  const running: Stoppable[] = [];
  const children: ChildProcess[] = [];
  const stopRequested = new AbortController();
  let exitCode = 0;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopRequested.signal.aborted) return;
      log(`${signal}: stopping`);
      stopRequested.abort();
    });
  }
  // Piped into `tee`, Ctrl+C ends the reader too: the lost output must not cut the shutdown short.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  // Last resort if this process dies of an error: the children run in their own process groups.
  process.once('exit', () => children.forEach((child) => child.exitCode === null && child.kill('SIGKILL')));

  try {
    const [temporalAddress, databaseUrl] = await startAll([
      startsTemporal ? startTemporal(config, dataDir, running) : Promise.resolve(config.TEMPORAL_ADDRESS),
      embeddedDatabase ? startEmbeddedDatabase(config, dataDir, running) : Promise.resolve(config.DATABASE_URL),
    ]);
    if (!embeddedDatabase) log(`database: PostgreSQL at ${redactUrl(databaseUrl)} (DATABASE_URL)`);
    stopRequested.signal.throwIfAborted();

    log(`migrating ${redactUrl(databaseUrl)}`);
    const { applied } = await migrate(databaseUrl, { log });
    log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');

    const deliveriesLog = join(dataDir, 'demo-deliveries.log');
    const gameServer = new ReferenceGameServer({
      port: config.DEMO_GAME_PORT,
      logFile: deliveriesLog,
      onGrant: (grant) => log(`demo game server granted order ${grant.orderId} to ${String(grant.body.userId)}`),
    });
    gameServer.setSecret(DEMO_GAME_ID, DEMO_SECRET);
    await gameServer.start();
    running.push({ name: 'demo game server', stop: () => gameServer.stop() });
    await seedDemo(config, databaseUrl, gameServer.deliveryUrl(DEMO_GAME_ID));
    stopRequested.signal.throwIfAborted();

    const env: NodeJS.ProcessEnv = {
      // The demo game server and the sandbox listen on 127.0.0.1 over plain http: the egress guard lets them through.
      EGRESS_ALLOW_PRIVATE_NETWORKS: 'true',
      EGRESS_ALLOW_HTTP: 'true',
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress,
      DATABASE_URL: databaseUrl,
      // One worker process serves every pool in development.
      WORKER_ROLES: WORKER_ROLES.join(','),
    };
    if (embeddedDatabase) {
      // PGlite is one session: a second connection of the same process could wait behind its own transaction.
      if (process.env.DATABASE_POOL_SIZE && process.env.DATABASE_POOL_SIZE !== '1') {
        log(`DATABASE_POOL_SIZE=${process.env.DATABASE_POOL_SIZE} ignored: the embedded database takes one connection per process`);
      }
      env.DATABASE_POOL_SIZE = '1';
    }
    ensureConsoleBuilt(log);
    const [worker, api] = [
      ['worker', 'worker.ts'],
      ['api', 'api/server.ts'],
    ].map(([name, entry]) => {
      // Own process group: Ctrl+C reaches only this script, which stops them in order.
      const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: ROOT, env, stdio: 'inherit', detached: true });
      children.push(child);
      child.once('exit', (code, signal) => {
        if (stopRequested.signal.aborted) return;
        log(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
        exitCode = 1;
        stopRequested.abort();
      });
      return child;
    });
    running.push({ name: 'worker and API', stop: () => Promise.all(children.map(stopChild)) });

    const apiUrl = `http://127.0.0.1:${config.PORT}`;
    await Promise.all([
      waitForHealthy(apiUrl, stopRequested.signal),
      waitForWorker(temporalAddress, config, worker.pid!, stopRequested.signal),
    ]);
    stopRequested.signal.throwIfAborted();
    const sample = await sampleOrder(apiUrl);
    const uiUrl = startsTemporal ? `http://127.0.0.1:${config.TEMPORAL_UI_PORT}` : undefined;
    console.log(
      [
        '',
        READY_LINE,
        `  API              ${apiUrl}   (health: ${apiUrl}/healthz)`,
        `  Console          ${apiUrl}/console   (sign in with the admin token below and any operator name)`,
        uiUrl
          ? `  Temporal UI      ${uiUrl}   (query: OrderStatus='DELIVERING')`
          : `  Temporal         ${temporalAddress} (TEMPORAL_ADDRESS)`,
        `  Database         ${embeddedDatabase ? `embedded PGlite, ${redactUrl(databaseUrl)}` : `${redactUrl(databaseUrl)} (DATABASE_URL)`}`,
        `  Sample order     ${sample.orderId ? `${apiUrl}/console/orders/${sample.orderId}   (its story in the console)` : sample.failure}`,
        `  Sample checkout  ${sample.payUrl ?? sample.failure}`,
        `  Demo game        id ${DEMO_GAME_ID}, secret ${DEMO_SECRET}`,
        `  Deliveries log   ${deliveriesLog}`,
        `  Data folder      ${dataDir}`,
        `  Admin token      ${config.ADMIN_TOKEN === process.env.ADMIN_TOKEN ? '(from ADMIN_TOKEN)' : config.ADMIN_TOKEN}`,
        `Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (API pid ${api.pid}, worker pid ${worker.pid}). Press Ctrl+C to stop.`,
        '',
      ].join('\n'),
    );
    if (!stopRequested.signal.aborted) {
      await new Promise((r) => stopRequested.signal.addEventListener('abort', r, { once: true }));
    }
  } catch (err) {
    if (!stopRequested.signal.aborted) {
      console.error(err instanceof ConfigError ? err.message : err);
      exitCode = 1;
    }
  }

  for (const resource of running.reverse()) {
    await resource.stop().catch((err) => log(`stopping the ${resource.name} failed: ${(err as Error).message}`));
  }
  log('stopped');
  process.exit(exitCode);
}

/** Settles every start, so that what did start is registered for stopping even when another failed. */
async function startAll<T extends unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as T;
}

async function startTemporal(config: Config, dataDir: string, running: Stoppable[]): Promise<string> {
  if (config.TEMPORAL_MODE === 'server') {
    log('starting a Temporal server on PostgreSQL (TEMPORAL_MODE=server), with its Web UI');
    const server = await startTemporalServer({
      databaseUrl: (config.TEMPORAL_DATABASE_URL ?? config.DATABASE_URL)!,
      dataDir: join(dataDir, 'temporal-server'),
      port: config.TEMPORAL_DEV_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      shards: config.TEMPORAL_HISTORY_SHARDS,
      logFile: join(dataDir, 'temporal-server.log'),
      log,
    });
    running.push({ name: 'Temporal server', stop: () => server.stop() });
    log(`Temporal at ${server.address}, UI ${server.uiUrl}`);
    return server.address;
  }
  log('starting the Temporal dev server (file-backed, with its Web UI)');
  const temporal = await startTemporalDevServer({
    dbFile: join(dataDir, 'temporal.db'),
    port: config.TEMPORAL_DEV_PORT,
    uiPort: config.TEMPORAL_UI_PORT,
    logFile: join(dataDir, 'temporal.log'),
    log,
  });
  running.push({ name: 'Temporal dev server', stop: () => temporal.stop() });
  log(`Temporal at ${temporal.address}, UI ${temporal.uiUrl}`);
  return temporal.address;
}

async function startEmbeddedDatabase(config: Config, dataDir: string, running: Stoppable[]): Promise<string> {
  // Loaded only here: PGlite's WASM is of no use with a real PostgreSQL.
  const { startEmbeddedPostgres } = await import('./lib/embedded-postgres');
  const pgliteDir = join(dataDir, 'pglite');
  const database = await startEmbeddedPostgres({ dataDir: pgliteDir, port: config.EMBEDDED_PG_PORT });
  running.push({ name: 'embedded PostgreSQL', stop: () => database.stop() });
  log(`database: embedded PostgreSQL (PGlite) in ${pgliteDir}, served at ${database.url} (set DATABASE_URL to use another)`);
  return database.url;
}

/** Up front, so that a taken or doubly used port is one clear message instead of a failure halfway. */
async function checkPorts(config: Config, uses: { embeddedDatabase: boolean; startsTemporal: boolean }) {
  const ports: [string, number][] = [
    ['PORT', config.PORT],
    ['DEMO_GAME_PORT', config.DEMO_GAME_PORT],
    ['WORKER_METRICS_ADDRESS', Number(config.WORKER_METRICS_ADDRESS.slice(config.WORKER_METRICS_ADDRESS.lastIndexOf(':') + 1))],
    ['API_METRICS_ADDRESS', Number(config.API_METRICS_ADDRESS.slice(config.API_METRICS_ADDRESS.lastIndexOf(':') + 1))],
    ...(uses.embeddedDatabase ? [['EMBEDDED_PG_PORT', config.EMBEDDED_PG_PORT] as [string, number]] : []),
    ...(uses.startsTemporal
      ? [['TEMPORAL_DEV_PORT', config.TEMPORAL_DEV_PORT] as [string, number], ['TEMPORAL_UI_PORT', config.TEMPORAL_UI_PORT] as [string, number]]
      : []),
  ];
  const problems: string[] = [];
  if (config.PORT === 0) problems.push('PORT: npm run dev needs a fixed API port, not 0');
  const seen = new Map<number, string>();
  for (const [name, port] of ports) {
    const other = seen.get(port);
    if (other) problems.push(`${name}: ${port} is already ${other}`);
    else if (port !== 0) seen.set(port, name);
  }
  for (const [port, name] of seen) {
    if (!(await portIsFree(port))) problems.push(`${name}: port ${port} on 127.0.0.1 is already in use`);
  }
  if (problems.length) throw new ConfigError(`Cannot start dev mode:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** SIGTERM lets the API finish its requests and the worker drain; a child that hangs is killed. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** The demo game and its items; a limited item keeps its remaining stock across restarts. */
async function seedDemo(config: Config, databaseUrl: string, deliveryUrl: string) {
  const database = openDatabase(databaseUrl, 1);
  try {
    await putGame(database.db, credentialsKeyring(config), DEMO_GAME_ID, { name: DEMO_GAME_NAME, secret: DEMO_SECRET, deliveryUrl });
    for (const item of DEMO_ITEMS) {
      const exists = await database.db.item.findUnique({ where: { sku: item.sku }, select: { sku: true } });
      await putItem(database.db, item.sku, {
        gameId: DEMO_GAME_ID,
        name: item.name,
        grants: item.grants,
        prices: item.prices,
        ...(exists ? {} : { stock: item.stock ?? null }),
      });
    }
  } finally {
    await database.close();
  }
}

async function waitForHealthy(apiUrl: string, stop: AbortSignal) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !stop.aborted) {
    try {
      if ((await fetch(`${apiUrl}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  stop.throwIfAborted();
  throw new Error(`the API did not become healthy within ${READY_TIMEOUT_MS / 1000} s`);
}

/**
 * Orders placed before the worker polls would wait for it (and the API answer 503), so ready means
 * that this run's worker — the poller with its pid in its identity — polls each of its task queues
 * (purchases, fulfillment, finance: one process serves all three here).
 */
async function waitForWorker(address: string, config: Config, pid: number, stop: AbortSignal) {
  const identity = `${pid}@${hostname()}`;
  const connection = await Connection.connect(temporalConnectionOptions({ ...config, TEMPORAL_ADDRESS: address }));
  let waiting = workerQueues(config, WORKER_ROLES);
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && !stop.aborted) {
      waiting = await queuesNotPolled(connection, config.TEMPORAL_NAMESPACE, identity, waiting);
      if (waiting.length === 0) return;
      await sleep(300);
    }
  } finally {
    await connection.close();
  }
  stop.throwIfAborted();
  throw new Error(`the worker did not poll ${waiting.map((q) => q.taskQueue).join(', ')} within ${READY_TIMEOUT_MS / 1000} s`);
}

/** The sample order: its id and checkout page, or why it could not be placed. */
async function sampleOrder(apiUrl: string): Promise<{ orderId?: string; payUrl?: string; failure: string }> {
  const client = new ApiClient(apiUrl, '');
  const created = await client.createOrder(
    { gameId: DEMO_GAME_ID, secret: DEMO_SECRET },
    { userId: 'demo-player-1', sku: DEMO_ITEMS[0]!.sku, region: 'CN' },
    randomUUID(),
  );
  return { orderId: created.body?.orderId, payUrl: created.body?.payment?.payUrl, failure: `(sample order failed: ${JSON.stringify(created.body)})` };
}

function redactUrl(url: string) {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}

if (require.main === module) {
  main().catch(reportStartupFailure);
}
