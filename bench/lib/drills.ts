import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { orderIdFor, purchaseWorkflowId } from '../../domain/ids';
import { SANDBOX_CALLBACK_PATH, SANDBOX_SIGNATURE_HEADER, SANDBOX_TIMESTAMP_HEADER, signNotification } from '../../channels/sandbox/wire';
import { Client, WorkflowFailedError } from '@temporalio/client';
import { ChannelUnavailableError, runPool, type GameWithItem, type RetryPolicy } from '../../testkit/api-client';
import { checkInvariants, inMotion, settle, type DrillCounts, type Invariant } from './invariants';
import { BENCH_DATA_DIR, Stack } from './launcher';
import { SCALE_OUT_DRILLS } from './drills-scale-out';
import { BROKER_DRILLS, startDrillBrokers, type DrillBrokers } from './drills-brokers';
import type { Engine, WorkerQueue } from './topology';

export interface DrillOptions {
  databaseUrl: string;
  log: (msg: string) => void;
  /** Multiplies every drill's purchase counts (CI runs the fast drills at 0.5). */
  scale?: number;
  /** The Temporal engine each drill starts (default: the CLI's dev server). */
  engine?: Engine;
  /** A running Temporal server of that engine to use instead (drills that restart Temporal need their own). */
  temporalAddress?: string;
  /** API and worker processes for drills that do not set their own (default one of each). */
  apis?: number;
  workers?: WorkerQueue[][];
}

export interface DrillReport {
  drill: string;
  title: string;
  seconds: number;
  counts: DrillCounts;
  /** What the clients saw besides success: status and error code, or network errors. */
  clientAnswers: Record<string, number>;
  /** Drill-specific observations (e.g. what the API answered during an outage). */
  observations: Record<string, unknown>;
  invariants: Invariant[];
  passed: boolean;
}

export interface Drill {
  title: string;
  /** Short enough for CI. */
  fast: boolean;
  run(ctx: DrillContext): Promise<Record<string, unknown>>;
  /** Checks once everything settled (e.g. the events read back), pushed to `ctx.extraInvariants`; returns observations. */
  afterSettle?(ctx: DrillContext): Promise<Record<string, unknown>>;
  env?: Record<string, string>;
  stack?: {
    temporalDbFile?: boolean;
    pgProxy?: boolean;
    apis?: number;
    workers?: WorkerQueue[][];
    /** A nats-server of the drill's own (NATS_URL), which it may restart. */
    natsServer?: boolean;
    /** The machine's RabbitMQ reached through a TCP proxy of the drill's (AMQP_URL), which it may cut. */
    rabbitProxy?: boolean;
  };
}

/** Clients retry with the same idempotency key through outages, as game servers must. */
export const CLIENT_RETRY: RetryPolicy = { deadlineMs: 180_000, delayMs: 250 };
export const SETTLE_TIMEOUT_MS = 180_000;
const INITIAL_STOCK = 100_000;

/** Short durations so that retries and timeouts happen within a drill. */
const DRILL_ENV: Record<string, string> = {
  LOG_LEVEL: 'warn',
  WORKFLOW_ANSWER_TIMEOUT_MS: '3000',
  DELIVERY_HTTP_TIMEOUT_MS: '2000',
  DELIVERY_RETRY_INITIAL_MS: '200',
  DELIVERY_RETRY_MAX_MS: '1000',
  DELIVERY_DEADLINE_MS: '600000',
  ACTIVITY_RETRY_INITIAL_MS: '100',
  ACTIVITY_RETRY_MAX_MS: '1000',
  SANDBOX_NOTIFY_RETRY_MS: '200',
  SANDBOX_NOTIFY_POLL_MS: '50',
  PAYMENT_TIMEOUT_MS: '600000',
};

