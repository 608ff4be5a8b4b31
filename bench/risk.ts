import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRiskActivities } from '../activities/risk';
import type { RiskRule } from '../domain/risk/rules';
import { loadConfig } from '../infra/config';
import { openDatabase, type Database } from '../infra/db';
import { openRedis } from '../infra/redis';
import { putRiskRule, type RiskCheck } from '../store/risk';
import { pgRiskCounters, type RiskCounters } from '../store/risk-counters';
import { redisRiskCounters } from '../store/risk-redis';
import { sql } from '../store/sql';
import { C, N, ROUNDS, WARMUP, args, log } from './lib/args';
import { freshDatabase } from './lib/launcher';
import { describeMachine, summarize, type LatencySummary } from './lib/measure';
import { finish, machineLine, ms, target, targetsTable } from './lib/report';
import { round } from './lib/system';

/**
 * `npm run bench -- --mode risk`: the risk step (`checkRisk`, the whole activity: the rules, the one
 * read of the books, the counters, the decision kept) with ten enabled rules of every kind, on
 * PostgreSQL and on Redis in one run, three ways: one order at a time (the step's own time);
 * `--concurrency` (50) orders always in flight (closed loop: the step's capacity, and by Little's law
 * its latency there is concurrency ÷ capacity); and orders arriving at `--paced-share` (0.5) of the
 * slower store's capacity (open loop, timed from each order's due time). `--purchases` checks per store
 * and way, in `--rounds` alternating rounds (both stores see the same machine), after `--warmup`. In process,
 * against real PostgreSQL (`--database-url`, dropped and migrated) and Redis (`--redis`, keys under a
 * prefix of this run, deleted at the end). Players: one per 5 checks, each with its own device (one in
 * twenty shared), 200 /24 networks, one in ten an 8-15 year old in CN (a monthly hold); each has five
 * paid orders of two days ago (AMOUNT_ANOMALY reads them).
 */
const STORES = ['PostgreSQL', 'Redis'] as const;
type StoreName = (typeof STORES)[number];
type Way = 'one at a time' | `${number} in flight` | 'paced';

/** Ten rules, every kind, thresholds a studio might set: most orders pass every one of them (all are counted). */
const rules = (gameId: string): RiskRule[] =>
  (
    [
      { kind: 'VELOCITY', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 10 } },
      { kind: 'VELOCITY', params: { subject: 'USER', metric: 'AMOUNT', windowSeconds: 86_400, max: 2_000_000, currency: 'CNY' } },
      { kind: 'VELOCITY', params: { subject: 'SUBNET', metric: 'ORDERS', windowSeconds: 600, max: 500 } },
      { kind: 'AMOUNT_ANOMALY', params: { multipleOfAverage: 10, minPaidOrders: 3, firstPurchaseMax: { currency: 'CNY', value: 100_000 } } },
      { kind: 'NEW_DEVICE_HIGH_VALUE', params: { amount: { currency: 'CNY', value: 50_000 }, deviceAgeSeconds: 86_400 } },
      { kind: 'SHARED_DEVICE', params: { windowSeconds: 86_400, maxUsers: 3 } },
      { kind: 'SHARED_IP', params: { windowSeconds: 3_600, maxUsers: 50 } },
      { kind: 'PAYMENT_FAILURES', params: { windowSeconds: 3_600, max: 5 } },
      { kind: 'AML_SINGLE', params: { amount: { currency: 'CNY', value: 500_000 } } },
      { kind: 'AML_DAILY', params: { amount: { currency: 'CNY', value: 2_000_000 } } },
    ] as const
  ).map((r, i) => ({ ...r, ruleId: `${gameId}-${i + 1}`, action: 'REVIEW', enabled: true, gameId }) as RiskRule);

const PRICES = [600, 3_000, 6_800, 12_800, 32_800, 64_800];

/** Order `i` of a game: its player, device, network and amount (deterministic, spread by primes). */
function orderOf(gameId: string, i: number, players: number): RiskCheck & { region: string; ageBand?: '8_TO_15' } {
  const player = (i * 7_919) % players;
  const device = player % 20 === 0 ? `shared-${player % 7}` : `device-${player}`;
  return {
    orderId: randomUUID(),
    gameId,
    userId: `player-${player}`,
    amount: { currency: 'CNY', value: PRICES[(i * 31) % PRICES.length]! },
    clientIp: `10.${(player % 200) >> 4}.${player % 200}.${1 + ((i * 13) % 250)}`,
    deviceId: device,
    region: 'CN',
    ...(player % 10 === 3 && { ageBand: '8_TO_15' as const }),
  };
}

