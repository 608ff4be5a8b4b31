import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { CONSOLE_DIST } from '../api/console/routes';
import { daysFrom } from '../domain/reconciliation/days';
import { DEFAULT_RECON_TIME_ZONE } from '../infra/config';
import { openDatabase } from '../infra/db';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { ensureConsoleBuilt } from '../scripts/lib/console-build';
import { rollUpDay } from '../store/reports';
import { args, baseEnv, log } from './lib/args';
import { Stack } from './lib/launcher';
import { describeMachine, summarize, type LatencySummary } from './lib/measure';
import { finish, machineLine, ms, target, targetsTable } from './lib/report';
import { postgresVersion, round } from './lib/system';
import { CHANNELS, FIRST, LAST, writeYear } from './reports';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Counted first loads of the order page, each in a fresh browser context. */
const PAGE_LOADS = 40;

/**
 * `npm run bench -- --mode console`: the console over 1,000,000 generated orders (a year, as the
 * reports mode writes it, rolled up by each day's function): order search at the API (by id, user,
 * channel payment id, channel and filters), the order page's call, a year's revenue by month, the first
 * load of a signed-in order page in Chromium with a cold cache, and the console's gzipped JavaScript.
 */
export async function consoleMode() {
  const orders = Number(args['console-orders']);
  const requests = Number(args['report-requests']);
  ensureConsoleBuilt(log);
  const cli = await resolveTemporalCli((m) => log(m));
  const machine = describeMachine({ temporalCli: cli });
  const reuse = args['reuse-data'] === true;
  const stack = await Stack.start({ name: 'bench-console', databaseUrl: args['database-url']!, keepDatabase: reuse, temporalAddress: args['temporal-address'], env: baseEnv(), log });
  const database = openDatabase(args['database-url']!, 2);
  try {
    machine.postgres = await postgresVersion(stack);
    const t0 = performance.now();
    const ordersHeld = async () => Number((await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM orders')).rows[0]!.n);
    if (reuse && (await ordersHeld()) < orders) throw new Error(`--reuse-data: the database holds ${await ordersHeld()} orders, not ${orders}`);
    if (!reuse) {
      log(`writing a year of ${orders.toLocaleString('en')} orders (${FIRST} to ${LAST})`);
      await writeYear(stack, orders);
      log(`written; rolling up the year`);
      for (const date of daysFrom(FIRST, LAST)) {
        for (const channel of CHANNELS) await rollUpDay(database, { channel, date, timeZone: DEFAULT_RECON_TIME_ZONE });
      }
      await stack.db.query('ANALYZE');
    }
    const generatedSeconds = round((performance.now() - t0) / 1000);
    const held = await ordersHeld();
    log(reuse ? `reusing ${held} orders` : `written and rolled up in ${generatedSeconds} s`);

    // A sample with valid order ids (the generated ones are md5s, which the API refuses as ids: their
    // variant nibble is arbitrary) and channel payment ids, so a search by either finds its order;
    // closed ones, which no entry refers to. The sample is exactly the rows this UPDATE gives back, so
    // no generated id and no row changed by an earlier run can slip into it.
    const { rows: sample } = await stack.db.query<{ id: string; user_id: string; channel_payment_id: string; channel: string; game_id: string }>(
      `UPDATE orders SET id = gen_random_uuid(), channel_payment_id = 'bench-pay-' || md5(id::text)
        WHERE id IN (SELECT id FROM orders WHERE status = 'CLOSED' AND channel_payment_id IS NULL ORDER BY id LIMIT 200)
        RETURNING id, user_id, channel_payment_id, channel, game_id`,
    );
    if (sample.length < 200) throw new Error(`only ${sample.length} closed orders left to sample`);
    const pick = (i: number) => sample[i % sample.length]!;
    const queries: Record<string, (i: number) => string> = {
      'search by order id': (i) => `/v1/ops/orders?sort=newest&q=${pick(i).id}`,
      'search by user id (q)': (i) => `/v1/ops/orders?sort=newest&q=${pick(i).user_id}`,
      'search by channel payment id (q)': (i) => `/v1/ops/orders?sort=newest&q=${pick(i).channel_payment_id}`,
      'orders of a channel, newest 50': (i) => `/v1/ops/orders?sort=newest&channel=${pick(i).channel}&limit=50`,
      'game + status + a month, newest 50': (i) =>
        `/v1/ops/orders?sort=newest&gameId=${pick(i).game_id}&status=DELIVERED&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&limit=50`,
      'order page (GET /v1/ops/orders/{id})': (i) => `/v1/ops/orders/${pick(i).id}`,
      'revenue, a year by month (one currency)': () => `/v1/finance/reports/revenue?from=${FIRST}&to=${LAST}&groupBy=month&by=currency&currency=CNY`,
      'revenue, a year by month (the console: all currencies)': () => `/v1/finance/reports/revenue?from=${FIRST}&to=${LAST}&groupBy=month&by=currency`,
    };
    const latencies: Record<string, LatencySummary> = {};
    const search: number[] = [];
    for (const [name, path] of Object.entries(queries)) {
      const times: number[] = [];
      for (let i = 0; i < requests + 5; i++) {
        const t = performance.now();
        const res = await stack.client.admin('GET', path(i), undefined, stack.client.adminToken, { 'X-Operator': 'bench' });
        const took = performance.now() - t;
        if (res.status !== 200) throw new Error(`${path(i)}: ${res.status} ${JSON.stringify(res.body)}`);
        if (i >= 5) times.push(took);
      }
      latencies[name] = summarize(times);
      if (name.startsWith('search') || name.includes('newest')) search.push(...times);
      log(`${name}: ${ms(latencies[name]!)} ms`);
    }
    const searchAll = summarize(search);

    // The first load of a signed-in order page: a new browser context each time (no cached assets,
    // no service worker, only the sign-in cookie). One load in a discarded context first, so the
    // figures are page loads and not Chromium starting its first renderer process.
    const pageLoads: number[] = [];
    const loadParts: { documentMs: number; scriptsMs: number; sessionCallMs: number; orderCallMs: number }[] = [];
    if (existsSync(CHROMIUM)) {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
      try {
        const signIn = await fetch(`${stack.apiUrl}/v1/console/session`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ token: stack.client.adminToken, operator: 'bench' }),
        });
        const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!.split('=');
        for (let i = -1; i < PAGE_LOADS; i++) {
          const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
          await context.addCookies([{ name: cookie[0]!, value: cookie.slice(1).join('='), url: stack.apiUrl }]);
          const page = await context.newPage();
          const t = performance.now();
          await page.goto(`${stack.apiUrl}/console/orders/${pick(Math.max(i, 0) * 7).id}`);
          await page.getByRole('heading', { name: 'Timeline' }).waitFor();
          const took = performance.now() - t;
          // Where the time went, from the page's own clock (ms since navigation start).
          // (A string: the server's tsconfig has no DOM types.)
          const parts: { documentMs: number; scriptsMs: number; sessionCallMs: number; orderCallMs: number } = await page.evaluate(`(() => {
            const entries = performance.getEntriesByType('resource');
            const end = (match) => Math.max(0, ...entries.filter((e) => match(e.name)).map((e) => e.responseEnd));
            return {
              documentMs: performance.getEntriesByType('navigation')[0].responseEnd,
              scriptsMs: end((n) => n.endsWith('.js')),
              sessionCallMs: end((n) => n.includes('/v1/console/session')),
              orderCallMs: end((n) => n.includes('/v1/ops/orders/')),
            };
          })()`);
          await context.close();
          if (i < 0) continue;
          pageLoads.push(took);
          loadParts.push({ documentMs: round(parts.documentMs), scriptsMs: round(parts.scriptsMs), sessionCallMs: round(parts.sessionCallMs), orderCallMs: round(parts.orderCallMs) });
        }
      } finally {
        await browser.close();
      }
      log(`order page, first load (cold cache): ${ms(summarize(pageLoads))} ms`);
    }
    const pageLoad = pageLoads.length ? summarize(pageLoads) : undefined;
    const scripts = readdirSync(join(CONSOLE_DIST, 'assets')).filter((f) => f.endsWith('.js'));
    const gzip = (f: string) => gzipSync(readFileSync(join(CONSOLE_DIST, 'assets', f))).length;
    // The first load: the small entry (index-*) and the app it imports, which index.html preloads.
    const entry = scripts.filter((f) => f.startsWith('index-') || f.startsWith('app-'));
    const bundle = {
      totalGzipKiB: round(scripts.reduce((s, f) => s + gzip(f), 0) / 1024),
      firstLoadGzipKiB: round(entry.reduce((s, f) => s + gzip(f), 0) / 1024),
      chartsGzipKiB: round(scripts.filter((f) => f.startsWith('Chart-')).reduce((s, f) => s + gzip(f), 0) / 1024),
    };
    const revenueYear = latencies['revenue, a year by month (the console: all currencies)']!;
    const result = {
      kind: 'console',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { orders, from: FIRST, to: LAST, requestsPerQuery: requests, pageLoads: pageLoads.length },
      books: { generatedSeconds, reused: reuse, ordersHeld: held },
      latencyMs: latencies,
      searchMs: searchAll,
      ...(pageLoad && {
        orderPageFirstLoadMs: pageLoad,
        // Median moment, ms after navigation start, the HTML, the last script, the who-am-I call and the order call had arrived.
        orderPageLoadPartsMs: {
          document: summarize(loadParts.map((p) => p.documentMs)).p50,
          scripts: summarize(loadParts.map((p) => p.scriptsMs)).p50,
          sessionCall: summarize(loadParts.map((p) => p.sessionCallMs)).p50,
          orderCall: summarize(loadParts.map((p) => p.orderCallMs)).p50,
        },
        orderPageLoadsMs: pageLoads.map((l) => round(l)),
      }),
      bundle,
      targets: [
        target('order search p99 under 100 ms at the API', searchAll.p99 < 100, `p99 ${searchAll.p99} ms over ${search.length} requests`),
        target("a year's revenue by month under 1 s", revenueYear.p99 < 1000, `p99 ${revenueYear.p99} ms`),
        ...(pageLoad ? [target('first load of a signed-in order page (cold cache) under 1 s', pageLoad.p99 < 1000, `p99 ${pageLoad.p99} ms over ${pageLoads.length} loads`)] : []),
      ],
    };
    finish('console', result, markdown(result));
  } finally {
    await database.close();
    await stack.stop();
  }
}

