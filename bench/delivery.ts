import os from 'node:os';
import { Client } from '@temporalio/client';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { DELIVERY_MODES, DELIVERY_STREAM, type DeliveryMode } from '../domain/fulfillment/modes';
import { natsBroker } from '../infra/brokers/nats';
import { ledgerViolations } from '../store/journal';
import { C, N, ROUNDS, WARMUP, args, baseEnv, log } from './lib/args';
import { runOn } from './lib/invariants';
import { Stack } from './lib/launcher';
import { describeMachine, summarize } from './lib/measure';
import { drivePurchases, notificationToDelivered, type PurchaseRun } from './lib/purchases';
import { finish, machineLine, ms, target, targetsTable } from './lib/report';
import { round } from './lib/system';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * `npm run bench -- --delivery http,nats,rabbitmq`: the same purchases delivered by each mode in one run,
 * on one stack, in alternating rounds (each mode sees the same machine). A broker game's deliveries are
 * taken by the reference consumer of examples/ (through the reference game server), acked over REST.
 */
export async function deliveryMode() {
  const modes = args.delivery!.split(',').map((m) => m.trim().toUpperCase()) as DeliveryMode[];
  for (const mode of modes) if (!DELIVERY_MODES.includes(mode)) throw new Error(`unknown --delivery ${mode}: ${DELIVERY_MODES.join(', ')}`);
  const machine = describeMachine({ temporalCli: await resolveTemporalCli((m) => log(m)) });
  const stack = await Stack.start({
    name: 'bench',
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    temporalDbFile: args['temporal-db-file'],
    env: { ...baseEnv(), NATS_URL, AMQP_URL },
    log,
  });
  const client = new Client({ connection: stack.connection! });
  const consumers: { stop(): Promise<void> }[] = [];
  try {
    const games = new Map<DeliveryMode, Awaited<ReturnType<typeof stack.client.registerGameWithItem>>>();
    for (const mode of modes) {
      const game = await stack.client.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: `bench-${mode.toLowerCase()}` });
      stack.gameServer.setSecret(game.gameId, game.secret);
      if (mode !== 'HTTP') {
        const put = await stack.client.admin('PUT', `/v1/admin/games/${game.gameId}`, {
          name: `bench ${mode}`,
          secret: game.secret,
          deliveryUrl: stack.gameServer.deliveryUrl(game.gameId),
          delivery: { mode },
        });
        if (put.status !== 200) throw new Error(`PUT game ${mode}: ${put.status} ${JSON.stringify(put.body)}`);
        const broker = mode === 'NATS' ? { mode, natsUrl: NATS_URL } : { mode, amqpUrl: AMQP_URL };
        // The worker creates the stream on its first publish; the consumer waits for it, so it is made here first.
        if (mode === 'NATS') {
          const nats = natsBroker(NATS_URL);
          await nats.ensureStream({ name: DELIVERY_STREAM.name, subjects: [...DELIVERY_STREAM.subjects], maxAgeMs: DELIVERY_STREAM.maxAgeMs });
          await nats.close();
        }
        consumers.push(await stack.gameServer.consumeFrom(broker, stack.apiUrl, game));
      }
      games.set(mode, game);
    }

    for (const mode of modes) {
      log(`warm-up ${mode}: ${WARMUP} purchases`);
      await drivePurchases(stack, client, games.get(mode)!, WARMUP, C);
    }
    const runs = new Map<DeliveryMode, PurchaseRun>(modes.map((m) => [m, { orderIds: [], createMs: [], endToEndMs: [], wallMs: 0 }]));
    log(`measured: ${N} purchases per mode by ${C} concurrent clients, alternating in ${ROUNDS} rounds`);
    for (let r = 0, done = 0; r < ROUNDS; r++) {
      const count = Math.round((N * (r + 1)) / ROUNDS) - done;
      done += count;
      for (const mode of modes) {
        const run = await drivePurchases(stack, client, games.get(mode)!, count, C);
        const total = runs.get(mode)!;
        total.orderIds.push(...run.orderIds);
        total.createMs.push(...run.createMs);
        total.endToEndMs.push(...run.endToEndMs);
        total.wallMs += run.wallMs;
        log(`round ${r + 1} ${mode}: ${round(count / (run.wallMs / 1000))} purchases/s`);
      }
    }

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
      if (mode !== 'HTTP') targets.push(target(`${mode}: notification → granted p99 < 1 s paced at half the maximum`, pacedNotified.p99 < 1000, `${pacedNotified.p99} ms`));
    }
    const violations = [];
    for (const game of games.values()) violations.push(...(await ledgerViolations(runOn(stack.db), { deliveryDeadlineMs: 24 * 3_600_000, gameId: game.gameId })));
    targets.push(target('ledger invariants hold for every purchase', violations.length === 0, violations.length ? JSON.stringify(violations.slice(0, 3)) : 'none violated'));
    const result = {
      kind: 'delivery',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { modes, purchasesPerMode: N, concurrency: C, warmup: WARMUP, rounds: ROUNDS, natsUrl: NATS_URL, consumer: 'examples/ reference consumers, in the bench process' },
      modes: perMode,
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

function deliveryMarkdown(r: any): string {
  const rows = Object.entries(r.modes as Record<string, any>).map(
    ([mode, m]) =>
      `| ${mode} | **${m.perSecond}**${m.ofHttp !== undefined && mode !== 'HTTP' ? ` (${Math.round(m.ofHttp * 100)}% of HTTP)` : ''} | ${ms(m.createOrderMs)} | ${ms(m.notificationToGrantedMs)} | ${m.paced.ratePerSecond}/s: ${ms(m.paced.notificationToGrantedMs)} |`,
  );
  return [
    `### Delivery modes — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    `Run: ${r.settings.purchasesPerMode} purchases per mode by ${r.settings.concurrency} concurrent clients, the modes alternating in ${r.settings.rounds} rounds after ${r.settings.warmup} warm-up each; broker games read by the reference consumers of examples/ (ack over REST).`,
    '',
    '| Mode | Purchases/s | Create order, ms | Notification → granted (saturated), ms | Paced at half: notification → granted, ms |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `Duplicates seen by the game: ${r.duplicatesSeen}; orders granted twice: ${r.ordersGrantedTwice}.`,
    '',
    targetsTable(r.targets),
    '',
  ].join('\n');
}
