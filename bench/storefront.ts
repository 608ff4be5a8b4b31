import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { runPool, type GameCredentials } from '../testkit/api-client';
import { BENCH_RETRY, C, WARMUP, args, baseEnv, log } from './lib/args';
import { Stack } from './lib/launcher';
import { cpuMsOf, describeMachine, summarize } from './lib/measure';
import { finish, machineLine, ms, target, targetsTable } from './lib/report';
import { postgresVersion, round } from './lib/system';

/** The issue's target: a game with 1,000 items, 50 concurrent clients. */
const P99_TARGET_MS = 20;
/** Players the requests are spread over; some of them bought, so their figures are not empty. */
const PLAYERS = 500;

/**
 * An item of the benchmark's catalog: every fourth of limited stock, every fifth with per-user limits,
 * every seventh with a first-purchase bonus, every tenth a non-consumable, every sixth with a
 * channel price, every eighth with a scheduled price: the storefront resolves all of them per request.
 */
function benchItem(gameId: string, i: number) {
  const far = '2099-01-01T00:00:00.000Z';
  return {
    gameId,
    name: `Item ${i}`,
    kind: i % 10 === 0 ? 'NON_CONSUMABLE' : i % 3 === 0 ? 'BUNDLE' : 'CONSUMABLE',
    grants: i % 3 === 0 ? [{ itemId: 'gems', quantity: 10 * i }, { itemId: `skin-${i}`, quantity: 1 }] : [{ itemId: 'gems', quantity: 10 * i }],
    prices: [
      { region: 'CN', currency: 'CNY', amount: 100 + i },
      { region: '*', currency: 'USD', amount: 99 + i },
      ...(i % 6 === 0 ? [{ region: 'CN', currency: 'CNY', amount: 90 + i, channel: 'sandbox' }] : []),
      ...(i % 8 === 0 ? [{ region: 'CN', currency: 'CNY', amount: 80 + i, startsAt: '2026-01-01T00:00:00.000Z', endsAt: far }] : []),
    ],
    ...(i % 4 === 0 && { stock: 1_000 }),
    ...(i % 5 === 0 && i % 10 !== 0 && { limits: { perUserDaily: 2, perUserLifetime: 10 } }),
    ...(i % 7 === 0 && { firstPurchaseBonus: { grants: [{ itemId: 'gems', quantity: 60 }], group: `g${i % 3}` } }),
    ...(i % 9 === 0 && { saleWindow: { endsAt: far } }),
    tags: [`t${i % 5}`],
  };
}