function markdown(r: any): string {
  return `${[
    `### The console over ${r.settings.orders.toLocaleString('en')} orders — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    '',
    `${r.books.ordersHeld.toLocaleString('en')} orders ${r.settings.from} to ${r.settings.to} (${r.books.reused ? 'generated by an earlier run' : `written and rolled up in ${r.books.generatedSeconds} s`}). ${r.settings.requestsPerQuery} requests per query, one at a time, through the API with the admin token.`,
    '',
    '| Query | Latency, ms |',
    '| --- | --- |',
    ...Object.entries(r.latencyMs).map(([name, s]) => `| ${name} | ${ms(s as LatencySummary)} |`),
    `| **order search, all** | ${ms(r.searchMs)} |`,
    ...(r.orderPageFirstLoadMs ? [`| order page, first load in Chromium, cold cache (${r.settings.pageLoads} loads, each in a new context, after one uncounted load that starts the renderer) | ${ms(r.orderPageFirstLoadMs)} |`] : []),
    '',
    ...(r.orderPageLoadPartsMs
      ? [`Order page first load, median moments after navigation start: HTML ${r.orderPageLoadPartsMs.document} ms, last script ${r.orderPageLoadPartsMs.scripts} ms, the sign-in check (who am I) answered ${r.orderPageLoadPartsMs.sessionCall} ms, the order call answered ${r.orderPageLoadPartsMs.orderCall} ms; the rest is rendering until the *Timeline* heading shows.`, '']
      : []),
    `JavaScript, gzipped: ${r.bundle.firstLoadGzipKiB} KiB on first load (every page but the charts), ${r.bundle.chartsGzipKiB} KiB more with the first chart (ECharts), ${r.bundle.totalGzipKiB} KiB in all.`,
    '',
    targetsTable(r.targets),
  ].join('\n')}\n`;
}
