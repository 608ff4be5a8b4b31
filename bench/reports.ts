import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { addDays, daysFrom } from '../domain/reconciliation/days';
import { DEFAULT_RECON_TIME_ZONE } from '../infra/config';
import { openDatabase } from '../infra/db';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { rollUpDay } from '../store/reports';
import { args, baseEnv, log } from './lib/args';
import { Stack } from './lib/launcher';
import { describeMachine, summarize, type LatencySummary } from './lib/measure';
import { finish, machineLine, ms, target, targetsTable } from './lib/report';
import { postgresVersion, round } from './lib/system';

/**
 * `npm run bench -- --mode reports`: a generated year of orders (5,000,000 by default) over 20 games,
 * 3 channel accounts and 8 regions, with the ledger entries reports read (delivered, refunds,
 * chargebacks); the year rolled up into the daily aggregates by the same function each day's
 * reconciliation runs; then the finance reports asked through the API, one request at a time.
 */
export const FIRST = '2025-10-01';
export const DAYS = 365;
export const LAST = addDays(FIRST, DAYS - 1);
export const CHANNELS = ['sandbox', 'wechat-main', 'alipay-main'];
const REGIONS: [string, string, number][] = [
  ['CN', 'CNY', 600],
  ['US', 'USD', 99],
  ['JP', 'JPY', 160],
  ['HK', 'HKD', 800],
  ['GB', 'GBP', 79],
  ['DE', 'EUR', 99],
  ['KR', 'KRW', 1300],
  ['TW', 'TWD', 300],
];
const GAMES = 20;

export async function reportsMode() {
  const orders = Number(args['report-orders']);
  const requests = Number(args['report-requests']);
  const cli = await resolveTemporalCli((m) => log(m));
  const machine = describeMachine({ temporalCli: cli });
  const stack = await Stack.start({ name: 'bench-reports', databaseUrl: args['database-url']!, temporalAddress: args['temporal-address'], env: baseEnv(), log });
  const database = openDatabase(args['database-url']!, 2);
  try {
    machine.postgres = await postgresVersion(stack);
    const t0 = performance.now();
    log(`writing a year of ${orders.toLocaleString('en')} orders (${FIRST} to ${LAST}) and their ledger entries`);
    await writeYear(stack, orders);
    const generatedSeconds = round((performance.now() - t0) / 1000);
    log(`written in ${generatedSeconds} s; rolling up ${DAYS * CHANNELS.length} (day, channel) aggregates`);
    const t1 = performance.now();
    for (const date of daysFrom(FIRST, LAST)) {
      for (const channel of CHANNELS) await rollUpDay(database, { channel, date, timeZone: DEFAULT_RECON_TIME_ZONE });
    }
    const rollupSeconds = round((performance.now() - t1) / 1000);
    // Statistics of the freshly written tables, as autovacuum keeps them for tables that grow a day at a time.
    await stack.db.query('ANALYZE report_daily; ANALYZE report_monthly; ANALYZE report_channel_fees_daily; ANALYZE report_rollups');
    const { rows } = await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM report_daily');
    log(`rolled up in ${rollupSeconds} s: ${rows[0]!.n} aggregate rows`);

    const queries: Record<string, string> = {
      'revenue, year by month × game × channel × region × currency': `/v1/finance/reports/revenue?from=${FIRST}&to=${LAST}&groupBy=month&by=game,channel,region,currency`,
      'revenue, year by day × channel': `/v1/finance/reports/revenue?from=${FIRST}&to=${LAST}&groupBy=day&by=channel`,
      'revenue, year by month × game (CSV)': `/v1/finance/reports/revenue?from=${FIRST}&to=${LAST}&groupBy=month&by=game&format=csv`,
      'revenue, a month by day × game × region': '/v1/finance/reports/revenue?from=2026-03-01&to=2026-03-31&groupBy=day&by=game,region',
      'channels, year': `/v1/finance/reports/channels?from=${FIRST}&to=${LAST}`,
    };
    const latencies: Record<string, LatencySummary> = {};
    const all: number[] = [];
    const sizes: Record<string, number> = {};
    for (const [name, path] of Object.entries(queries)) {
      const times: number[] = [];
      for (let i = 0; i < requests + 5; i++) {
        const t = performance.now();
        const res = await stack.client.admin('GET', path);
        const took = performance.now() - t;
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
        sizes[name] = typeof res.body === 'string' ? res.body.split('\n').length - 2 : (res.body.rows ?? res.body.channels).length;
        if (i >= 5) times.push(took); // the first few warm the caches
      }
      latencies[name] = summarize(times);
      all.push(...times);
      log(`${name}: ${ms(latencies[name]!)} ms (${sizes[name]} rows)`);
    }
    const overall = summarize(all);
    const result = {
      kind: 'reports',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { orders, days: DAYS, from: FIRST, to: LAST, games: GAMES, channels: CHANNELS.length, regions: REGIONS.length, requestsPerQuery: requests },
      books: { generatedSeconds, rollupSeconds, rollups: DAYS * CHANNELS.length, aggregateRows: Number(rows[0]!.n) },
      latencyMs: latencies,
      rowsAnswered: sizes,
      overallMs: overall,
      targets: [target('report p99 under 200 ms over a year of orders', overall.p99 < 200, `p99 ${overall.p99} ms over ${all.length} requests`)],
    };
    finish('reports', result, markdown(result));
  } finally {
    await database.close();
    await stack.stop();
  }
}