export class DrillContext {
  readonly createdOrderIds: string[] = [];
  /** Checks particular to one drill, reported with the common invariants. */
  readonly extraInvariants: Invariant[] = [];
  /** Every game of the drill (the first is `game`); each is settled and checked. */
  readonly games: GameWithItem[];
  /** The game of each order a client was given (absent: the first game). */
  readonly orderGame = new Map<string, string>();
  /** Names of the games in the report, when there are several. */
  readonly gameLabels = new Map<string, string>();
  /** Run when the drill ends, whatever happened (consumers stopped, the drill's queues deleted). */
  readonly cleanups: (() => Promise<void>)[] = [];
  constructor(
    readonly stack: Stack,
    readonly game: GameWithItem,
    readonly log: (msg: string) => void,
    private readonly scale: number,
    readonly brokers: DrillBrokers,
  ) {
    this.games = [game];
  }

  addGame(game: GameWithItem, label: string) {
    this.games.push(game);
    this.gameLabels.set(game.gameId, label);
  }

  /** A drill's count at this run's scale. */
  n(count: number): number {
    return Math.max(10, Math.round(count * this.scale));
  }

  /** One purchase as a game server and a payer make it, retrying through failures. */
  async purchase(i: number, key = randomUUID(), game = this.game): Promise<string | undefined> {
    let created;
    try {
      created = await this.stack.client.createOrderWithRetry(game, this.orderBody(i, game), key, CLIENT_RETRY);
    } catch (err) {
      // The order was closed (its channel payment could not be opened): nothing to pay. Its answers are
      // in the client answers; the order itself is checked with the others from the books.
      if (err instanceof ChannelUnavailableError) return undefined;
      throw err;
    }
    this.createdOrderIds.push(created.orderId);
    this.orderGame.set(created.orderId, game.gameId);
    if (!created.payment) {
      // Created, but not payable: recorded as what the client saw, and the payer cannot pay.
      this.stack.client.answers.add(`create 201 ${created.status} without payment`);
      return created.orderId;
    }
    await this.stack.client.payWithRetry(created.payment.channelPaymentId, {}, CLIENT_RETRY);
    return created.orderId;
  }

  orderBody(i: number, game = this.game) {
    return { userId: `player-${i % 100}`, sku: game.sku, region: 'CN' };
  }

  /** A game of the drill's own besides the first, with its item in stock (the caller adds it with `addGame`). */
  async registerGame(prefix: string): Promise<GameWithItem> {
    const game = await this.stack.client.registerGameWithItem((id) => this.stack.gameServer.deliveryUrl(id), { prefix, item: { stock: INITIAL_STOCK } });
    this.stack.gameServer.setSecret(game.gameId, game.secret);
    return game;
  }

  /** Runs `count` purchases at `concurrency` (of `gameOf()`'s game); `fault` starts once `triggerAfter` orders exist. */
  async purchasesWithFault(count: number, concurrency: number, triggerAfter: number, fault: () => Promise<void>, gameOf = () => this.game) {
    let faultDone: Promise<void> | undefined;
    const purchases = runPool(count, concurrency, async (i) => {
      await this.purchase(i, undefined, gameOf());
      if (this.createdOrderIds.length >= triggerAfter) faultDone ??= fault();
    });
    await purchases.catch(async (err) => {
      await faultDone;
      throw err;
    });
    await (faultDone ?? fault());
  }
}