export async function riskMode() {
  const databaseUrl = args['database-url']!;
  const redisUrl = args.redis ?? 'redis://127.0.0.1:6379';
  const machine = describeMachine();
  const prefix = `bench:risk:${randomUUID()}:`;
  const players = Math.max(50, Math.ceil(N / 5));
  log(`database ${new URL(databaseUrl).pathname.slice(1)}: fresh and migrated; Redis ${redisUrl} under ${prefix}`);
  await freshDatabase(databaseUrl);
  const config = loadConfig({ ...process.env, NODE_ENV: 'development', DATABASE_URL: databaseUrl, RISK_MAX_ORDERS_PER_USER: '1000000' });
  const database = openDatabase(databaseUrl, config.DATABASE_POOL_SIZE);
  const redis = openRedis(redisUrl);
  try {
    const [{ server_version: postgres }] = await database.sql<{ server_version: string }>(sql`SHOW server_version`);
    machine.postgres = postgres;
    machine.temporal = 'no Temporal (the step in process)';
    const counters: Record<StoreName, RiskCounters> = { PostgreSQL: pgRiskCounters(database), Redis: redisRiskCounters(redis, database, prefix) };
    const games: Record<StoreName, string> = { PostgreSQL: 'bench-risk-pg', Redis: 'bench-risk-redis' };
    for (const store of STORES) await prepareGame(database, games[store], players);
    const steps = Object.fromEntries(STORES.map((s) => [s, createRiskActivities({ database, config, riskCounters: counters[s] } as never).checkRisk]));
    const decisions: Record<StoreName, Record<string, number>> = { PostgreSQL: {}, Redis: {} };
    const next: Record<StoreName, number> = { PostgreSQL: 0, Redis: 0 };
    const check = async (store: StoreName, measured: boolean) => {
      const risk = await steps[store]!(orderOf(games[store], next[store]++, players));
      if (!measured) return;
      const outcome = risk.reasons.includes('MINOR_SPENDING_LIMIT') ? 'DENY (minor cap)' : risk.decision;
      decisions[store][outcome] = (decisions[store][outcome] ?? 0) + 1;
    };
    /** `count` checks, `inFlight` at a time; each one's latency into `times` (when given). */
    const closedLoop = async (store: StoreName, count: number, inFlight: number, times?: number[]) => {
      let left = count;
      await Promise.all(
        Array.from({ length: Math.min(inFlight, count) }, async () => {
          while (left-- > 0) {
            const t = performance.now();
            await check(store, times !== undefined);
            times?.push(performance.now() - t);
          }
        }),
      );
    };
    /** `count` checks started `perSecond`, each timed from when it was due (a late start counts); the most in flight at once. */
    const openLoop = async (store: StoreName, count: number, perSecond: number, times: number[]) => {
      const start = performance.now();
      let inFlight = 0;
      let mostInFlight = 0;
      const started: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        const due = start + (i * 1000) / perSecond;
        if (due > performance.now()) await sleep(due - performance.now());
        mostInFlight = Math.max(mostInFlight, ++inFlight);
        started.push(check(store, true).then(() => void (times.push(performance.now() - due), inFlight--)));
      }
      await Promise.all(started);
      return mostInFlight;
    };
    for (const store of STORES) {
      log(`${store}: warming up with ${WARMUP} checks`);
      await closedLoop(store, WARMUP, C);
    }
    const ways = ['one at a time', `${C} in flight`, 'paced'] as const;
    const times = Object.fromEntries(STORES.map((s) => [s, Object.fromEntries(ways.map((w) => [w, [] as number[]]))])) as Record<StoreName, Record<Way, number[]>>;
    const busyMs: Record<StoreName, number> = { PostgreSQL: 0, Redis: 0 };
    const perRound = Math.ceil(N / ROUNDS);
    const share = (list: number[]) => Math.min(perRound, N - list.length);
    for (let r = 0; r < ROUNDS; r++) {
      for (const store of r % 2 === 0 ? STORES : [...STORES].reverse()) {
        await closedLoop(store, share(times[store]['one at a time']), 1, times[store]['one at a time']);
        const t = performance.now();
        await closedLoop(store, share(times[store][ways[1]]), C, times[store][ways[1]]);
        busyMs[store] += performance.now() - t;
        log(`round ${r + 1}/${ROUNDS} ${store}: ${times[store][ways[1]].length} checks measured one at a time and ${C} in flight`);
      }
    }
    const capacity = Object.fromEntries(STORES.map((s) => [s, Math.round((times[s][ways[1]].length * 1000) / busyMs[s])])) as Record<StoreName, number>;
    const pacedPerSecond = Math.max(1, Math.round(Number(args['paced-share']) * Math.min(...Object.values(capacity))));
    const mostInFlight: Record<StoreName, number> = { PostgreSQL: 0, Redis: 0 };
    for (let r = 0; r < ROUNDS; r++) {
      for (const store of r % 2 === 0 ? STORES : [...STORES].reverse()) {
        mostInFlight[store] = Math.max(mostInFlight[store], await openLoop(store, share(times[store].paced), pacedPerSecond, times[store].paced));
        log(`round ${r + 1}/${ROUNDS} ${store}: ${times[store].paced.length} checks measured paced at ${pacedPerSecond}/s`);
      }
    }
    const latencyMs = Object.fromEntries(
      STORES.map((s) => [s, Object.fromEntries(ways.map((w) => [w, summarize(times[s][w])]))]),
    ) as Record<StoreName, Record<Way, LatencySummary>>;
    const result = {
      kind: 'risk',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { checksPerStoreAndWay: N, concurrency: C, pacedPerSecond, warmup: WARMUP, rounds: ROUNDS, rules: rules('g').length, players },
      capacityPerSecond: capacity,
      mostInFlightPaced: mostInFlight,
      latencyMs,
      decisions,
      targets: STORES.flatMap((s) => [
        target(`risk step p99 under 10 ms on ${s}, ${C} in flight`, latencyMs[s][ways[1]].p99 < 10, `p99 ${latencyMs[s][ways[1]].p99} ms`),
        target(`risk step p99 under 10 ms on ${s}, paced at ${pacedPerSecond}/s`, latencyMs[s].paced.p99 < 10, `p99 ${latencyMs[s].paced.p99} ms`),
      ]),
    };
    finish('risk', result, markdown(result));
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await database.close();
  }
}

