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
  env?: Record<string, string>;
  stack?: { temporalDbFile?: boolean; pgProxy?: boolean; apis?: number; workers?: WorkerQueue[][] };
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
  constructor(
    readonly stack: Stack,
    readonly game: GameWithItem,
    readonly log: (msg: string) => void,
    private readonly scale: number,
  ) {}

  /** A drill's count at this run's scale. */
  n(count: number): number {
    return Math.max(10, Math.round(count * this.scale));
  }

  /** One purchase as a game server and a payer make it, retrying through failures. */
  async purchase(i: number, key = randomUUID()): Promise<string | undefined> {
    let created;
    try {
      created = await this.stack.client.createOrderWithRetry(this.game, this.orderBody(i), key, CLIENT_RETRY);
    } catch (err) {
      // The order was closed (its channel payment could not be opened): nothing to pay. Its answers are
      // in the client answers; the order itself is checked with the others from the books.
      if (err instanceof ChannelUnavailableError) return undefined;
      throw err;
    }
    this.createdOrderIds.push(created.orderId);
    if (!created.payment) {
      // Created, but not payable: recorded as what the client saw, and the payer cannot pay.
      this.stack.client.answers.add(`create 201 ${created.status} without payment`);
      return created.orderId;
    }
    await this.stack.client.payWithRetry(created.payment.channelPaymentId, {}, CLIENT_RETRY);
    return created.orderId;
  }

  orderBody(i: number) {
    return { userId: `player-${i % 100}`, sku: this.game.sku, region: 'CN' };
  }

  /** Runs `count` purchases at `concurrency`; `fault` starts once `triggerAfter` orders exist. */
  async purchasesWithFault(count: number, concurrency: number, triggerAfter: number, fault: () => Promise<void>) {
    let faultDone: Promise<void> | undefined;
    const purchases = runPool(count, concurrency, async (i) => {
      await this.purchase(i);
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
};

export async function runDrill(name: string, options: DrillOptions): Promise<DrillReport> {
  const drill = DRILLS[name];
  if (!drill) throw new Error(`no drill ${name}; drills: ${Object.keys(DRILLS).join(', ')}`);
  const started = performance.now();
  const log = (msg: string) => options.log(`[${name}] ${msg}`);
  const dir = path.join(BENCH_DATA_DIR, `chaos-${name}`);
  rmSync(dir, { recursive: true, force: true });
  const engine = options.engine ?? 'dev';
  const stack = await Stack.start({
    name: `chaos-${name}`,
    databaseUrl: options.databaseUrl,
    engine,
    temporalAddress: options.temporalAddress,
    // The real server keeps its state in PostgreSQL; the dev server needs a file to survive a restart.
    temporalDbFile: drill.stack?.temporalDbFile && engine === 'dev' ? path.join(dir, 'temporal.db') : undefined,
    apis: drill.stack?.apis ?? options.apis,
    workers: drill.stack?.workers ?? options.workers,
    pgProxy: drill.stack?.pgProxy,
    env: { ...DRILL_ENV, ...drill.env },
    gameServerLog: path.join(dir, 'game-server.log'),
    log,
  });
  try {
    const registered = await stack.client.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: 'chaos', item: { stock: INITIAL_STOCK } });
    stack.gameServer.setSecret(registered.gameId, registered.secret);
    const ctx = new DrillContext(stack, registered, log, options.scale ?? 1);
    const observations = await drill.run(ctx);
    stack.gameServer.faults = { failRate: 0, slowRate: 0, slowMs: 0 };
    // The settle window opens once the drill is over: the fault healed (the process back, polling) and
    // every client has its answers; from then on only the system's own work remains.
    const settleStarted = performance.now();
    const settled = await settle(stack.db, registered.gameId, SETTLE_TIMEOUT_MS);
    const settleSeconds = Math.round((performance.now() - settleStarted) / 100) / 10;
    log(settled ? `settled in ${settleSeconds} s` : `not settled after ${settleSeconds} s`);
    const { counts, invariants } = await checkInvariants(
      stack.db,
      { gameId: registered.gameId, sku: registered.sku, initialStock: INITIAL_STOCK },
      stack.gameServer,
      ctx.createdOrderIds,
    );
    const unpayable = [...stack.client.answers.counts].filter(([kind]) => kind.endsWith('without payment'));
    const all = [
      {
        name: `settled within ${SETTLE_TIMEOUT_MS / 1000} s`,
        ok: settled,
        detail: settled
          ? `nothing left in motion after ${settleSeconds} s (counted from the end of the fault and of the clients' calls)`
          : await explainUnsettled(stack, registered.gameId),
      },
      {
        name: 'every 201 to a create carries the payment parameters',
        ok: unpayable.length === 0,
        detail: unpayable.length ? unpayable.map(([kind, n]) => `${n}× ${kind}`).join(', ') : 'yes',
      },
      ...invariants,
      ...ctx.extraInvariants,
    ];
    return {
      drill: name,
      title: drill.title,
      seconds: Math.round((performance.now() - started) / 1000),
      counts,
      clientAnswers: stack.client.answers.toJSON(),
      observations,
      invariants: all,
      passed: all.every((i) => i.ok),
    };
  } finally {
    await stack.stop();
  }
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
