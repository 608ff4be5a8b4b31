import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { access, constants, mkdir, readdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';

type Log = (msg: string) => void;

/** Search attributes the order workflows upsert; the dev server and docker-compose register exactly these. */
export const ORDER_SEARCH_ATTRIBUTES = [
  { name: 'OrderStatus', type: 'Keyword' },
  { name: 'GameId', type: 'Keyword' },
  { name: 'UserId', type: 'Keyword' },
  { name: 'PaymentChannel', type: 'Keyword' },
] as const;

/** `go install` fails for later CLI tags; these are known to build, newest first. */
const GO_INSTALL_VERSIONS = ['v1.5.1', 'v1.5.0', 'v1.4.1'];
const SDK_DOWNLOAD_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

function findRepoRoot(): string {
  // Walk up rather than assume a depth, so this also works once compiled into dist/.
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

export const REPO_ROOT = findRepoRoot();
const CACHED_CLI = path.join(REPO_ROOT, '.temporal', 'bin', 'temporal');
const SDK_DOWNLOAD_DIR = path.join(REPO_ROOT, '.temporal', 'download');

/** Runs a command, handing each output line to `onLine`; resolves with the exit code. */
function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; onLine?: Log } = {}): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => opts.onLine?.(line));
    }
    child.on('error', () => resolve(-1));
    child.on('close', (code) => resolve(code ?? -1));
  });
}

/** A candidate only counts if it is executable and actually answers as the CLI. */
async function isWorkingCli(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
  } catch {
    return false;
  }
  return (await run(file, ['--version'])) === 0;
}

async function findOnPath(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, 'temporal');
    if (await isWorkingCli(file)) return file;
  }
  return undefined;
}

async function findInSdkDownloadDir(): Promise<string | undefined> {
  const names = await readdir(SDK_DOWNLOAD_DIR).catch(() => [] as string[]);
  const candidates: { file: string; mtime: number }[] = [];
  for (const name of names.filter((n) => n.startsWith('temporal') && !/\.(tar\.gz|tgz|zip)$/.test(n))) {
    const file = path.join(SDK_DOWNLOAD_DIR, name);
    const info = await stat(file);
    if (info.isFile()) candidates.push({ file, mtime: info.mtimeMs });
  }
  for (const { file } of candidates.sort((a, b) => b.mtime - a.mtime)) {
    if (await isWorkingCli(file)) return file;
  }
  return undefined;
}

/**
 * Lets the SDK fetch its pinned CLI into .temporal/download. Bounded, because offline the native
 * downloader can hang on DNS/TCP rather than fail; a late success is torn down in the background.
 */
async function trySdkDownload(log: Log): Promise<string | undefined> {
  await mkdir(SDK_DOWNLOAD_DIR, { recursive: true });
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const started = TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'cached-download', downloadDir: SDK_DOWNLOAD_DIR } },
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), SDK_DOWNLOAD_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([started, timeout]);
    if (outcome === 'timeout') {
      log(`the SDK's download of the Temporal CLI did not finish within ${SDK_DOWNLOAD_TIMEOUT_MS / 1000}s (expected offline); falling back`);
      started.then((env) => env.teardown()).catch(() => undefined);
      return undefined;
    }
    await outcome.teardown();
  } catch (err) {
    // Expected offline: the next way (Go) takes over.
    log(`the SDK could not download the Temporal CLI (${(err as Error).message.split('\n')[0]}); this is expected without internet access, falling back to building it with Go`);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
  return findInSdkDownloadDir();
}

async function tryGoInstall(log: Log): Promise<string | undefined> {
  if ((await run('go', ['version'])) !== 0) {
    log('go is not installed; cannot build the Temporal CLI');
    return undefined;
  }
  const env = { ...process.env, GOBIN: path.dirname(CACHED_CLI) };
  for (const version of GO_INSTALL_VERSIONS) {
    log(`building the Temporal CLI ${version} with go install (several minutes the first time)`);
    const code = await run('go', ['install', '-v', `github.com/temporalio/cli/cmd/temporal@${version}`], {
      env,
      onLine: (line) => log(`go: ${line}`),
    });
    if (code === 0 && (await isWorkingCli(CACHED_CLI))) return CACHED_CLI;
    log(`go install of ${version} failed (exit ${code})`);
  }
  return undefined;
}

/**
 * Finds a Temporal CLI binary, cheapest source first: TEMPORAL_CLI_PATH, PATH, the project's
 * cached build, the SDK's download, and finally building it from source with Go.
 */
