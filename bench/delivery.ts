import os from 'node:os';
import { Client } from '@temporalio/client';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { DELIVERY_MODES, DELIVERY_STREAM, type DeliveryMode } from '../domain/fulfillment/modes';
import { natsBroker } from '../infra/brokers/nats';
import { ledgerViolations } from '../store/journal';
import type { GameWithItem } from '../testkit/api-client';
import { C, N, ROUNDS, WARMUP, args, baseEnv, log } from './lib/args';
import { deleteGameQueues } from './lib/drills-brokers';
import { outboxDrained, runOn } from './lib/invariants';
import { Stack } from './lib/launcher';
import { describeMachine, summarize, type LatencySummary } from './lib/measure';
import { drivePurchases, notificationToDelivered, type PurchaseRun } from './lib/purchases';
import { finish, machineLine, ms, target, targetsTable } from './lib/report';
import { postgresVersion, round } from './lib/system';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const EVENTS_SETTINGS = ['none', 'nats', 'rabbitmq'] as const;
type EventsSetting = (typeof EVENTS_SETTINGS)[number];
/** How long the relay may take to publish what a measured run left, before the next setting starts. */
const OUTBOX_DRAIN_MS = 120_000;

/**
 * `npm run bench -- --delivery http,nats,rabbitmq [--events none,nats]`: the same purchases delivered by
 * each mode in one run, on one stack, in rounds whose order of modes rotates (each mode meets the
 * machine early and late alike); then each mode paced at half its measured maximum; then the first
 * mode's purchases with each EVENTS_BROKER setting (API and worker restarted with it), in rounds
 * ordered A B B A. A broker game's deliveries are taken by the reference consumer of examples/
 * (through the reference game server), acked over REST.
 */
export async function deliveryMode() {
  const modes = (args.delivery ?? 'http,nats,rabbitmq').split(',').map((m) => m.trim().toUpperCase()) as DeliveryMode[];
  for (const mode of modes) if (!DELIVERY_MODES.includes(mode)) throw new Error(`unknown --delivery ${mode}: ${DELIVERY_MODES.join(', ')}`);
  const events = (args.events ?? 'none,nats').split(',').filter(Boolean).map((e) => e.trim().toLowerCase()) as EventsSetting[];
  for (const e of events) if (!EVENTS_SETTINGS.includes(e)) throw new Error(`unknown --events ${e}: ${EVENTS_SETTINGS.join(', ')}`);
  const machine = describeMachine({ temporalCli: await resolveTemporalCli((m) => log(m)) });
  const stack = await Stack.start({
    name: 'bench',
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    temporalDbFile: args['temporal-db-file'],
    env: { ...baseEnv(), NATS_URL, AMQP_URL, EVENTS_BROKER: events[0] ?? 'none' },
    log,
  });
  const client = new Client({ connection: stack.connection! });
  const consumers: { stop(): Promise<void> }[] = [];
  try {
    machine.postgres = await postgresVersion(stack);
    const games = new Map<DeliveryMode, GameWithItem>();
    for (const mode of modes) games.set(mode, await registerModeGame(stack, mode, consumers));
    for (const mode of modes) {
      log(`warm-up ${mode}: ${WARMUP} purchases`);
      await drivePurchases(stack, client, games.get(mode)!, WARMUP, C);
    }
    const runs = await saturatedRounds(stack, client, modes, games);
    const { perMode, targets } = await pacedAndSummed(stack, client, modes, games, runs);
    const eventsComparison = events.length > 1 ? await eventsRounds(stack, client, games.get(modes[0]!)!, events) : undefined;
    if (eventsComparison) targets.push(...eventsComparison.targets);
    const violations = [];
    for (const game of games.values()) violations.push(...(await ledgerViolations(runOn(stack.db), { deliveryDeadlineMs: 24 * 3_600_000, gameId: game.gameId })));
    targets.push(target('ledger invariants hold for every purchase', violations.length === 0, violations.length ? JSON.stringify(violations.slice(0, 3)) : 'none violated'));
    const result = {
      kind: 'delivery',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { modes, purchasesPerMode: N, concurrency: C, warmup: WARMUP, rounds: ROUNDS, natsUrl: NATS_URL, consumer: 'examples/ reference consumers, in the bench process', events },
      modes: perMode,
      events: eventsComparison?.perSetting,
      duplicatesSeen: stack.gameServer.duplicatesSeen(),
      ordersGrantedTwice: stack.gameServer.ordersGrantedTwice.size,
      targets,
    };
    finish('delivery', result, deliveryMarkdown(result));
  } finally {
    await Promise.all(consumers.map((c) => c.stop().catch(() => undefined)));
    await stack.stop();
  }
}

