import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { routingWithDefaults } from '../domain/routing/fields';
import { seededRandom } from '../domain/routing/random';
import { route, type AccountHealth, type RoutableAccount, type RouteRequest } from '../domain/routing/router';
import { routerSettings } from '../routing/router';
import { loadConfig } from '../infra/config';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import type { GameWithItem } from '../testkit/api-client';
import { C, args, baseEnv, log } from './lib/args';
import { Stack } from './lib/launcher';
import { describeMachine, histogramQuantile, parsePromHistogram, percentile, summarize } from './lib/measure';
import { finish, machineLine, target, targetsTable } from './lib/report';
import { postgresVersion, round, scrape } from './lib/system';

/**
 * `npm run bench -- --mode failover`: two sandbox accounts share the orders at full load; one fails
 * every create for `--outage-seconds`, then recovers. Measured per second: purchases completed,
 * creates answered by account, creates that failed over, creates that failed; the failing account's
 * breaker (time to open after the outage starts, to close after it ends); and what one routing
 * decision costs in process.
 */
const PRIMARY = 'sbx-a';
const BACKUP = 'sbx-b';
/** Both accounts alike: they share the orders by weight until one fails. */
const ROUTING = { regions: ['CN'], currencies: ['CNY'], feeRateBps: 60, weight: 1 };
/** Shorter than production's 30 s so the run shows probes failing during the outage and one closing it after. */
const BENCH_COOLDOWN_MS = 5_000;
const HEALTH_POLL_MS = 100;

interface Second {
  completed: number;
  created: Record<string, number>;
  failedOver: number;
  failedCreates: number;
  unavailable: number;
  createMs: number[];
  primaryState?: string;
}