/** The game, its ten rules, and five paid orders of each player two days ago (outside every window but AMOUNT_ANOMALY's). */
async function prepareGame(database: Database, gameId: string, players: number) {
  await database.sql(sql`INSERT INTO games (id, name, secret, delivery_url, created_at, updated_at)
    VALUES (${gameId}::text, ${gameId}::text, repeat('s', 32), 'http://127.0.0.1:9/deliveries', now(), now())`);
  for (const rule of rules(gameId)) await putRiskRule(database, rule, 'bench');
  await database.sql(sql`INSERT INTO orders (id, game_id, user_id, sku, quantity, grants, region, currency, amount, channel, status,
      idempotency_key, request_hash, paid_amount, paid_currency, expires_at, paid_at, delivered_at, created_at, updated_at)
    SELECT gen_random_uuid(), ${gameId}::text, 'player-' || p, 'gems', 1, '[]'::jsonb, 'CN', 'CNY', 6800, 'sandbox', 'DELIVERED',
      ${gameId}::text || '-' || p || '-' || k, 'bench', 6800, 'CNY', t + interval '15 minutes', t + interval '30 seconds', t + interval '31 seconds', t, t
    FROM generate_series(0, ${players - 1}::int) p, generate_series(1, 5) k, (SELECT (now() AT TIME ZONE 'UTC') - interval '2 days' AS t) x`);
  await database.sql(sql`ANALYZE orders`);
}

function markdown(r: any): string {
  return `${[
    `### The risk step, PostgreSQL and Redis — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    '',
    `${r.settings.checksPerStoreAndWay} checks per store and way (after ${r.settings.warmup} to warm up), in ${r.settings.rounds} alternating rounds: one at a time, ${r.settings.concurrency} always in flight, and paced at ${r.settings.pacedPerSecond}/s (half the slower store's capacity; timed from each order's due time); ${r.settings.rules} enabled rules of every kind; ${r.settings.players} players. The step is \`checkRisk\`, the whole activity, timed in process.`,
    '',
    `| Store | One at a time, ms | ${r.settings.concurrency} in flight, ms | Capacity | Paced at ${r.settings.pacedPerSecond}/s, ms (most in flight) | Decisions |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...STORES.map(
      (s) =>
        `| ${s} | ${ms(r.latencyMs[s]['one at a time'])} | ${ms(r.latencyMs[s][`${r.settings.concurrency} in flight`])} | ${r.capacityPerSecond[s]}/s | ${ms(r.latencyMs[s].paced)} (${r.mostInFlightPaced[s]}) | ${Object.entries(r.decisions[s]).map(([d, n]) => `${d} ${n}`).join(', ')} |`,
    ),
    '',
    targetsTable(r.targets),
  ].join('\n')}\n`;
}