/** `npm run bench -- --mode storefront`: GET /v1/storefront of a game with many items, by concurrent clients. */
export async function storefrontMode() {
  const itemCount = Number(args['storefront-items']);
  const requests = Number(args['storefront-requests']);
  const cli = await resolveTemporalCli((m) => log(m));
  const machine = describeMachine({ temporalCli: cli });
  const stack = await Stack.start({
    name: 'bench-storefront',
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    temporalDbFile: args['temporal-db-file'],
    // The benchmark's clients all come from one address and one game.
    env: { ...baseEnv(), RATE_LIMIT_IP_PER_SECOND: '1000000', RATE_LIMIT_GAME_PER_SECOND: '1000000' },
    log,
  });
  try {
    machine.postgres = await postgresVersion(stack);
    const game: GameCredentials = await stack.client.registerGame((id) => stack.gameServer.deliveryUrl(id), { prefix: 'bench-shop' });
    stack.gameServer.setSecret(game.gameId, game.secret);

    log(`catalog: ${itemCount} items`);
    const skus = Array.from({ length: itemCount }, (_, i) => `${game.gameId}-${String(i + 1).padStart(5, '0')}`);
    await runPool(itemCount, 16, async (i) => {
      await stack.client.adminOk('PUT', `/v1/admin/items/${skus[i]}`, benchItem(game.gameId, i + 1));
    });
    // Some players bought: their counters (limits, ownership, bonus) are what the storefront reads.
    const buyers = Math.min(100, PLAYERS);
    await runPool(buyers, 10, async (p) => {
      const sku = skus[(p * 5 + 4) % itemCount]!; // items 5, 10, 15, ...: limits or a non-consumable
      await stack.client.createOrderWithRetry(game, { userId: `player-${p}`, sku, region: 'CN' }, randomUUID(), BENCH_RETRY);
    });

    let networkErrors = 0;
    const call = async (i: number) => {
      const player = `player-${i % PLAYERS}`;
      const query = i % 4 === 0 ? `userId=${player}&region=CN&channel=sandbox` : i % 4 === 1 ? `userId=${player}&region=US` : `userId=${player}&region=CN&platform=android`;
      const t0 = performance.now();
      let answer;
      // A connection reset is retried (signed anew) and counted; its time stays in the latency.
      for (let attempt = 1; !answer; attempt++) {
        answer = await stack.client.signed(game, 'GET', `/v1/storefront?${query}`).catch((err: unknown) => {
          networkErrors++;
          if (attempt >= 3) throw err;
          return undefined;
        });
      }
      const elapsed = performance.now() - t0;
      if (answer.status !== 200) throw new Error(`storefront: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`);
      return { elapsed, items: (answer.body.items as unknown[]).length };
    };
    const first = await call(2);
    log(`storefront lists ${first.items} items; warm-up ${WARMUP} requests`);
    await runPool(WARMUP, C, async (i) => void (await call(i)));

    log(`measuring ${requests} requests, ${C} clients`);
    const latencies: number[] = [];
    let listed = 0;
    const apiCpuBefore = cpuMsOf(stack.api.pid!);
    const started = performance.now();
    await runPool(requests, C, async (i) => {
      const { elapsed, items } = await call(i);
      latencies.push(elapsed);
      listed = Math.max(listed, items);
    });
    const seconds = (performance.now() - started) / 1000;
    const apiCpuMs = cpuMsOf(stack.api.pid!) - apiCpuBefore;

    // One client alone: the cost of a request without queueing behind the others, and its API CPU.
    const alone: number[] = [];
    const aloneRequests = Math.min(200, requests);
    const aloneCpuBefore = cpuMsOf(stack.api.pid!);
    for (let i = 0; i < aloneRequests; i++) alone.push((await call(i)).elapsed);
    const aloneCpuMs = cpuMsOf(stack.api.pid!) - aloneCpuBefore;

    const latency = summarize(latencies);
    const result = {
      kind: 'storefront',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { items: itemCount, itemsListed: listed, requests, concurrency: C, warmup: WARMUP, players: PLAYERS, catalogueCacheMs: 'default (5000)' },
      requestsPerSecond: round(requests / seconds, 1),
      latencyMs: latency,
      oneClientLatencyMs: summarize(alone),
      apiCpuMsPerRequest: round(apiCpuMs / requests, 2),
      oneClientApiCpuMsPerRequest: round(aloneCpuMs / aloneRequests, 2),
      networkErrorsRetried: networkErrors,
      targets: [target(`p99 under ${P99_TARGET_MS} ms with ${C} clients (${itemCount} items)`, latency.p99 < P99_TARGET_MS, `p99 ${latency.p99} ms`)],
    };
    finish('storefront', result, storefrontMarkdown(result));
  } finally {
    await stack.stop();
  }
}

function storefrontMarkdown(r: any): string {
  return `${[
    `### Storefront, ${r.settings.items} items — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    '',
    '| Measure | Value |',
    '| --- | --- |',
    `| \`GET /v1/storefront\` (${r.settings.itemsListed} items listed), ${r.settings.concurrency} clients, ${r.settings.requests} requests | ${r.requestsPerSecond} requests/s; ${ms(r.latencyMs)} ms |`,
    `| One client alone (${r.oneClientLatencyMs.count} requests) | ${ms(r.oneClientLatencyMs)} ms |`,
    `| API CPU per request | ${r.apiCpuMsPerRequest} ms (one client alone: ${r.oneClientApiCpuMsPerRequest} ms) |`,
    `| Network errors (retried, signed anew) | ${r.networkErrorsRetried} |`,
    '',
    targetsTable(r.targets),
  ].join('\n')}\n`;
}
