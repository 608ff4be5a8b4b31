import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { signedHeaders } from '../../domain/signature';
import { DEFAULT_RECON_TIME_ZONE } from '../../infra/config';
import { READY_LINE } from '../../scripts/dev';
import { DEMO_GAME_ID, DEMO_SECRET } from '../../api/shared/demo-catalog';

/**
 * `npm run dev` with nothing but Node: the real scripts/dev.ts on the embedded PGlite database, in a
 * temporary data folder on free ports. An order placed before a restart is still pending afterwards
 * and can be paid and delivered, so both the database and Temporal's in-flight workflow survived.
 */
const ROOT = resolve(__dirname, '..', '..');
/** Each start bundles the workflows, which takes 15–25 s on a busy 2-core machine. */
const START_TIMEOUT_MS = 150_000;
const STOP_TIMEOUT_MS = 60_000;

interface JsonResponse {
  status: number;
  body: any;
}

class DevMode {
  private readonly lines: string[] = [];
  private readonly exited: Promise<number | null>;
  /** API and worker pids from the ready line: they run in their own process groups. */
  private childPids: number[] = [];

  private constructor(private readonly child: ChildProcess) {
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => this.lines.push(...chunk.split('\n')));
    }
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(env: NodeJS.ProcessEnv): Promise<DevMode> {
    // Its own process group, so a leftover can be killed with everything it started.
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const dev = new DevMode(child);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!dev.output.includes(READY_LINE)) {
      if (child.exitCode !== null) throw new Error(`dev mode exited with ${child.exitCode} before it was ready:\n${dev.tail()}`);
      if (Date.now() > deadline) {
        await dev.kill();
        throw new Error(`dev mode not ready within ${START_TIMEOUT_MS / 1000} s:\n${dev.tail()}`);
      }
      await sleep(200);
    }
    const pids = /API pid (\d+), worker pid (\d+)/.exec(dev.output);
    dev.childPids = pids ? [Number(pids[1]), Number(pids[2])] : [];
    return dev;
  }

  get output(): string {
    return this.lines.join('\n');
  }

  tail(count = 60): string {
    return this.lines.slice(-count).join('\n');
  }

  /** Ctrl+C: resolves with the exit code once everything has stopped. */
  async stop(): Promise<number | null> {
    this.child.kill('SIGINT');
    const code = await Promise.race([this.exited, sleep(STOP_TIMEOUT_MS).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      await this.kill();
      throw new Error(`dev mode did not stop within ${STOP_TIMEOUT_MS / 1000} s:\n${this.tail()}`);
    }
    return code;
  }

  /** Cleanup after a failure: nothing may keep holding the ports or the data folder. */
  async kill(): Promise<void> {
    for (const pid of [...this.childPids, ...(this.child.pid ? [this.child.pid] : [])]) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.race([this.exited, sleep(5_000)]);
  }
}

/** Distinct free ports: all are bound at once before any is released. */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function request(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A call signed as the demo game's server signs it. */
function signed(apiUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const raw = body === undefined ? '' : JSON.stringify(body);
  const signature = signedHeaders(
    DEMO_SECRET,
    DEMO_GAME_ID,
    method,
    path,
    raw,
    randomBytes(12).toString('hex'),
    Math.floor(Date.now() / 1000),
  );
  return request(`${apiUrl}${path}`, method, body, { ...signature, ...headers });
}

/** Frontend messages written by hand, so that a test can send one half of an extended query, then the other. */
const wire = {
  message(type: string, ...parts: Buffer[]) {
    const body = Buffer.concat(parts);
    const length = Buffer.alloc(4);
    length.writeInt32BE(body.length + 4);
    return Buffer.concat([Buffer.from(type), length, body]);
  },
  startup() {
    const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from('user\0postgres\0database\0postgres\0\0')]);
    const length = Buffer.alloc(4);
    length.writeInt32BE(body.length + 4);
    return Buffer.concat([length, body]);
  },
  /** Parse into the unnamed statement, no parameters. */
  parse: (sql: string) => wire.message('P', Buffer.from(`\0${sql}\0`), Buffer.alloc(2)),
  /** Bind the unnamed statement, Execute it, Sync. */
  bindExecuteSync: () =>
    Buffer.concat([
      wire.message('B', Buffer.from('\0\0'), Buffer.alloc(6)),
      wire.message('E', Buffer.from('\0'), Buffer.alloc(4)),
      wire.message('S'),
    ]),
};