/** The mode's game; a broker game's deliveries read by the reference consumer (whose stop is added to `consumers`). */
async function registerModeGame(stack: Stack, mode: DeliveryMode, consumers: { stop(): Promise<void> }[]): Promise<GameWithItem> {
  const game = await stack.client.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: `bench-${mode.toLowerCase()}` });
  stack.gameServer.setSecret(game.gameId, game.secret);
  if (mode === 'HTTP') return game;
  const put = await stack.client.admin('PUT', `/v1/admin/games/${game.gameId}`, {
    name: `bench ${mode}`,
    secret: game.secret,
    deliveryUrl: stack.gameServer.deliveryUrl(game.gameId),
    delivery: { mode },
  });
  if (put.status !== 200) throw new Error(`PUT game ${mode}: ${put.status} ${JSON.stringify(put.body)}`);
  // The worker creates the stream on its first publish; the consumer waits for it, so it is made here first.
  if (mode === 'NATS') {
    const nats = natsBroker(NATS_URL);
    await nats.ensureStream({ name: DELIVERY_STREAM.name, subjects: [...DELIVERY_STREAM.subjects], maxAgeMs: DELIVERY_STREAM.maxAgeMs });
    await nats.close();
  }
  const consumer = await stack.gameServer.consumeFrom(mode === 'NATS' ? { mode, natsUrl: NATS_URL } : { mode, amqpUrl: AMQP_URL }, stack.apiUrl, game);
  consumers.push(
    mode === 'RABBITMQ'
      ? // The benchmark's game queues on the machine's broker go with the run.
        { stop: () => consumer.stop().then(() => deleteGameQueues(game.gameId, AMQP_URL)) }
      : consumer,
  );
  return game;
}

const emptyRun = (): PurchaseRun => ({ orderIds: [], createMs: [], endToEndMs: [], wallMs: 0 });

function addRun(total: PurchaseRun, run: PurchaseRun) {
  total.orderIds.push(...run.orderIds);
  total.createMs.push(...run.createMs);
  total.endToEndMs.push(...run.endToEndMs);
  total.wallMs += run.wallMs;
}

/** `items` rotated left by `by`: round r starts with the r-th. */
const rotated = <T>(items: readonly T[], by: number): T[] => items.map((_, i) => items[(i + by) % items.length]!);

/** N purchases per mode at saturation, in ROUNDS rounds; each round starts with the next mode. */
async function saturatedRounds(stack: Stack, client: Client, modes: DeliveryMode[], games: Map<DeliveryMode, GameWithItem>) {
  const runs = new Map<DeliveryMode, PurchaseRun>(modes.map((m) => [m, emptyRun()]));
  log(`measured: ${N} purchases per mode by ${C} concurrent clients, in ${ROUNDS} rounds, the order of the modes rotating`);
  for (let r = 0, done = 0; r < ROUNDS; r++) {
    const count = Math.round((N * (r + 1)) / ROUNDS) - done;
    done += count;
    for (const mode of rotated(modes, r)) {
      const run = await drivePurchases(stack, client, games.get(mode)!, count, C);
      addRun(runs.get(mode)!, run);
      log(`round ${r + 1} ${mode}: ${round(count / (run.wallMs / 1000))} purchases/s`);
    }
  }
  return runs;
}

