import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
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
 * read of the books, the counters, the decision kept) under `--concurrency` (50) concurrent orders
 * with ten enabled rules of every kind, on PostgreSQL and on Redis in one run: `--purchases` checks per
 * store in `--rounds` alternating rounds (both see the same machine), after `--warmup` each. In process,
 * against real PostgreSQL (`--database-url`, dropped and migrated) and Redis (`--redis`, keys under a
 * prefix of this run, deleted at the end). Players: one per 5 checks, each with its own device (one in
 * twenty shared), 200 /24 networks, one in ten an 8-15 year old in CN (a monthly hold); each has five
 * paid orders of two days ago (AMOUNT_ANOMALY reads them).
 */
const STORES = ['PostgreSQL', 'Redis'] as const;
type StoreName = (typeof STORES)[number];

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
    const times: Record<StoreName, number[]> = { PostgreSQL: [], Redis: [] };
    const decisions: Record<StoreName, Record<string, number>> = { PostgreSQL: {}, Redis: {} };
    const next: Record<StoreName, number> = { PostgreSQL: 0, Redis: 0 };
    const run = async (store: StoreName, count: number, measured: boolean) => {
      let left = count;
      await Promise.all(
        Array.from({ length: Math.min(C, count) }, async () => {
          while (left-- > 0) {
            const order = orderOf(games[store], next[store]++, players);
            const t = performance.now();
            const risk = await steps[store]!(order);
            if (!measured) continue;
            times[store].push(performance.now() - t);
            const outcome = risk.reasons.includes('MINOR_SPENDING_LIMIT') ? 'DENY (minor cap)' : risk.decision;
            decisions[store][outcome] = (decisions[store][outcome] ?? 0) + 1;
          }
        }),
      );
    };
    for (const store of STORES) {
      log(`${store}: warming up with ${WARMUP} checks`);
      await run(store, WARMUP, false);
    }
    const perRound = Math.ceil(N / ROUNDS);
    for (let r = 0; r < ROUNDS; r++) {
      for (const store of r % 2 === 0 ? STORES : [...STORES].reverse()) {
        await run(store, Math.min(perRound, N - times[store].length), true);
        log(`round ${r + 1}/${ROUNDS} ${store}: ${times[store].length} checks measured`);
      }
    }
    const latencyMs = Object.fromEntries(STORES.map((s) => [s, summarize(times[s])])) as Record<StoreName, LatencySummary>;
    const result = {
      kind: 'risk',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { checksPerStore: N, concurrency: C, warmup: WARMUP, rounds: ROUNDS, rules: rules('g').length, players },
      latencyMs,
      decisions,
      targets: STORES.map((s) => target(`risk step p99 under 10 ms on ${s}`, latencyMs[s].p99 < 10, `p99 ${latencyMs[s].p99} ms`)),
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
    `${r.settings.checksPerStore} checks per store (after ${r.settings.warmup} to warm up), ${r.settings.concurrency} at a time, in ${r.settings.rounds} alternating rounds; ${r.settings.rules} enabled rules of every kind; ${r.settings.players} players. The step is \`checkRisk\`, the whole activity, timed in process.`,
    '',
    '| Store | Latency, ms | Decisions |',
    '| --- | --- | --- |',
    ...STORES.map((s) => `| ${s} | ${ms(r.latencyMs[s])} | ${Object.entries(r.decisions[s]).map(([d, n]) => `${d} ${n}`).join(', ')} |`),
    '',
    targetsTable(r.targets),
  ].join('\n')}\n`;
}
