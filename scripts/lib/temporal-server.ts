import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { ORDER_SEARCH_ATTRIBUTES, REPO_ROOT, type DevServer } from './temporal-cli';

/**
 * A real Temporal server on PostgreSQL (the production engine), built from the Go module proxy and
 * started the way a self-hosted cluster runs it: schema tool, config file, `temporal-server start`.
 * Its databases `<db>_temporal` and `<db>_temporal_visibility` sit beside the app's database.
 */
type Log = (msg: string) => void;
const execFileAsync = promisify(execFile);

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const TEMPORAL_UI_VERSION = 'v2.42.1';
const BIN_DIR = path.join(REPO_ROOT, '.temporal', 'bin');
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 15_000;
/** The three dynamic-config keys the dev server gets (scripts/lib/temporal-cli.ts). */
const DYNAMIC_CONFIG = ['frontend.enableExecuteMultiOperation', 'frontend.enableUpdateWorkflowExecution', 'system.enableEagerWorkflowStart'];

interface Binary {
  /** Where `go install` puts it, and the name we keep it under (two of them are called `server`). */
  pkg: string;
  version: string;
  built: string;
  file: string;
  env: string;
}
const BINARIES = {
  server: { pkg: 'go.temporal.io/server/cmd/server', version: TEMPORAL_SERVER_VERSION, built: 'server', file: 'temporal-server', env: 'TEMPORAL_SERVER_PATH' },
  sqlTool: { pkg: 'go.temporal.io/server/cmd/tools/sql', version: TEMPORAL_SERVER_VERSION, built: 'sql', file: 'temporal-sql-tool', env: 'TEMPORAL_SQL_TOOL_PATH' },
  ui: { pkg: 'github.com/temporalio/ui-server/v2/cmd/server', version: TEMPORAL_UI_VERSION, built: 'server', file: 'temporal-ui-server', env: 'TEMPORAL_UI_SERVER_PATH' },
} satisfies Record<string, Binary>;
export type TemporalServerBinaries = Record<keyof typeof BINARIES, string>;