export async function resolveTemporalCli(log: Log = () => undefined): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    // An explicit setting that does not work is a configuration error, not a reason to go hunting.
    if (!(await isWorkingCli(fromEnv))) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not a working Temporal CLI`);
    return fromEnv;
  }
  const onPath = await findOnPath();
  if (onPath) return onPath;
  if (await isWorkingCli(CACHED_CLI)) return CACHED_CLI;

  const downloaded = (await findInSdkDownloadDir()) ?? (await trySdkDownload(log));
  if (downloaded) return downloaded;

  const built = await tryGoInstall(log);
  if (built) return built;
  throw new Error('no Temporal CLI found: set TEMPORAL_CLI_PATH, put `temporal` on PATH, or install Go');
}

/**
 * Binds the port (0 = any free one) and releases it. Checking an explicit port up front matters: a
 * server already listening there would answer our readiness probe while our child fails to bind.
 * The short race until the child binds it is acceptable for dev/test.
 */
function claimPort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on 127.0.0.1 is already in use`) : err),
    );
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

export interface DevServerOptions {
  /** SQLite file for persistence across restarts; in-memory when absent. */
  dbFile?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  /** Created at startup in addition to "default"; search attributes are ensured on it. */
  namespace?: string;
  /** Receives the server's own output unless `logFile` is given, plus progress messages. */
  log?: Log;
  /** Appends the server's output here instead of passing it to `log`. */
  logFile?: string;
  /** Defaults to resolveTemporalCli(). */
  cliPath?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and resolves once its frontend answers with our search attributes. */
export async function startTemporalDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const log = opts.log ?? (() => undefined);
  const cli = opts.cliPath ?? (await resolveTemporalCli(log));
  const namespace = opts.namespace ?? 'default';
  const port = await claimPort(opts.port);
  const address = `127.0.0.1:${port}`;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  let uiUrl: string | undefined;
  if (opts.headless) {
    args.push('--headless');
  } else {
    const uiPort = await claimPort(opts.uiPort);
    args.push('--ui-port', String(uiPort));
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  if (opts.dbFile) {
    await mkdir(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const key of [
    // Update-with-Start (order creation) needs multi-operations and updates; eager start cuts latency.
    'frontend.enableExecuteMultiOperation',
    'frontend.enableUpdateWorkflowExecution',
    'system.enableEagerWorkflowStart',
  ]) {
    args.push('--dynamic-config-value', `${key}=true`);
  }
  for (const { name, type } of ORDER_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${name}=${type}`);

  // Its own process group: Ctrl+C in a terminal reaches only our process, which stops the API and the
  // worker first (they drain through Temporal) and Temporal after them.
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Kept so a failed start can say why; shutdown chatter is not forwarded to `log`.
  const recent: string[] = [];
  let stopping = false;
  if (opts.logFile) await mkdir(path.dirname(path.resolve(opts.logFile)), { recursive: true });
  const file = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      recent.push(line);
      if (recent.length > 50) recent.shift();
      if (file) file.write(`${line}\n`);
      else if (!stopping) log(`temporal: ${line}`);
    });
  }
  // A crashed test run must not leave a server holding ports behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopping = true;
    process.removeListener('exit', killOnExit);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    file?.end();
  };

  try {
    log(`starting Temporal dev server at ${address}${opts.dbFile ? ` (db ${opts.dbFile})` : ''}`);
    await Promise.race([
      waitUntilReady(cli, address, namespace, log, () => child.exitCode === null && child.signalCode === null),
      exited.then((code) => {
        throw new Error(`Temporal dev server exited with code ${code} before it was ready:\n${recent.join('\n')}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, uiUrl, stop };
}

async function waitUntilReady(
  cli: string,
  address: string,
  namespace: string,
  log: Log,
  running: () => boolean,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError: unknown;
  // Stops probing once the child is gone; the caller reports that exit.
  while (Date.now() < deadline && running()) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: '2s' });
      await connection.workflowService.getSystemInfo({});
      const missing = await missingSearchAttributes(connection, namespace);
      if (missing.length === 0) return;
      // --search-attribute only covers what the server registers itself; fill any gap explicitly.
      for (const { name, type } of missing) await createSearchAttribute(cli, address, namespace, name, type, log);
    } catch (err) {
      lastError = err;
    } finally {
      await connection?.close();
    }
    await sleep(250);
  }
  throw new Error(`Temporal dev server at ${address} not ready after ${READY_TIMEOUT_MS / 1000}s: ${String(lastError)}`);
}

async function missingSearchAttributes(connection: Connection, namespace: string) {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return ORDER_SEARCH_ATTRIBUTES.filter(({ name }) => !(customAttributes && name in customAttributes));
}

async function createSearchAttribute(cli: string, address: string, namespace: string, name: string, type: string, log: Log) {
  const output: string[] = [];
  const code = await run(
    cli,
    ['operator', 'search-attribute', 'create', '--address', address, '--namespace', namespace, '--name', name, '--type', type],
    { onLine: (line) => output.push(line) },
  );
  if (code !== 0 && !/already exists/i.test(output.join('\n'))) {
    throw new Error(`registering search attribute ${name} failed: ${output.join('\n')}`);
  }
  log(`registered search attribute ${name}=${type} on ${namespace}`);
}