export const DRILLS: Record<string, Drill> = {
  'worker-kill': {
    title: 'kill -9 the worker with 200 purchases in flight, restart it',
    fast: true,
    async run(ctx) {
      // Slow deliveries keep some in flight when the worker dies.
      ctx.stack.gameServer.faults = { failRate: 0, slowRate: 0.3, slowMs: 300 };
      let killedAt = 0;
      let downMs = 0;
      await ctx.purchasesWithFault(ctx.n(200), ctx.n(200), ctx.n(40), async () => {
        killedAt = performance.now();
        ctx.log('kill -9 worker');
        await ctx.stack.restartWorker('SIGKILL', 1_000);
        downMs = performance.now() - killedAt;
        ctx.log(`worker back after ${Math.round(downMs)} ms`);
      });
      return { workerDownMs: Math.round(downMs), inFlight: ctx.n(200), killedAfterPaidOrders: ctx.n(40) };
    },
  },

  'temporal-restart': {
    title: 'stop (SIGTERM) and restart the Temporal server mid-flight: the dev server on its file for 3 s, the real server on its databases for 5 s',
    fast: false,
    stack: { temporalDbFile: true },
    async run(ctx) {
      let downMs = 0;
      await ctx.purchasesWithFault(ctx.n(200), 50, ctx.n(60), async () => {
        const t0 = performance.now();
        ctx.log(`stopping Temporal (${ctx.stack.engine === 'server' ? 'real server' : 'dev server'})`);
        await ctx.stack.restartTemporal(ctx.stack.engine === 'server' ? 5_000 : 3_000);
        downMs = performance.now() - t0;
        ctx.log(`Temporal back after ${Math.round(downMs)} ms`);
      });
      return { temporalDownMs: Math.round(downMs), workerRestarts: ctx.stack.worker.exits.length };
    },
  },

  'postgres-outage': {
    title: 'PostgreSQL unavailable for 20 s',
    fast: false,
    stack: { pgProxy: true },
    async run(ctx) {
      const proxy = ctx.stack.pgProxy!;
      const answersBefore = new Map(ctx.stack.client.answers.counts);
      let duringOutage: Record<string, number> = {};
      const health: number[] = [];
      await ctx.purchasesWithFault(ctx.n(150), 20, ctx.n(40), async () => {
        ctx.log('cutting PostgreSQL off for 20 s');
        await proxy.cutOff();
        const until = Date.now() + 20_000;
        while (Date.now() < until) {
          health.push((await fetch(`${ctx.stack.apiUrl}/healthz`).catch(() => undefined))?.status ?? 0);
          await sleep(1_000);
        }
        await proxy.restore();
        ctx.log('PostgreSQL back');
        duringOutage = Object.fromEntries(
          [...ctx.stack.client.answers.counts].map(([k, n]) => [k, n - (answersBefore.get(k) ?? 0)]).filter(([, n]) => Number(n) > 0),
        );
      });
      const unclear = Object.keys(duringOutage).filter((k) => !/ 503 TEMPORARILY_UNAVAILABLE$/.test(k));
      ctx.extraInvariants.push({
        name: 'API answers 503 TEMPORARILY_UNAVAILABLE during the outage',
        ok: unclear.length === 0 && Object.keys(duringOutage).length > 0,
        detail: unclear.length ? `other answers: ${unclear.join(', ')}` : `${Object.values(duringOutage).reduce((a, b) => a + b, 0)} answers, all 503`,
      });
      return { answersDuringOutage: duringOutage, healthzDuringOutage: health };
    },
  },

  'game-server-faults': {
    title: 'game server answering 50% 500s and 10% slow responses',
    fast: true,
    env: { DELIVERY_HTTP_TIMEOUT_MS: '1000', DELIVERY_RETRY_INITIAL_MS: '100', DELIVERY_RETRY_MAX_MS: '500' },
    async run(ctx) {
      // Slow answers outlast the 1 s attempt timeout: the goods were granted, the worker retries them.
      ctx.stack.gameServer.faults = { failRate: 0.5, slowRate: 0.1, slowMs: 1_500 };
      await runPool(ctx.n(150), 30, (i) => ctx.purchase(i).then(() => undefined));
      const gs = ctx.stack.gameServer;
      return { injected500s: gs.injectedFailures, slowAnswers: gs.slowAnswers };
    },
  },

  'notification-storm': {
    title: '10 duplicate notifications per order, concurrently, some before the create call returned',
    fast: true,
    async run(ctx) {
      const { stack, game } = ctx;
      let sentBeforeCreateReturned = 0;
      let directAcks = 0;
      await runPool(ctx.n(100), 20, async (i) => {
        const key = randomUUID();
        const orderId = orderIdFor(game.gameId, key);
        let createReturned = false;
        const creating = stack.client.createOrderWithRetry(game, ctx.orderBody(i), key, CLIENT_RETRY).finally(() => {
          createReturned = true;
        });
        // The payer pays as soon as the channel payment exists, before the game has its answer.
        let paymentId: string | undefined;
        while (!paymentId) {
          const { rows } = await stack.db.query<{ id: string }>('SELECT id FROM sandbox_payments WHERE merchant_order_id = $1', [orderId]);
          paymentId = rows[0]?.id;
          if (!paymentId) await sleep(5);
        }
        await stack.client.payWithRetry(paymentId, { notifyTimes: 10 }, CLIENT_RETRY);
        const { rows } = await stack.db.query<{ body: string }>('SELECT body FROM sandbox_notifications WHERE payment_id = $1 LIMIT 1', [paymentId]);
        const body = rows[0]!.body;
        if (!createReturned) sentBeforeCreateReturned += 10;
        // And ten more copies straight to the callback, all at once, signed with the sandbox's key.
        const acks = await Promise.all(
          Array.from({ length: 10 }, async () => {
            const timestamp = Math.floor(Date.now() / 1000);
            const res = await fetch(`${stack.apiUrl}${SANDBOX_CALLBACK_PATH}`, {
              method: 'POST',
              headers: {
                'Content-Type': 'application/json',
                [SANDBOX_TIMESTAMP_HEADER]: String(timestamp),
                [SANDBOX_SIGNATURE_HEADER]: signNotification(stack.sandboxKeys.SANDBOX_PRIVATE_KEY, body, timestamp),
              },
              body,
            }).catch(() => undefined);
            return res?.status === 200;
          }),
        );
        directAcks += acks.filter(Boolean).length;
        ctx.createdOrderIds.push((await creating).orderId);
      });
      await settle(stack.db, game.gameId, SETTLE_TIMEOUT_MS);
      const { rows } = await stack.db.query<{ attempts: string; received: string; orders: string }>(
        `SELECT (SELECT count(*) FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.game_id = $1) AS attempts,
                (SELECT coalesce(sum(received_count), 0) FROM channel_notifications n JOIN orders o ON o.id = n.order_id WHERE o.game_id = $1) AS received,
                (SELECT count(*) FROM orders WHERE game_id = $1) AS orders`,
        [game.gameId],
      );
      const { attempts, received, orders } = rows[0]!;
      ctx.extraInvariants.push({
        name: 'each order acted on one payment result, however many copies arrived',
        ok: attempts === orders,
        detail: `${attempts} payment results recorded for ${orders} orders; ${received} notifications received`,
      });
      return { notificationsReceived: Number(received), sentBeforeCreateReturned, directCopiesAcknowledged: directAcks };
    },
  },

  'api-restart': {
    title: 'API process killed and restarted while requests are in flight; clients retry with the same keys',
    fast: false,
    async run(ctx) {
      let downMs = 0;
      await ctx.purchasesWithFault(ctx.n(200), 50, ctx.n(60), async () => {
        const t0 = performance.now();
        ctx.log('kill -9 API');
        await ctx.stack.restartApi('SIGKILL', 500);
        downMs = performance.now() - t0;
        ctx.log(`API back after ${Math.round(downMs)} ms`);
      });
      return { apiDownMs: Math.round(downMs) };
    },
  },

  ...SCALE_OUT_DRILLS,
  ...BROKER_DRILLS,
};