/** Reads backend messages up to ReadyForQuery; answers the first column of the first row, or the error. */
function readUntilReady(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    let answer = '(no row)';
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 5 && buffered.length >= 1 + buffered.readInt32BE(1)) {
        const type = String.fromCharCode(buffered[0]);
        const body = buffered.subarray(5, 1 + buffered.readInt32BE(1));
        buffered = buffered.subarray(1 + buffered.readInt32BE(1));
        if (type === 'D' && answer === '(no row)') answer = body.subarray(6, 6 + body.readInt32BE(2)).toString();
        if (type === 'E') answer = `error: ${body.toString().replace(/\0/g, ' ').trim()}`;
        if (type === 'Z') {
          socket.off('data', onData);
          resolve(answer);
        }
      }
    };
    socket.on('data', onData);
  });
}

const ADMIN_TOKEN = `dev-mode-test-${randomUUID()}`;
const asAdmin = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** Polls an order until it is `status` (or a minute has passed); answers the last view. */
async function waitForOrder(apiUrl: string, orderId: string, status: string): Promise<JsonResponse> {
  let order = await signed(apiUrl, 'GET', `/v1/orders/${orderId}`);
  for (const deadline = Date.now() + 60_000; order.body.status !== status && Date.now() < deadline; ) {
    await sleep(250);
    order = await signed(apiUrl, 'GET', `/v1/orders/${orderId}`);
  }
  return order;
}