/** The year in bulk SQL, one month at a time: orders, and the entries of delivered, refunded and charged-back ones. */
export async function writeYear(stack: Stack, orders: number) {
  await stack.db.query(
    `INSERT INTO games (id, name, secret, delivery_url, created_at, updated_at)
     SELECT 'report-game-' || g, 'Game ' || g, repeat('s', 32), 'http://127.0.0.1:9/deliveries', now(), now() FROM generate_series(1, $1::int) g`,
    [GAMES],
  );
  const regions = REGIONS.map(([region]) => region);
  const currencies = REGIONS.map(([, currency]) => currency);
  const prices = REGIONS.map(([, , price]) => price);
  const perDay = Math.ceil(orders / DAYS);
  for (let first = 0; first < DAYS; first += 30) {
    const days = Math.min(30, DAYS - first);
    // Order n of day d: game, channel and region cycle; statuses by a hash (80% delivered, 5% refunded,
    // 1% charged back, 10% closed unpaid, 4% rejected).
    await stack.db.query(
      `INSERT INTO orders (id, game_id, user_id, sku, quantity, grants, region, currency, amount, channel, status, idempotency_key,
         request_hash, paid_amount, paid_currency, expires_at, paid_at, delivered_at, refunded_at, created_at, updated_at)
       SELECT md5('year-' || d || '-' || n)::uuid, 'report-game-' || (1 + n % $4::int), 'player-' || (n % 50000), 'gems', 1, '[]'::jsonb,
         ($5::text[])[1 + (n / 7) % 8], ($6::text[])[1 + (n / 7) % 8], ($7::int[])[1 + (n / 7) % 8], ($8::text[])[1 + (n / 3) % 3],
         CASE WHEN h < 80 THEN 'DELIVERED' WHEN h < 85 THEN 'REFUNDED' WHEN h < 86 THEN 'CHARGED_BACK' WHEN h < 96 THEN 'CLOSED' ELSE 'REJECTED' END,
         'year-' || d || '-' || n, 'bench',
         CASE WHEN h < 86 THEN ($7::int[])[1 + (n / 7) % 8] END, CASE WHEN h < 86 THEN ($6::text[])[1 + (n / 7) % 8] END,
         t + interval '15 minutes', CASE WHEN h < 86 THEN t + interval '30 seconds' END,
         CASE WHEN h < 80 OR h = 85 THEN t + interval '31 seconds' END, CASE WHEN h >= 80 AND h < 86 THEN t + interval '1 hour' END, t, t
       FROM (
         SELECT d, n, (n * 7919 + d * 104729) % 100 AS h,
           (((($1::date + d)::timestamp AT TIME ZONE $9) AT TIME ZONE 'UTC') + make_interval(secs => (n * 86400.0 / $3::int))) AS t
         FROM generate_series($2::int, $2::int + $10::int - 1) d, generate_series(0, $3::int - 1) n
       ) x`,
      [FIRST, first, perDay, GAMES, regions, currencies, prices, CHANNELS, DEFAULT_RECON_TIME_ZONE, days],
    );
    for (const [kind, status, debit, credit, at] of [
      ['GOODS_DELIVERED', `('DELIVERED', 'CHARGED_BACK')`, `'deferred_revenue:' || e.game_id`, `'revenue:' || e.game_id`, 'o.delivered_at'],
      ['REFUND', `('REFUNDED')`, `'deferred_revenue:' || e.game_id`, `'channel_clearing:' || e.channel`, 'o.refunded_at'],
      ['CHARGEBACK', `('CHARGED_BACK')`, `'chargebacks:' || e.game_id`, `'channel_clearing:' || e.channel`, 'o.refunded_at'],
    ]) {
      await stack.db.query(
        `WITH o AS (
           SELECT * FROM orders WHERE created_at >= ((($1::date + $2::int)::timestamp AT TIME ZONE $3) AT TIME ZONE 'UTC')
             AND created_at < ((($1::date + $2::int + $4::int)::timestamp AT TIME ZONE $3) AT TIME ZONE 'UTC') AND status IN ${status}
         ), e AS (
           INSERT INTO journal_entries (event_id, kind, order_id, game_id, channel, currency, amount, effective_at)
           SELECT '${kind.toLowerCase()}:' || o.id, '${kind}', o.id, o.game_id, o.channel, o.paid_currency, o.paid_amount, ${at} FROM o
           RETURNING id, game_id, channel, currency, amount
         )
         INSERT INTO journal_postings (entry_id, leg, account, currency, amount)
         SELECT e.id, 1, ${debit}, e.currency, e.amount FROM e
         UNION ALL SELECT e.id, 2, ${credit}, e.currency, -e.amount FROM e`,
        [FIRST, first, DEFAULT_RECON_TIME_ZONE, days],
      );
    }
    log(`  days ${first + 1}-${first + days} written`);
  }
  await stack.db.query('ANALYZE');
}

function markdown(r: any): string {
  return `${[
    `### Finance reports over a year of ${r.settings.orders.toLocaleString('en')} orders — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    '',
    `Books: ${r.settings.orders.toLocaleString('en')} orders ${r.settings.from} to ${r.settings.to} (${r.settings.games} games, ${r.settings.channels} channel accounts, ${r.settings.regions} regions and currencies), written in ${r.books.generatedSeconds} s; ${r.books.rollups} daily roll-ups in ${r.books.rollupSeconds} s (${r.books.aggregateRows.toLocaleString('en')} aggregate rows). ${r.settings.requestsPerQuery} requests per query, one at a time, through the API.`,
    '',
    '| Query | Rows | Latency, ms |',
    '| --- | --- | --- |',
    ...Object.entries(r.latencyMs).map(([name, s]) => `| ${name} | ${r.rowsAnswered[name]} | ${ms(s as LatencySummary)} |`),
    `| **all** | | ${ms(r.overallMs)} |`,
    '',
    targetsTable(r.targets),
  ].join('\n')}\n`;
}