export async function runDrill(name: string, options: DrillOptions): Promise<DrillReport> {
  const drill = DRILLS[name];
  if (!drill) throw new Error(`no drill ${name}; drills: ${Object.keys(DRILLS).join(', ')}`);
  const started = performance.now();
  const log = (msg: string) => options.log(`[${name}] ${msg}`);
  const dir = path.join(BENCH_DATA_DIR, `chaos-${name}`);
  rmSync(dir, { recursive: true, force: true });
  const engine = options.engine ?? 'dev';
  const verdict = (invariants: Invariant[], counts: DrillCounts, clientAnswers: Record<string, number>, observations: Record<string, unknown>): DrillReport => ({
    drill: name,
    title: drill.title,
    seconds: Math.round((performance.now() - started) / 1000),
    counts,
    clientAnswers,
    observations,
    invariants,
    passed: invariants.every((i) => i.ok),
  });
  const brokers = await startDrillBrokers(drill, dir);
  let stack: Stack;
  try {
    stack = await Stack.start({
      name: `chaos-${name}`,
      databaseUrl: options.databaseUrl,
      engine,
      temporalAddress: options.temporalAddress,
      // The real server keeps its state in PostgreSQL; the dev server needs a file to survive a restart.
      temporalDbFile: drill.stack?.temporalDbFile && engine === 'dev' ? path.join(dir, 'temporal.db') : undefined,
      apis: drill.stack?.apis ?? options.apis,
      workers: drill.stack?.workers ?? options.workers,
      pgProxy: drill.stack?.pgProxy,
      env: { ...DRILL_ENV, ...drill.env, ...brokers.env },
      gameServerLog: path.join(dir, 'game-server.log'),
      log,
    });
  } catch (err) {
    // A product process that did not come up is the drill's verdict, not a crash of the tool.
    await brokers.stop();
    return verdict([{ name: 'the stack started', ok: false, detail: (err as Error).message }], EMPTY_COUNTS, {}, {});
  }
  let ctx: DrillContext | undefined;
  try {
    const registered = await stack.client.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: 'chaos', item: { stock: INITIAL_STOCK } });
    stack.gameServer.setSecret(registered.gameId, registered.secret);
    ctx = new DrillContext(stack, registered, log, options.scale ?? 1, brokers);
    if (Object.keys(brokers.env).length) ctx.gameLabels.set(registered.gameId, 'HTTP');
    const observations = await ranToTheEnd(ctx, () => drill.run(ctx!));
    stack.gameServer.faults = { failRate: 0, slowRate: 0, slowMs: 0 };
    // The settle window opens once the drill is over: the fault healed (the process back, polling) and
    // every client has its answers; from then on only the system's own work remains.
    const settleStarted = performance.now();
    const settled = await Promise.all(ctx.games.map((g) => settle(stack.db, g.gameId, SETTLE_TIMEOUT_MS)));
    const settleSeconds = Math.round((performance.now() - settleStarted) / 100) / 10;
    log(settled.every(Boolean) ? `settled in ${settleSeconds} s` : `not settled after ${settleSeconds} s`);
    const after = drill.afterSettle ? await ranToTheEnd(ctx, () => drill.afterSettle!(ctx!)) : {};
    const checked = await checkEveryGame(ctx);
    const unpayable = [...stack.client.answers.counts].filter(([kind]) => kind.endsWith('without payment'));
    const all = [
      {
        name: `settled within ${SETTLE_TIMEOUT_MS / 1000} s`,
        ok: settled.every(Boolean),
        detail: settled.every(Boolean)
          ? `nothing left in motion after ${settleSeconds} s (counted from the end of the fault and of the clients' calls)`
          : (await Promise.all(ctx.games.map((g) => explainUnsettled(stack, g.gameId)))).join('; '),
      },
      {
        name: 'every 201 to a create carries the payment parameters',
        ok: unpayable.length === 0,
        detail: unpayable.length ? unpayable.map(([kind, n]) => `${n}× ${kind}`).join(', ') : 'yes',
      },
      ...checked.invariants,
      ...ctx.extraInvariants,
      noUnexpectedExits(stack),
    ];
    return verdict(all, checked.counts, stack.client.answers.toJSON(), { ...observations, ...after });
  } finally {
    for (const cleanup of ctx?.cleanups ?? []) await cleanup().catch((err: unknown) => log(`cleanup failed: ${(err as Error).message}`));
    await stack.stop();
    await brokers.stop();
  }
}