describe('npm run dev without DATABASE_URL', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'payments-dev-mode-'));
  const running: DevMode[] = [];
  let env: NodeJS.ProcessEnv;
  let apiUrl: string;
  let databasePort: number;
  /** Started here, stopped and restarted by the last test. */
  let first: DevMode;

  beforeAll(async () => {
    const [api, demoGame, database, temporal, temporalUi, workerMetrics, apiMetrics] = await freePorts(7);
    databasePort = database;
    // The global setup points these at the shared test services; dev mode must bring its own.
    env = { ...process.env };
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    Object.assign(env, {
      DEV_DATA_DIR: dataDir,
      PORT: String(api),
      DEMO_GAME_PORT: String(demoGame),
      EMBEDDED_PG_PORT: String(database),
      TEMPORAL_DEV_PORT: String(temporal),
      TEMPORAL_UI_PORT: String(temporalUi),
      WORKER_METRICS_ADDRESS: `127.0.0.1:${workerMetrics}`,
      API_METRICS_ADDRESS: `127.0.0.1:${apiMetrics}`,
      LOG_LEVEL: 'warn',
      ADMIN_TOKEN,
    });
    apiUrl = `http://127.0.0.1:${api}`;
    first = await DevMode.start(env);
    running.push(first);
  }, START_TIMEOUT_MS + STOP_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all(running.map((dev) => dev.kill()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('serves an embedded PostgreSQL that keeps each extended query whole', async () => {
    expect(first.output).toContain(`database: embedded PostgreSQL (PGlite) in ${join(dataDir, 'pglite')}`);
    const split = connect(databasePort, '127.0.0.1');
    const other = new Client({ connectionString: `postgresql://postgres@127.0.0.1:${databasePort}/postgres` });
    try {
      await new Promise((resolve) => split.once('connect', resolve));
      split.write(wire.startup());
      await readUntilReady(split);
      await other.connect();

      // The first connection's Parse arrives in one read, its Bind, Execute and Sync in a later one.
      const splitAnswer = readUntilReady(split);
      split.write(wire.parse("SELECT 'split' AS who"));
      await sleep(100);
      // Run in between, this Parse would replace the unnamed statement that the first connection binds next.
      const otherAnswer = other.query('SELECT $1::text AS who', ['other']);
      await sleep(100);
      split.write(wire.bindExecuteSync());

      expect(await splitAnswer).toBe('split');
      expect((await otherAnswer).rows).toEqual([{ who: 'other' }]);
    } finally {
      split.destroy();
      await other.end();
    }
  });

  test("prints the sample order's page in the console, its story there for the printed token", async () => {
    const link = /Sample order +(http:\/\/\S+\/console\/orders\/([0-9a-f-]{36}))/.exec(first.output);
    expect(link?.[1]).toMatch(new RegExp(`^${apiUrl}/console/orders/`));
    expect((await fetch(link![1]!)).status).toBe(200); // the console's page; its one call follows
    const story = await request(`${apiUrl}/v1/ops/orders/${link![2]}`, 'GET', undefined, { ...asAdmin, 'X-Operator': 'dev@studio.example' });
    expect(story.status).toBe(200);
    expect(story.body.order).toMatchObject({ orderId: link![2], userId: 'demo-player-1' });
    expect(story.body.timeline.length).toBeGreaterThan(0);
  });

  test("reconciles the day's sandbox statement on the embedded database, and again (staged without COPY FROM STDIN)", async () => {
    const created = await signed(
      apiUrl,
      'POST',
      '/v1/orders',
      { userId: 'dev-mode-recon', sku: 'demo-gems-60', region: 'CN' },
      { 'Idempotency-Key': randomUUID() },
    );
    expect(created.status).toBe(201);
    const paid = await request(`${apiUrl}/sandbox/payments/${created.body.payment.channelPaymentId}/complete`, 'POST', { result: 'SUCCESS' }, asAdmin);
    expect(paid.status).toBe(202);
    expect((await waitForOrder(apiUrl, created.body.orderId, 'DELIVERED')).body.status).toBe('DELIVERED');

    const reconcileToday = async () => {
      const today = new Date().toLocaleDateString('sv-SE', { timeZone: env.RECON_TIME_ZONE ?? DEFAULT_RECON_TIME_ZONE });
      const started = await request(`${apiUrl}/v1/finance/reconciliations`, 'POST', { channel: 'sandbox', from: today, to: today }, asAdmin);
      expect(started.status).toBe(202);
      const runPath = `${apiUrl}/v1/finance/reconciliations/${started.body.runs[0].id}`;
      let run = await request(runPath, 'GET', undefined, asAdmin);
      for (const deadline = Date.now() + 90_000; run.body.status === 'RUNNING' && Date.now() < deadline; ) {
        await sleep(500);
        run = await request(runPath, 'GET', undefined, asAdmin);
      }
      return run.body;
    };
    const first = await reconcileToday();
    expect(first).toMatchObject({ status: 'COMPLETED' });
    expect(first.summary.matched).toBeGreaterThanOrEqual(1);
    // The rerun is what stopped dev mode: the worker survives it and it ends the same way.
    const again = await reconcileToday();
    expect(again).toMatchObject({ status: 'COMPLETED', summary: first.summary });
  }, 240_000);

  test('keeps a pending order payable across a restart', async () => {

    const created = await signed(
      apiUrl,
      'POST',
      '/v1/orders',
      { userId: 'dev-mode-player', sku: 'demo-gems-60', region: 'CN' },
      { 'Idempotency-Key': randomUUID() },
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'PENDING_PAYMENT', amount: { currency: 'CNY', value: 600 } });
    const { orderId } = created.body;
    const { channelPaymentId } = created.body.payment;

    expect(await first.stop()).toBe(0);
    expect(first.output).toContain('[dev] stopped');

    const second = await DevMode.start(env);
    running.push(second);
    expect(second.output).toContain('database is up to date');
    const pending = await signed(apiUrl, 'GET', `/v1/orders/${orderId}`);
    expect(pending.body).toMatchObject({ orderId, status: 'PENDING_PAYMENT' });

    // As the payer does: the checkout page's Pay button.
    const paid = await request(`${apiUrl}/sandbox/checkout/${channelPaymentId}/pay`, 'POST', { result: 'SUCCESS' });
    expect(paid.status).toBe(202);
    let order = pending;
    for (const deadline = Date.now() + 60_000; order.body.status !== 'DELIVERED' && Date.now() < deadline; ) {
      await sleep(250);
      order = await signed(apiUrl, 'GET', `/v1/orders/${orderId}`);
    }
    expect(order.body.status).toBe('DELIVERED');
    // The workflow that the first run started delivered it to the demo game server of the second.
    expect(readFileSync(join(dataDir, 'demo-deliveries.log'), 'utf8')).toContain(`"orderId":"${orderId}"`);

    expect(await second.stop()).toBe(0);
  }, START_TIMEOUT_MS + 3 * STOP_TIMEOUT_MS);
});