const goEnv = () => ({ ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin` });

async function ensureBinary(binary: Binary, log: Log): Promise<string> {
  const configured = process.env[binary.env];
  if (configured) return configured;
  const target = path.join(BIN_DIR, binary.file);
  if (existsSync(target)) return target;
  const gobin = path.join(REPO_ROOT, '.temporal', 'build', binary.file);
  log(`building ${binary.pkg}@${binary.version} with Go (the first build takes minutes)`);
  await mkdir(gobin, { recursive: true });
  await execFileAsync('go', ['install', `${binary.pkg}@${binary.version}`], { env: { ...goEnv(), GOBIN: gobin }, maxBuffer: 16 << 20 });
  await mkdir(BIN_DIR, { recursive: true });
  await rename(path.join(gobin, binary.built), target);
  return target;
}

/** The server, its schema tool and the Web UI server, built once into .temporal/bin (or taken from their settings). */
export async function resolveTemporalServer(log: Log = () => undefined): Promise<TemporalServerBinaries> {
  return {
    server: await ensureBinary(BINARIES.server, log),
    sqlTool: await ensureBinary(BINARIES.sqlTool, log),
    ui: await ensureBinary(BINARIES.ui, log),
  };
}

/** The server module's own folder (its schema and sample configs), from the Go module cache. */
async function serverModuleDir(): Promise<string> {
  const { stdout } = await execFileAsync('go', ['mod', 'download', '-json', `go.temporal.io/server@${TEMPORAL_SERVER_VERSION}`], { env: goEnv(), cwd: '/' });
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}

export interface TemporalServerOptions {
  /** The PostgreSQL server (and base name) the two Temporal databases go beside. */
  databaseUrl: string;
  /** Where the config file is written. */
  dataDir: string;
  /** Frontend gRPC port (0: any free block); the other services take the next eight. */
  port?: number;
  uiPort?: number;
  headless?: boolean;
  shards?: number;
  /** Drop the Temporal databases first (tests: a fresh engine per run). */
  fresh?: boolean;
  log?: Log;
  logFile?: string;
}

const PORTS_PER_SERVER = 9;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A block of free ports: frontend gRPC first (a fixed one must be free with the rest). */
async function claimPortBlock(first: number | undefined): Promise<number> {
  if (first && first + PORTS_PER_SERVER > 32_768) throw new Error(`the Temporal server's ports must be below 32768 (it keeps them as smallint): ${first} is too high`);
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below 32768: the server stores its membership ports as smallint.
    const base = first || 20_000 + Math.floor(Math.random() * 12_000);
    const free = await Promise.all(Array.from({ length: PORTS_PER_SERVER }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
    if (first) throw new Error(`ports ${first}-${first + PORTS_PER_SERVER - 1} on 127.0.0.1 are not all free (the Temporal server needs them)`);
  }
  throw new Error('no block of free ports for the Temporal server');
}

async function ensureDatabases(databaseUrl: string, names: string[], fresh: boolean) {
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    for (const name of names) {
      if (fresh) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (!rowCount) await client.query(`CREATE DATABASE "${name}"`);
    }
  } finally {
    await client.end();
  }
}

/** `setup-schema -v 0.0` then `update-schema` to the module's newest version: an upgrade applies its versions. */
async function migrateSchema(sqlTool: string, url: URL, database: string, schemaDir: string) {
  const base = ['--plugin', 'postgres12', '--ep', url.hostname, '-p', url.port || '5432', '-u', decodeURIComponent(url.username || 'postgres'), '--db', database];
  if (url.password) base.push('--pw', decodeURIComponent(url.password));
  await execFileAsync(sqlTool, [...base, 'setup-schema', '-v', '0.0']);
  await execFileAsync(sqlTool, [...base, 'update-schema', '-d', schemaDir]);
}

/** The module's development-postgres12.yaml with our database, credentials, ports, shards and smaller pools; pprof and metrics off. */
function serverConfig(template: string, o: { url: URL; databases: [string, string]; port: number; shards: number; dynamicConfig: string }): string {
  const [main, visibility] = o.databases;
  let config = template
    .replace(/numHistoryShards: \d+/, `numHistoryShards: ${o.shards}`)
    .replace('databaseName: "temporal"', `databaseName: "${main}"`)
    .replace('databaseName: "temporal_visibility"', `databaseName: "${visibility}"`)
    .replaceAll('connectAddr: "127.0.0.1:5432"', `connectAddr: "${o.url.hostname}:${o.url.port || '5432'}"`)
    .replaceAll('user: "temporal"', `user: "${decodeURIComponent(o.url.username || 'postgres')}"`)
    .replaceAll('password: "temporal"', `password: "${decodeURIComponent(o.url.password)}"`)
    .replace(/\n {2}pprof:\n {4}port: \d+/, '')
    .replace(/\n {2}metrics:\n(?: {4}.*\n|#.*\n)+/, '\n')
    .replace('rpcAddress: "localhost:7233"', `rpcAddress: "127.0.0.1:${o.port}"`)
    .replace('filepath: "config/dynamicconfig/development-sql.yaml"', `filepath: "${o.dynamicConfig}"`)
    // Each of the four services keeps its own pool: the template's 20 (all kept idle) held ~50 connections
    // of a PostgreSQL that the product and its tests share (max_connections 100 by default).
    .replace('maxConns: 20', 'maxConns: 10')
    .replace('maxIdleConns: 20', 'maxIdleConns: 4');
  const ports: Record<string, number[]> = { frontend: [0, 1, 2], history: [3, 4], matching: [5, 6], worker: [7, 8] };
  for (const [service, [grpc, membership, http]] of Object.entries(ports)) {
    config = config.replace(new RegExp(`(\\n {2}${service}:\\n {4}rpc:\\n {6}grpcPort: )\\d+(\\n {6}membershipPort: )\\d+`), `$1${o.port + grpc!}$2${o.port + membership!}`);
    if (http !== undefined) config = config.replace(/httpPort: \d+/, `httpPort: ${o.port + http}`);
  }
  return config;
}

/** Starts the server (and its Web UI unless headless); resolves once namespace `default` has our search attributes. */
export async function startTemporalServer(opts: TemporalServerOptions): Promise<DevServer> {
  const log = opts.log ?? (() => undefined);
  const bins = await resolveTemporalServer(log);
  const url = new URL(opts.databaseUrl);
  const base = decodeURIComponent(url.pathname.slice(1)) || 'payments';
  const databases: [string, string] = [`${base}_temporal`, `${base}_temporal_visibility`];
  await ensureDatabases(opts.databaseUrl, databases, opts.fresh ?? false);
  const moduleDir = await serverModuleDir();
  const schema = path.join(moduleDir, 'schema', 'postgresql', 'v12');
  await migrateSchema(bins.sqlTool, url, databases[0], path.join(schema, 'temporal', 'versioned'));
  await migrateSchema(bins.sqlTool, url, databases[1], path.join(schema, 'visibility', 'versioned'));

  const port = await claimPortBlock(opts.port);
  const configDir = path.join(path.resolve(opts.dataDir), 'config');
  await mkdir(configDir, { recursive: true });
  const dynamicConfig = path.join(configDir, 'dynamic.yaml');
  await writeFile(dynamicConfig, DYNAMIC_CONFIG.map((key) => `${key}:\n  - value: true\n`).join(''));
  const template = await readFile(path.join(moduleDir, 'config', 'development-postgres12.yaml'), 'utf8');
  await writeFile(path.join(configDir, 'development.yaml'), serverConfig(template, { url, databases, port, shards: opts.shards ?? 4, dynamicConfig }));

  const address = `127.0.0.1:${port}`;
  const children = [launch(bins.server, ['--root', path.resolve(opts.dataDir), '--config', 'config', '--env', 'development', 'start'], opts.logFile)];
  const stop = async () => {
    for (const child of children.reverse()) await child.stop();
  };
  try {
    log(`starting Temporal server ${TEMPORAL_SERVER_VERSION} at ${address} (PostgreSQL ${databases.join(', ')})`);
    await Promise.race([waitUntilReady(address), children[0]!.exited.then(() => Promise.reject(new Error(`Temporal server exited before it was ready:\n${children[0]!.recent.join('\n')}`)))]);
    let uiUrl: string | undefined;
    if (!opts.headless) {
      // The UI server reads <config>/<env>.yaml too: its own folder, beside the server's.
      const uiPort = opts.uiPort || (await claimPortBlock(undefined));
      await mkdir(path.join(path.resolve(opts.dataDir), 'ui-config'), { recursive: true });
      await writeFile(
        path.join(path.resolve(opts.dataDir), 'ui-config', 'development.yaml'),
        `temporalGrpcAddress: ${address}\nhost: 127.0.0.1\nport: ${uiPort}\nenableUi: true\ndefaultNamespace: default\n`,
      );
      children.push(launch(bins.ui, ['--root', path.resolve(opts.dataDir), '--config', 'ui-config', '--env', 'development', 'start'], opts.logFile));
      uiUrl = `http://127.0.0.1:${uiPort}`;
    }
    return { address, uiUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Launched {
  exited: Promise<number | null>;
  recent: string[];
  stop(): Promise<void>;
}

function launch(file: string, args: string[], logFile: string | undefined): Launched {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const recent: string[] = [];
  const out = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      recent.push(line);
      if (recent.length > 50) recent.shift();
      if (out) out.write(`${line}\n`);
    });
  }
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    exited,
    recent,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.removeListener('exit', killOnExit);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
      out?.end();
    },
  };
}

const KEYWORD = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

/** Namespace `default` (registered if missing) with the order search attributes, as the dev server has them. */
async function waitUntilReady(address: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  while (Date.now() < deadline) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: '2s' });
      await connection.workflowService.getSystemInfo({});
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
      } catch {
        await connection.workflowService.registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('3 days') });
      }
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      const missing = ORDER_SEARCH_ATTRIBUTES.filter(({ name }) => !(customAttributes && name in customAttributes));
      if (missing.length === 0) return;
      await connection.operatorService.addSearchAttributes({
        namespace: 'default',
        searchAttributes: Object.fromEntries(missing.map(({ name }) => [name, KEYWORD])),
      });
    } catch (err) {
      lastError = err;
    } finally {
      await connection?.close();
    }
    await sleep(500);
  }
  throw new Error(`Temporal server at ${address} not ready after ${READY_TIMEOUT_MS / 1000}s: ${String(lastError)}`);
}