const EMPTY_COUNTS: DrillCounts = {
  orders: 0,
  byStatus: {},
  paid: 0,
  delivered: 0,
  refunded: 0,
  grantedByGameServer: 0,
  duplicatesSeenByGameServer: 0,
  deliveryAttemptsAtGameServer: 0,
};

/** Runs a step of the drill; an error (a process that would not come back, a client that gave up) becomes a failed invariant. */
async function ranToTheEnd(ctx: DrillContext, step: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  try {
    return await step();
  } catch (err) {
    ctx.log(`the drill stopped early: ${(err as Error).message}`);
    ctx.extraInvariants.push({ name: 'the drill ran to its end', ok: false, detail: (err as Error).stack ?? String(err) });
    return {};
  }
}

/** The common invariants of every game of the drill; with several games, each check is named with its game. */
async function checkEveryGame(ctx: DrillContext): Promise<{ counts: DrillCounts; invariants: Invariant[] }> {
  const counts = { ...EMPTY_COUNTS, byStatus: {} as Record<string, number> };
  const invariants: Invariant[] = [];
  for (const game of ctx.games) {
    const one = await checkInvariants(ctx.stack.db, { gameId: game.gameId, sku: game.sku, initialStock: INITIAL_STOCK }, ctx.stack.gameServer, ctx.createdOrderIds.filter((id) => (ctx.orderGame.get(id) ?? ctx.game.gameId) === game.gameId));
    const label = ctx.games.length > 1 ? `[${ctx.gameLabels.get(game.gameId) ?? game.gameId}] ` : '';
    invariants.push(...one.invariants.map((i) => ({ ...i, name: `${label}${i.name}` })));
    for (const key of ['orders', 'paid', 'delivered', 'refunded', 'grantedByGameServer', 'duplicatesSeenByGameServer'] as const) counts[key] += one.counts[key];
    for (const [status, n] of Object.entries(one.counts.byStatus)) counts.byStatus[status] = (counts.byStatus[status] ?? 0) + n;
    counts.deliveryAttemptsAtGameServer = one.counts.deliveryAttemptsAtGameServer;
  }
  return { counts, invariants };
}