/** Per mode: its rate, its share of HTTP's, and notification → granted saturated and paced at half its maximum. */
async function pacedAndSummed(stack: Stack, client: Client, modes: DeliveryMode[], games: Map<DeliveryMode, GameWithItem>, runs: Map<DeliveryMode, PurchaseRun>) {
  const perMode: Record<string, unknown> = {};
  const targets = [];
  const httpRate = runs.has('HTTP') ? N / (runs.get('HTTP')!.wallMs / 1000) : undefined;
  for (const mode of modes) {
    const run = runs.get(mode)!;
    const rate = N / (run.wallMs / 1000);
    const pacedRate = round(rate * Number(args['paced-share']), 2);
    const pacedCount = Math.max(C, Math.round(pacedRate * Number(args['paced-seconds'])));
    log(`paced ${mode}: ${pacedCount} purchases at ${pacedRate}/s`);
    const paced = await drivePurchases(stack, client, games.get(mode)!, pacedCount, C, pacedRate);
    const pacedNotified = summarize(await notificationToDelivered(stack, paced.orderIds));
    perMode[mode] = {
      perSecond: round(rate, 1),
      ofHttp: httpRate ? round(rate / httpRate, 3) : undefined,
      createOrderMs: summarize(run.createMs),
      notificationToGrantedMs: summarize(await notificationToDelivered(stack, run.orderIds)),
      endToEndMs: summarize(run.endToEndMs),
      paced: { ratePerSecond: pacedRate, purchases: pacedCount, notificationToGrantedMs: pacedNotified },
    };
    if (mode !== 'HTTP' && httpRate) targets.push(target(`${mode}: purchases/s ≥ 85% of HTTP's`, rate >= 0.85 * httpRate, `${round((rate / httpRate) * 100)}%`));
    targets.push(target(`${mode}: notification → granted p99 < 1 s paced at half the maximum`, pacedNotified.p99 < 1000, `${pacedNotified.p99} ms at ${pacedRate}/s`));
  }
  return { perMode, targets };
}

/**
 * The game's purchases with each EVENTS_BROKER setting (the API and the worker restarted with it), N per
 * setting in ROUNDS rounds ordered A B, B A, A B…, so that neither setting always runs first. The outbox
 * lag of an event is its publication's time minus its change's (both by the database's clock).
 */
async function eventsRounds(stack: Stack, client: Client, game: GameWithItem, settings: EventsSetting[]) {
  const runs = new Map<EventsSetting, PurchaseRun>(settings.map((s) => [s, emptyRun()]));
  let current = stack.api.env.EVENTS_BROKER as EventsSetting;
  log(`events: ${N} purchases per EVENTS_BROKER setting (${settings.join(', ')}) by ${C} clients, in ${ROUNDS} rounds`);
  for (let r = 0, done = 0; r < ROUNDS; r++) {
    const count = Math.round((N * (r + 1)) / ROUNDS) - done;
    done += count;
    for (const setting of r % 2 ? [...settings].reverse() : settings) {
      if (setting !== current) {
        current = await switchEvents(stack, current, setting);
        // Fresh processes are slower at first: warmed up unmeasured, like every mode at the start.
        await drivePurchases(stack, client, game, WARMUP, C);
      }
      const run = await drivePurchases(stack, client, game, count, C);
      addRun(runs.get(setting)!, run);
      log(`events round ${r + 1} EVENTS_BROKER=${setting}: ${round(count / (run.wallMs / 1000))} purchases/s`);
    }
  }
  await outboxPublished(stack);
  const perSetting: Record<string, { perSecond: number; ofNone?: number; outboxLagMs?: LatencySummary; events: number }> = {};
  const noneRate = runs.has('none') ? N / (runs.get('none')!.wallMs / 1000) : undefined;
  const targets = [];
  for (const setting of settings) {
    const run = runs.get(setting)!;
    const rate = N / (run.wallMs / 1000);
    const lags = setting === 'none' ? [] : await outboxLagsMs(stack, run.orderIds);
    perSetting[setting] = { perSecond: round(rate, 1), ofNone: noneRate ? round(rate / noneRate, 3) : undefined, outboxLagMs: lags.length ? summarize(lags) : undefined, events: lags.length };
    if (setting === 'none') continue;
    if (noneRate) targets.push(target(`EVENTS_BROKER=${setting}: purchases/s ≥ 90% of none`, rate >= 0.9 * noneRate, `${round((rate / noneRate) * 100)}%`));
    const p99 = summarize(lags).p99;
    targets.push(target(`EVENTS_BROKER=${setting}: outbox lag p99 < 1 s`, p99 < 1000, `${p99} ms over ${lags.length} events`));
  }
  return { perSetting, targets };
}

