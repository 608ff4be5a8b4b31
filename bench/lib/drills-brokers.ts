import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeliverPolicy } from '@nats-io/jetstream';
import { connect as amqpConnect } from 'amqplib';
import { DELIVERY_STREAM, BROKER_TOPICS, type DeliveryMode } from '../../domain/fulfillment/modes';
import { eventIdFor, type OrderEventBody } from '../../domain/orders/events';
import { natsBroker } from '../../infra/brokers/nats';
import { EVENTS_STREAM, RELAY_APPLICATION_NAME } from '../../infra/event-relay';
import type { GameWithItem } from '../../testkit/api-client';
import type { Drill, DrillContext } from './drills';
import { outboxDrained, type Invariant } from './invariants';
import { freePort, type ManagedProcess } from './launcher';
import { DrillNatsServer } from './nats-server';
import { CuttableTcpProxy } from './tcp-proxy';
import { WORKER_QUEUES } from './topology';

/**
 * The drills of the brokers: deliveries to NATS and RabbitMQ games while the drill's own nats-server
 * restarts and RabbitMQ is cut off (`broker-outage`), and the order events' relay killed mid-batch
 * (`relay-kill`). The machine's brokers are never stopped: NATS is the drill's own process, and
 * RabbitMQ is reached through the drill's TCP proxy.
 */

/** The machine's RabbitMQ (the drills only ever cut their proxy to it). */
const MACHINE_AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** How long the relay may take to publish what is left once everything settled. */
const OUTBOX_DRAIN_MS = 60_000;
/** Longer than a delivery attempt's publish timeout (2 s in the drills), so that attempts meet the outage. */
const NATS_DOWN_MS = 10_000;
const RABBIT_CUT_MS = 20_000;

/** What a drill's brokers are: the product processes' NATS_URL and AMQP_URL point at them. */
export interface DrillBrokers {
  nats?: DrillNatsServer;
  rabbitProxy?: CuttableTcpProxy;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startDrillBrokers(drill: Drill, dir: string): Promise<DrillBrokers> {
  const env: Record<string, string> = {};
  let nats: DrillNatsServer | undefined;
  let rabbitProxy: CuttableTcpProxy | undefined;
  if (drill.stack?.natsServer) {
    nats = new DrillNatsServer(await freePort(), path.join(dir, 'nats-store'), path.join(dir, 'nats-server.log'));
    await nats.start();
    env.NATS_URL = nats.url;
  }
  if (drill.stack?.rabbitProxy) {
    const upstream = new URL(MACHINE_AMQP_URL);
    rabbitProxy = new CuttableTcpProxy({ host: upstream.hostname, port: Number(upstream.port || 5672) }, await freePort());
    await rabbitProxy.start();
    upstream.hostname = '127.0.0.1';
    upstream.port = String(rabbitProxy.port);
    env.AMQP_URL = upstream.toString();
  }
  return {
    nats,
    rabbitProxy,
    env,
    async stop() {
      await rabbitProxy?.stop();
      await nats?.stop();
    },
  };
}

/**
 * A game of `mode` whose deliveries the reference consumer of examples/ takes (in the game server):
 * on the drill's nats-server, or on the machine's RabbitMQ directly (the game's side of the broker;
 * only the payment center's link goes through the cuttable proxy).
 */
async function brokerGame(ctx: DrillContext, mode: Exclude<DeliveryMode, 'HTTP'>): Promise<GameWithItem> {
  const { stack } = ctx;
  const game = await ctx.registerGame(`chaos-${mode.toLowerCase()}`);
  const put = await stack.client.admin('PUT', `/v1/admin/games/${game.gameId}`, {
    name: `chaos ${mode}`,
    secret: game.secret,
    deliveryUrl: stack.gameServer.deliveryUrl(game.gameId),
    delivery: { mode },
  });
  if (put.status !== 200) throw new Error(`PUT game ${mode}: ${put.status} ${JSON.stringify(put.body)}`);
  if (mode === 'NATS') {
    // The consumer waits for the stream the worker creates on its first publish: made here first.
    const nats = natsBroker(ctx.brokers.nats!.url);
    await nats.ensureStream({ name: DELIVERY_STREAM.name, subjects: [...DELIVERY_STREAM.subjects], maxAgeMs: DELIVERY_STREAM.maxAgeMs });
    await nats.close();
  }
  const broker = mode === 'NATS' ? { mode, natsUrl: ctx.brokers.nats!.url } : { mode, amqpUrl: MACHINE_AMQP_URL };
  const consumer = await stack.gameServer.consumeFrom(broker, stack.apiUrl, game);
  ctx.cleanups.push(() => consumer.stop());
  if (mode === 'RABBITMQ') ctx.cleanups.push(() => deleteGameQueues(game.gameId));
  ctx.addGame(game, mode);
  return game;
}

/** A drill's or benchmark's game's own durable queues on the machine's RabbitMQ (named after its game id), gone with it. */
export async function deleteGameQueues(gameId: string, amqpUrl = MACHINE_AMQP_URL) {
  const connection = await amqpConnect(amqpUrl);
  const channel = await connection.createChannel();
  for (const exchange of Object.values(BROKER_TOPICS)) await channel.deleteQueue(`${exchange}.${gameId}`);
  await connection.close();
}

/** Starts one purchase every `everyMs` (taking the games in turn) until `until()`; resolves when all are done. */
async function purchasesMeanwhile(ctx: DrillContext, games: GameWithItem[], everyMs: number, until: () => boolean): Promise<number> {
  const running: Promise<unknown>[] = [];
  for (let i = 0; !until(); i++) {
    running.push(ctx.purchase(100_000 + i, undefined, games[i % games.length]));
    await sleep(everyMs);
  }
  await Promise.all(running);
  return running.length;
}

/** Waits until a delivery of `game` has started (or `timeoutMs` passed). */
async function deliveriesStarted(ctx: DrillContext, game: GameWithItem, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { rows } = await ctx.stack.db.query('SELECT 1 FROM deliveries d JOIN orders o ON o.id = d.order_id WHERE o.game_id = $1 LIMIT 1', [game.gameId]);
    if (rows.length) return;
    await sleep(100);
  }
}