export async function failoverMode() {
  const outageS = Number(args['outage-seconds']);
  const phaseS = Number(args['phase-seconds']);
  const cli = await resolveTemporalCli((m) => log(m));
  const machine = describeMachine({ temporalCli: cli });
  const stack = await Stack.start({
    name: 'failover',
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    env: { ...baseEnv(), CHANNEL_BREAKER_COOLDOWN_MS: String(BENCH_COOLDOWN_MS), ...(args.redis && { REDIS_URL: args.redis }) },
    log,
  });
  try {
    machine.postgres = await postgresVersion(stack);
    const admin = stack.client;
    const account = (channelId: string, credentials: Record<string, unknown>) =>
      admin.adminOk('PUT', `/v1/admin/channels/${channelId}`, { type: 'sandbox', enabled: true, credentials, routing: ROUTING });
    await admin.adminOk('PUT', '/v1/admin/channels/sandbox', { type: 'sandbox', enabled: false, credentials: {} });
    await account(PRIMARY, {});
    await account(BACKUP, {});
    const game = await admin.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: 'failover' });
    stack.gameServer.setSecret(game.gameId, game.secret);
    await sleep(1_500); // every process has the accounts

    log(`warm-up: ${C * 4} purchases`);
    await drive(stack, game, Date.now() + 600_000, new Map(), 0, C * 4);

    const decisionsBefore = await scrape(stack.apiMetricsUrl);
    const seconds = new Map<number, Second>();
    const t0 = Date.now();
    const outageAt = t0 + phaseS * 1_000;
    const recoveryAt = outageAt + outageS * 1_000;
    const end = recoveryAt + phaseS * 1_000;
    const transitions: { at: number; state: string }[] = [];
    const monitor = watchBreaker(stack, t0, end, seconds, transitions);
    const faults = (async () => {
      await sleep(outageAt - Date.now());
      log(`outage: ${PRIMARY} fails every create for ${outageS} s`);
      await account(PRIMARY, { failCreateRate: 1 });
      await sleep(recoveryAt - Date.now());
      log(`recovery: ${PRIMARY} healthy again`);
      await account(PRIMARY, {});
    })();
    log(`measured: ${C} clients for ${(end - t0) / 1000} s`);
    await drive(stack, game, end, seconds, t0);
    await Promise.all([faults, monitor]);
    const failovers = await failoversPerSecond(stack, t0);
    for (const [s, n] of failovers) bucket(seconds, s).failedOver = n;
    const decisionsAfter = await scrape(stack.apiMetricsUrl);

    const opened = transitions.find((t) => t.at >= outageAt && t.state === 'OPEN');
    const closed = transitions.find((t) => t.at >= recoveryAt && t.state === 'CLOSED');
    const createdIn = (from: number, to: number, channel?: string) =>
      [...seconds].filter(([s]) => s >= from && s < to).reduce((n, [, b]) => n + (channel ? (b.created[channel] ?? 0) : Object.values(b.created).reduce((a, c) => a + c, 0)), 0);
    const firstSecond = (at: number) => Math.floor((at - t0) / 1000);
    const sum = (pick: (b: Second) => number) => [...seconds.values()].reduce((n, b) => n + pick(b), 0);
    const openingEnd = opened ? firstSecond(opened.at) + 1 : Infinity;
    const failedCreates = sum((b) => b.failedCreates);
    const failedWhileOpening = [...seconds].filter(([s]) => s >= firstSecond(outageAt) && s < openingEnd).reduce((n, [, b]) => n + b.failedCreates, 0);
    const routingCost = measureRoutingCost();
    const apiHistogram = parsePromHistogram(decisionsAfter, 'payments_routing_decision_seconds');
    const apiBefore = parsePromHistogram(decisionsBefore, 'payments_routing_decision_seconds');
    const apiDecisions = apiHistogram.count - apiBefore.count;
    const apiP99 = histogramQuantile(
      { ...apiHistogram, count: apiDecisions, buckets: apiHistogram.buckets.map((b) => ({ le: b.le, count: b.count - (apiBefore.buckets.find((x) => x.le === b.le)?.count ?? 0) })) },
      0.99,
    );

    const decisions = decisionCounts(decisionsAfter, decisionsBefore);
    const rows = [...seconds].sort(([a], [b]) => a - b);
    const result = {
      at: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      run: { clients: C, phaseSeconds: phaseS, outageSeconds: outageS, cooldownMs: BENCH_COOLDOWN_MS, backend: args.redis ? 'redis' : 'postgresql' },
      purchasesPerSecond: {
        before: round(completedIn(seconds, 0, firstSecond(outageAt)) / phaseS),
        outage: round(completedIn(seconds, firstSecond(outageAt), firstSecond(recoveryAt)) / outageS),
        after: round(completedIn(seconds, firstSecond(recoveryAt), firstSecond(end)) / phaseS),
      },
      createsByAccount: {
        before: { [PRIMARY]: createdIn(0, firstSecond(outageAt), PRIMARY), [BACKUP]: createdIn(0, firstSecond(outageAt), BACKUP) },
        outage: { [PRIMARY]: createdIn(firstSecond(outageAt), firstSecond(recoveryAt), PRIMARY), [BACKUP]: createdIn(firstSecond(outageAt), firstSecond(recoveryAt), BACKUP) },
        after: { [PRIMARY]: createdIn(firstSecond(recoveryAt), firstSecond(end), PRIMARY), [BACKUP]: createdIn(firstSecond(recoveryAt), firstSecond(end), BACKUP) },
      },
      failedOver: sum((b) => b.failedOver),
      failedCreates,
      failedCreatesWhileOpening: failedWhileOpening,
      unavailableAnswers: sum((b) => b.unavailable),
      breaker: {
        transitions: transitions.map((t) => ({ second: round((t.at - t0) / 1000, 1), state: t.state })),
        msToOpen: opened ? opened.at - outageAt : null,
        msToClose: closed ? closed.at - recoveryAt : null,
      },
      createMs: { before: summarize(createMsIn(seconds, 0, firstSecond(outageAt))), outage: summarize(createMsIn(seconds, firstSecond(outageAt), firstSecond(recoveryAt))), after: summarize(createMsIn(seconds, firstSecond(recoveryAt), firstSecond(end))) },
      routingDecision: {
      inProcess: routingCost,
      byChannelAndReason: decisions,
      api: { decisions: apiDecisions, meanUs: round(((apiHistogram.sum - apiBefore.sum) / apiDecisions) * 1e6, 1), p99UpperBoundMs: apiP99 * 1000 },
    },
      perSecond: rows.map(([s, b]) => ({ second: s, completed: b.completed, ...b.created, failedOver: b.failedOver, failedCreates: b.failedCreates, unavailable: b.unavailable, createP99Ms: round(percentile(b.createMs, 99)), primaryState: b.primaryState })),
    };
    const targets = [
      target('creates that failed: none beyond those answered while the breaker was opening', failedCreates === failedWhileOpening, `${failedCreates} failed (${failedWhileOpening} while opening)`),
      target('routing decision p99 < 1 ms in process', routingCost.sixAccounts.p99Us < 1_000, `${routingCost.sixAccounts.p99Us} µs (6 accounts), ${routingCost.twoAccounts.p99Us} µs (2)`),
      target('the breaker opens during the outage and closes after it', Boolean(opened && closed), `open after ${result.breaker.msToOpen} ms, closed ${result.breaker.msToClose} ms after recovery`),
    ];
    finish('failover', result, markdown(result, targets, machineLine(result.machine)));
  } finally {
    await stack.stop();
  }
}