/** A product process that exited without the drill stopping it (a crash) fails the drill. */
function noUnexpectedExits(stack: Stack): Invariant {
  const crashes = stack.processes().flatMap((p) => p.unexpectedExits().map((e) => `${p.name} exited (code ${e.code}, signal ${e.signal}); see ${p.logFile}`));
  return { name: 'no product process exited unless the drill stopped it', ok: crashes.length === 0, detail: crashes.length ? crashes.join('; ') : 'none did' };
}

/** Which orders are still in motion and what their workflows say: the evidence a failed settle needs. */
async function explainUnsettled(stack: Stack, gameId: string): Promise<string> {
  const { moving, unsent } = await inMotion(stack.db, gameId);
  const client = new Client({ connection: stack.connection! });
  const orders = await Promise.all(
    moving.slice(0, 5).map(async (o) => {
      const handle = client.workflow.getHandle(purchaseWorkflowId(o.id));
      let workflow: string;
      try {
        const { status } = await handle.describe();
        workflow = status.name;
        if (status.name === 'FAILED') {
          const err = await handle.result().catch((e: unknown) => e);
          const cause = err instanceof WorkflowFailedError ? err.cause : err;
          workflow += `: ${(cause as Error)?.message ?? String(cause)}`;
        }
      } catch (err) {
        workflow = `not described (${(err as Error).message})`;
      }
      return `${o.id} ${o.status} (payment ${o.paymentStatus ?? 'none'}, workflow ${workflow})`;
    }),
  );
  return `${moving.length} orders in motion${orders.length ? `: ${orders.join('; ')}` : ''}; ${unsent} sandbox notifications unsent`;
}

export const FAST_DRILLS = Object.entries(DRILLS)
  .filter(([, d]) => d.fast)
  .map(([name]) => name);

export function formatReport(r: DrillReport): string {
  const c = r.counts;
  return [
    `${r.passed ? 'PASS' : 'FAIL'} ${r.drill} — ${r.title} (${r.seconds} s)`,
    `  orders ${c.orders}, paid ${c.paid}, delivered ${c.delivered}, refunded ${c.refunded}, granted by the game server ${c.grantedByGameServer}, duplicates seen by the game server ${c.duplicatesSeenByGameServer}, delivery attempts ${c.deliveryAttemptsAtGameServer}`,
    `  statuses ${JSON.stringify(c.byStatus)}; client answers ${JSON.stringify(r.clientAnswers)}`,
    `  observed ${JSON.stringify(r.observations)}`,
    ...r.invariants.map((i) => `  ${i.ok ? '✔' : '✘'} ${i.name}: ${i.detail}`),
  ].join('\n');
}