// ---- Order events read back ---------------------------------------------------------------------

/** Every message of PAYMENT_EVENTS on the drill's own nats-server, in stream order. */
async function streamedEvents(natsUrl: string): Promise<OrderEventBody[]> {
  const nats = natsBroker(natsUrl);
  try {
    const consumer = await (await nats.jetstream()).consumers.get(EVENTS_STREAM, { deliver_policy: DeliverPolicy.All });
    const events: OrderEventBody[] = [];
    for (;;) {
      let n = 0;
      for await (const m of await consumer.fetch({ max_messages: 1_000, expires: 2_000 })) {
        events.push(m.json<OrderEventBody>());
        n++;
      }
      if (n === 0) return events;
    }
  } finally {
    await nats.close();
  }
}

/**
 * The events of every order of the drill's games, read back from the stream: each change's event
 * (eventId `evt_<order>_<sequence>`, sequence 1..n from the order's counter) exactly once, and each
 * order's events in sequence order.
 */
async function eventsReadBackOnceInOrder(ctx: DrillContext): Promise<Record<string, unknown>> {
  const drained = await outboxDrained(ctx.stack.db, OUTBOX_DRAIN_MS, ctx.games.map((g) => g.gameId));
  const { rows: orders } = await ctx.stack.db.query<{ id: string; event_sequence: number; rows: string }>(
    `SELECT o.id, o.event_sequence, (SELECT count(*) FROM order_events e WHERE e.order_id = o.id) AS rows
       FROM orders o WHERE o.game_id = ANY($1)`,
    [ctx.games.map((g) => g.gameId)],
  );
  const events = (await streamedEvents(ctx.brokers.nats!.url)).filter((e) => ctx.games.some((g) => g.gameId === e.gameId));
  const seen = new Map<string, number>();
  const sequences = new Map<string, number[]>();
  for (const e of events) {
    seen.set(e.eventId, (seen.get(e.eventId) ?? 0) + 1);
    sequences.set(e.orderId, [...(sequences.get(e.orderId) ?? []), e.sequence]);
  }
  const expected = orders.flatMap((o) => Array.from({ length: o.event_sequence }, (_, i) => eventIdFor(o.id, i + 1)));
  const missing = expected.filter((id) => !seen.has(id));
  const twice = [...seen].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
  const outOfOrder = [...sequences].filter(([, s]) => s.some((seq, i) => seq !== i + 1)).map(([id, s]) => `${id}: ${s.join(',')}`);
  const rowsOff = orders.filter((o) => Number(o.rows) !== o.event_sequence).map((o) => `${o.id}: ${o.rows} rows for ${o.event_sequence} changes`);
  const check = (name: string, offenders: string[], okDetail: string): Invariant => ({
    name,
    ok: offenders.length === 0,
    detail: offenders.length ? `${offenders.length}: ${offenders.slice(0, 5).join('; ')}` : okDetail,
  });
  ctx.extraInvariants.push(
    { name: `the outbox was published within ${OUTBOX_DRAIN_MS / 1000} s of settling`, ok: drained, detail: drained ? 'nothing left unpublished' : 'events still unpublished' },
    check('one outbox row per order change (order_events against the order counter)', rowsOff, `${expected.length} events of ${orders.length} orders`),
    check('every order event read back from the stream (no loss)', missing, `${expected.length} of ${expected.length} read back`),
    check('each event read back once (per eventId)', twice, `${events.length} messages, ${seen.size} eventIds`),
    check("each order's events read back in sequence order", outOfOrder, `${sequences.size} orders in order`),
  );
  return { eventsExpected: expected.length, eventsReadBack: events.length, ordersWithEvents: sequences.size };
}