const completedIn = (seconds: Map<number, Second>, from: number, to: number) =>
  [...seconds].filter(([s]) => s >= from && s < to).reduce((n, [, b]) => n + b.completed, 0);
const createMsIn = (seconds: Map<number, Second>, from: number, to: number) => [...seconds].filter(([s]) => s >= from && s < to).flatMap(([, b]) => b.createMs);

function bucket(seconds: Map<number, Second>, s: number): Second {
  let b = seconds.get(s);
  if (!b) seconds.set(s, (b = { completed: 0, created: {}, failedOver: 0, failedCreates: 0, unavailable: 0, createMs: [] }));
  return b;
}

/**
 * Closed loop until `end` (or `count` purchases): create (a 503 is retried with the same key, a 502
 * is a failed create: a new purchase starts), pay in the sandbox, wait for the goods at the game.
 */
async function drive(stack: Stack, game: GameWithItem, end: number, seconds: Map<number, Second>, t0: number, count = Infinity) {
  let started = 0;
  const second = () => Math.floor((Date.now() - t0) / 1000);
  await Promise.all(
    Array.from({ length: C }, async (_, client) => {
      while (Date.now() < end && started < count) {
        started++;
        const key = randomUUID();
        const body = { userId: `player-${client}`, sku: game.sku, region: 'CN' };
        let created: { orderId: string; channel: string; payment: { channelPaymentId: string } } | undefined;
        for (;;) {
          const t = performance.now();
          const answer = await stack.client.createOrder(game, body, key).catch(() => undefined);
          const b = bucket(seconds, second());
          b.createMs.push(performance.now() - t);
          if (answer?.status === 201) {
            created = answer.body;
            b.created[created!.channel] = (b.created[created!.channel] ?? 0) + 1;
            break;
          }
          if (answer?.status === 503 || !answer) {
            b.unavailable++;
            await sleep(200);
            continue;
          }
          b.failedCreates++;
          break;
        }
        if (!created) continue;
        await stack.client.payWithRetry(created.payment.channelPaymentId, {}, { deadlineMs: 60_000, delayMs: 200 });
        await stack.gameServer.delivered(created.orderId);
        bucket(seconds, second()).completed++;
      }
    }),
  );
}

/** The failing account's breaker as the health endpoint reports it, polled; its state each second. */
async function watchBreaker(stack: Stack, t0: number, end: number, seconds: Map<number, Second>, transitions: { at: number; state: string }[]) {
  let last: string | undefined;
  while (Date.now() < end) {
    const health = await stack.client.admin('GET', '/v1/admin/channels/health');
    const primary = (health.body?.channels as { channelId: string; state: string }[] | undefined)?.find((c) => c.channelId === PRIMARY);
    if (primary) {
      const at = Date.now();
      if (primary.state !== last) transitions.push({ at, state: primary.state });
      last = primary.state;
      const b = bucket(seconds, Math.floor((at - t0) / 1000));
      // The worst state seen in the second.
      if (b.primaryState !== 'OPEN') b.primaryState = primary.state === 'CLOSED' && b.primaryState ? b.primaryState : primary.state;
    }
    await sleep(HEALTH_POLL_MS);
  }
}