/** Restarts the API and the worker with another EVENTS_BROKER, once the relay published what was left. */
async function switchEvents(stack: Stack, from: EventsSetting, to: EventsSetting): Promise<EventsSetting> {
  if (from !== 'none') await outboxPublished(stack);
  log(`EVENTS_BROKER ${from} → ${to}: restarting the API and the worker`);
  for (const p of stack.processes()) p.env = { ...p.env, EVENTS_BROKER: to };
  await Promise.all([stack.restartApi('SIGTERM'), stack.restartWorker('SIGTERM')]);
  return to;
}

async function outboxPublished(stack: Stack) {
  if (!(await outboxDrained(stack.db, OUTBOX_DRAIN_MS))) throw new Error(`the outbox still had unpublished events after ${OUTBOX_DRAIN_MS / 1000} s`);
}

/** Change committed → event published, per event of these orders. */
async function outboxLagsMs(stack: Stack, orderIds: string[]): Promise<number[]> {
  const { rows } = await stack.db.query<{ lag_ms: number }>(
    `SELECT extract(epoch FROM published_at - at)::float8 * 1000 AS lag_ms FROM order_events
      WHERE order_id = ANY($1::uuid[]) AND published_at IS NOT NULL`,
    [orderIds],
  );
  return rows.map((r) => Number(r.lag_ms));
}

function deliveryMarkdown(r: any): string {
  const rows = Object.entries(r.modes as Record<string, any>).map(
    ([mode, m]) =>
      `| ${mode} | **${m.perSecond}**${m.ofHttp !== undefined && mode !== 'HTTP' ? ` (${Math.round(m.ofHttp * 100)}% of HTTP)` : ''} | ${ms(m.createOrderMs)} | ${ms(m.notificationToGrantedMs)} | ${m.paced.ratePerSecond}/s: ${ms(m.paced.notificationToGrantedMs)} |`,
  );
  const events = Object.entries((r.events ?? {}) as Record<string, any>).map(
    ([setting, e]) => `| ${setting} | **${e.perSecond}**${e.ofNone !== undefined && setting !== 'none' ? ` (${Math.round(e.ofNone * 100)}% of none)` : ''} | ${e.outboxLagMs ? ms(e.outboxLagMs) : '—'} |`,
  );
  return [
    `### Delivery modes — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    `Run: ${r.settings.purchasesPerMode} purchases per mode by ${r.settings.concurrency} concurrent clients in ${r.settings.rounds} rounds (each round starting with the next mode) after ${r.settings.warmup} warm-up each; broker games read by the reference consumers of examples/ (ack over REST).`,
    '',
    '| Mode | Purchases/s | Create order, ms | Notification → granted (saturated), ms | Paced at half: notification → granted, ms |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    ...(events.length
      ? ['', `Order events (${r.settings.modes[0]} game, the same count per setting, rounds A B / B A):`, '', '| EVENTS_BROKER | Purchases/s | Outbox lag (change → published), ms |', '| --- | --- | --- |', ...events]
      : []),
    '',
    `Duplicates seen by the game: ${r.duplicatesSeen}; orders granted twice: ${r.ordersGrantedTwice}.`,
    '',
    targetsTable(r.targets),
    '',
  ].join('\n');
}