// ---- The relay's lead ---------------------------------------------------------------------------

/** The process id of the worker whose relay holds the advisory lock now (its connection's application_name). */
async function relayLeaderPid(ctx: DrillContext): Promise<number | undefined> {
  const { rows } = await ctx.stack.db.query<{ name: string }>(
    `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() AND a.application_name LIKE $1`,
    [`${RELAY_APPLICATION_NAME} %`],
  );
  const pid = Number(rows[0]?.name.split(' ')[1]);
  return Number.isInteger(pid) ? pid : undefined;
}

async function unpublishedEvents(ctx: DrillContext): Promise<number> {
  const { rows } = await ctx.stack.db.query<{ n: string }>('SELECT count(*) AS n FROM order_events WHERE published_at IS NULL');
  return Number(rows[0]!.n);
}

/** Waits for the relay leader to be a worker of the stack's with events waiting (mid-batch); undefined past `timeoutMs`. */
async function leaderMidBatch(ctx: DrillContext, timeoutMs: number): Promise<{ leader: ManagedProcess; unpublished: number } | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [pid, unpublished] = await Promise.all([relayLeaderPid(ctx), unpublishedEvents(ctx)]);
    const leader = ctx.stack.workers.find((w) => w.pid === pid);
    if (leader && unpublished > 0) return { leader, unpublished };
    await sleep(20);
  }
  return undefined;
}

/** The lead taken by a process other than `pid`: how long it took, or undefined past `timeoutMs`. */
async function leadTakenFrom(ctx: DrillContext, pid: number, timeoutMs: number): Promise<{ ms: number; by?: string } | undefined> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    const leader = await relayLeaderPid(ctx);
    if (leader && leader !== pid) return { ms: Math.round(performance.now() - t0), by: ctx.stack.workers.find((w) => w.pid === leader)?.name };
    await sleep(50);
  }
  return undefined;
}

const LEAD_TAKEN_WITHIN_MS = 10_000;