async function failoversPerSecond(stack: Stack, t0: number): Promise<Map<number, number>> {
  const { rows } = await stack.db.query<{ second: number; n: number }>(
    `SELECT floor((extract(epoch FROM at) * 1000 - $1) / 1000)::int AS second, count(*)::int AS n
     FROM order_channel_attempts WHERE outcome <> 'OPENED' AND at >= to_timestamp($1 / 1000.0) AT TIME ZONE 'UTC' GROUP BY 1`,
    [t0],
  );
  return new Map(rows.map((r) => [r.second, r.n]));
}

/** The API's routing decisions between two scrapes, by chosen account and reason (warm-up excluded). */
function decisionCounts(after: string, before: string): Record<string, number> {
  const counts = (text: string) =>
    new Map(
      [...text.matchAll(/^payments_routing_decisions_total\{channel="([^"]+)",reason="([^"]+)"\} (\d+)/gm)].map((m) => [`${m[1]} ${m[2]}`, Number(m[3])]),
    );
  const [a, b] = [counts(after), counts(before)];
  return Object.fromEntries([...a].map(([k, n]) => [k, n - (b.get(k) ?? 0)]).filter(([, n]) => (n as number) > 0).sort());
}

/** One routing decision (eligibility, costs, ranking; no I/O) timed alone, many times, on this machine. */
function measureRoutingCost() {
  const settings = routerSettings(loadConfig({ ...process.env, NODE_ENV: 'development' }));
  const request: RouteRequest = { amount: { currency: 'CNY', value: 600 }, region: 'CN', platform: 'android', storeProducts: [] };
  const accounts = (n: number): RoutableAccount[] =>
    Array.from({ length: n }, (_, i) => ({
      channelId: `acct-${i}`,
      type: ['sandbox', 'alipay', 'wechatpay', 'unionpay', 'appstore', 'googleplay'][i % 6]!,
      enabled: true,
      routing: routingWithDefaults({ feeRateBps: 55 + (i % 3) * 5, regions: i % 2 ? ['*'] : ['CN', 'HK'] }),
      storeChannel: i % 6 >= 4,
    }));
  const health = (id: string): AccountHealth => ({ breaker: id === 'acct-1' ? 'OPEN' : 'CLOSED', window: { attempts: 100, successes: 97 } });
  const time = (n: number) => {
    const list = accounts(n);
    const random = seededRandom(1);
    for (let i = 0; i < 20_000; i++) route(request, list, health, settings, random);
    const us: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      const started = performance.now();
      route(request, list, health, settings, random);
      us.push((performance.now() - started) * 1000);
    }
    return { decisions: us.length, p50Us: round(percentile(us, 50), 2), p99Us: round(percentile(us, 99), 2), p999Us: round(percentile(us, 99.9), 2), maxUs: round(us.reduce((a, b) => Math.max(a, b), 0), 1) };
  };
  return { twoAccounts: time(2), sixAccounts: time(6) };
}

type Result = {
  at: string;
  run: { clients: number; phaseSeconds: number; outageSeconds: number; cooldownMs: number; backend: string };
  purchasesPerSecond: Record<string, number>;
  createsByAccount: Record<string, Record<string, number>>;
  failedOver: number;
  failedCreates: number;
  unavailableAnswers: number;
  breaker: { transitions: { second: number; state: string }[]; msToOpen: number | null; msToClose: number | null };
  createMs: Record<string, ReturnType<typeof summarize>>;
  routingDecision: {
    inProcess: ReturnType<typeof measureRoutingCost>;
    byChannelAndReason: Record<string, number>;
    api: { decisions: number; meanUs: number; p99UpperBoundMs: number };
  };
  perSecond: { second: number; completed: number; failedOver: number; failedCreates: number; unavailable: number; createP99Ms: number; primaryState?: string; [channel: string]: unknown }[];
};

function markdown(r: Result, targets: ReturnType<typeof target>[], machine: string): string {
  const ms = (s: ReturnType<typeof summarize>) => `p50 ${s.p50} · p99 ${s.p99} · max ${s.max}`;
  const c = r.routingDecision.inProcess;
  return [
    `### Failover — ${r.at.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machine}.`,
    `Run: ${r.run.clients} clients in a closed loop (create → pay → goods delivered), two sandbox accounts alike (${PRIMARY}, ${BACKUP}); ` +
      `${r.run.phaseSeconds} s healthy, ${PRIMARY} fails every create for ${r.run.outageSeconds} s, ${r.run.phaseSeconds} s recovered. ` +
      `Breakers at their production settings except the cool-down (${r.run.cooldownMs / 1000} s instead of 30 s); state in ${r.run.backend}.`,
    '',
    '| Measure | Before | Outage | After |',
    '| --- | --- | --- | --- |',
    `| Purchases per second | ${r.purchasesPerSecond.before} | ${r.purchasesPerSecond.outage} | ${r.purchasesPerSecond.after} |`,
    `| Creates at ${PRIMARY} / ${BACKUP} | ${r.createsByAccount.before![PRIMARY]} / ${r.createsByAccount.before![BACKUP]} | ${r.createsByAccount.outage![PRIMARY]} / ${r.createsByAccount.outage![BACKUP]} | ${r.createsByAccount.after![PRIMARY]} / ${r.createsByAccount.after![BACKUP]} |`,
    `| Create, ms | ${ms(r.createMs.before!)} | ${ms(r.createMs.outage!)} | ${ms(r.createMs.after!)} |`,
    '',
    `Creates that failed over to ${BACKUP} within the create call: ${r.failedOver}. Creates that failed (502): **${r.failedCreates}**. ` +
      `503 answers (retried with the same key): ${r.unavailableAnswers}.`,
    `Breaker of ${PRIMARY}: open **${r.breaker.msToOpen} ms** after the outage began, closed **${r.breaker.msToClose} ms** after it ended ` +
      `(states seen: ${r.breaker.transitions.map((t) => `${t.state} at ${t.second} s`).join(', ')}).`,
    `Routing decision in process (200,000 timed): 2 accounts p50 ${c.twoAccounts.p50Us} µs · p99 ${c.twoAccounts.p99Us} µs · max ${c.twoAccounts.maxUs} µs; ` +
      `6 accounts p50 ${c.sixAccounts.p50Us} µs · p99 ${c.sixAccounts.p99Us} µs · p99.9 ${c.sixAccounts.p999Us} µs. ` +
      `In the API process during the run: ${r.routingDecision.api.decisions} decisions, mean ${r.routingDecision.api.meanUs} µs, ` +
      `p99 ≤ ${r.routingDecision.api.p99UpperBoundMs} ms (its histogram's bucket; GC pauses of a loaded process included). ` +
      `Decisions by account and reason: ${Object.entries(r.routingDecision.byChannelAndReason).map(([k, n]) => `${k} ${n}`).join(', ')}.`,
    '',
    targetsTable(targets),
    '',
    `Per second (${PRIMARY}'s breaker as the health endpoint showed it, the worst state of the second):`,
    '',
    `| s | purchases | creates ${PRIMARY} | creates ${BACKUP} | failed over | failed | 503 | create p99 ms | ${PRIMARY} breaker |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.perSecond.map(
      (s) =>
        `| ${s.second} | ${s.completed} | ${(s[PRIMARY] as number) ?? 0} | ${(s[BACKUP] as number) ?? 0} | ${s.failedOver} | ${s.failedCreates} | ${s.unavailable} | ${Number.isNaN(s.createP99Ms) ? '' : s.createP99Ms} | ${s.primaryState ?? ''} |`,
    ),
    '',
  ].join('\n');
}