export const BROKER_DRILLS: Record<string, Drill> = {
  'broker-outage': {
    title: `NATS and RabbitMQ games: the drill's nats-server restarted mid-flight (down ${NATS_DOWN_MS / 1000} s), then RabbitMQ cut off for ${RABBIT_CUT_MS / 1000} s by the drill's proxy; order events on that NATS`,
    fast: false,
    stack: { natsServer: true, rabbitProxy: true },
    env: { EVENTS_BROKER: 'nats' },
    async run(ctx) {
      const games = [ctx.game, await brokerGame(ctx, 'NATS'), await brokerGame(ctx, 'RABBITMQ')];
      let outage = false;
      let natsDownMs = 0;
      let purchasesDuringOutages = 0;
      let i = 0;
      await ctx.purchasesWithFault(ctx.n(150), 20, ctx.n(30), async () => {
        // Orders exist before their deliveries start (a loaded machine takes seconds to pay them): the
        // outage starts once the NATS game's deliveries flow, so that it meets some.
        await deliveriesStarted(ctx, games[1]!, 60_000);
        outage = true;
        const meanwhile = purchasesMeanwhile(ctx, games.slice(1), 500, () => !outage);
        const t0 = performance.now();
        ctx.log(`restarting the drill's nats-server (down ${NATS_DOWN_MS / 1000} s)`);
        await ctx.brokers.nats!.restart(NATS_DOWN_MS);
        natsDownMs = Math.round(performance.now() - t0);
        ctx.log(`nats-server back after ${natsDownMs} ms; cutting RabbitMQ off for ${RABBIT_CUT_MS / 1000} s`);
        await sleep(2_000);
        await ctx.brokers.rabbitProxy!.cutOff();
        await sleep(RABBIT_CUT_MS);
        await ctx.brokers.rabbitProxy!.restore();
        ctx.log('RabbitMQ reachable again');
        outage = false;
        purchasesDuringOutages = await meanwhile;
      }, () => games[i++ % games.length]);
      const { rows } = await ctx.stack.db.query<{ mode: string; deliveries: string; attempts: string; retried: string }>(
        `SELECT d.mode, count(*) AS deliveries, sum(d.attempts) AS attempts, count(*) FILTER (WHERE d.attempts > 1) AS retried
           FROM deliveries d JOIN orders o ON o.id = d.order_id WHERE o.game_id = ANY($1) GROUP BY d.mode`,
        [games.map((g) => g.gameId)],
      );
      const byMode = Object.fromEntries(rows.map((r) => [r.mode, { deliveries: Number(r.deliveries), attempts: Number(r.attempts), retried: Number(r.retried) }]));
      for (const mode of ['NATS', 'RABBITMQ']) {
        ctx.extraInvariants.push({
          name: `the outage reached ${mode} deliveries (some failed and were published again)`,
          ok: (byMode[mode]?.retried ?? 0) > 0,
          detail: JSON.stringify(byMode[mode] ?? 'no deliveries'),
        });
      }
      const { rows: events } = await ctx.stack.db.query<{ retried: string }>('SELECT count(*) FILTER (WHERE attempts > 1) AS retried FROM order_events');
      return { natsDownMs, rabbitCutMs: RABBIT_CUT_MS, purchasesDuringOutages, deliveriesByMode: byMode, eventsPublishedAfterAFailure: Number(events[0]!.retried) };
    },
    afterSettle: eventsReadBackOnceInOrder,
  },

  'relay-kill': {
    title: 'EVENTS_BROKER=nats, two workers: the one whose relay leads killed (kill -9) mid-batch, the other takes the lead, the victim restarted',
    fast: false,
    stack: { natsServer: true, workers: [[...WORKER_QUEUES], [...WORKER_QUEUES]] },
    env: { EVENTS_BROKER: 'nats' },
    async run(ctx) {
      let killed: Record<string, unknown> = {};
      await ctx.purchasesWithFault(ctx.n(200), 30, ctx.n(40), async () => {
        const found = await leaderMidBatch(ctx, 30_000);
        if (!found) throw new Error('no relay leader with events waiting within 30 s');
        const { leader, unpublished } = found;
        const pid = leader.pid!;
        ctx.log(`kill -9 ${leader.name} (pid ${pid}), whose relay leads, with ${unpublished} events unpublished`);
        await leader.kill('SIGKILL');
        const taken = await leadTakenFrom(ctx, pid, LEAD_TAKEN_WITHIN_MS);
        ctx.extraInvariants.push({
          name: `another relay took the lead within ${LEAD_TAKEN_WITHIN_MS / 1000} s`,
          ok: taken !== undefined,
          detail: taken ? `${taken.by ?? 'a worker'} after ${taken.ms} ms` : 'nobody did',
        });
        await sleep(1_000);
        leader.start();
        await ctx.stack.waitForWorker(leader);
        ctx.log(`${leader.name} back (pid ${leader.pid})`);
        killed = { victim: leader.name, unpublishedAtKill: unpublished, leadTakenAfterMs: taken?.ms };
      });
      return killed;
    },
    afterSettle: eventsReadBackOnceInOrder,
  },
};
