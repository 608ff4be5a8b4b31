import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { runPool } from '../testkit/api-client';
import { BENCH_RETRY, C, args, baseEnv, log } from './lib/args';
import { Stack } from './lib/launcher';
import { RssSampler, describeMachine, processUsage, summarize } from './lib/measure';
import { waitForGrants } from './lib/purchases';
import { answersLine, finish, machineLine, ms, target, targetsTable } from './lib/report';
import { postgresVersion, round, roundAll, scrape } from './lib/system';

/** `npm run bench -- --mode open-orders`: many orders open at once, then all paid and delivered. */
export async function openOrdersMode() {
  const count = Number(args['open-orders']);
  const cli = await resolveTemporalCli((m) => log(m));
  const machine = describeMachine({ temporalCli: cli });
  const stack = await Stack.start({
    name: 'bench-open',
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    temporalDbFile: args['temporal-db-file'],
    // Orders stay payable through the whole run; a failed delivery is retried within the stall window.
    env: { ...baseEnv(), PAYMENT_TIMEOUT_MS: String(2 * 3_600_000), DELIVERY_RETRY_MAX_MS: '10000' },
    log,
  });
  try {
    machine.postgres = await postgresVersion(stack);
    const game = await stack.client.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: 'bench' });
    stack.gameServer.setSecret(game.gameId, game.secret);
    const samplers = { worker: new RssSampler(() => stack.worker.pid), api: new RssSampler(() => stack.api.pid), temporal: new RssSampler(() => stack.temporalPid()) };

    log(`opening ${count} orders (${C} clients)`);
    const payments: { orderId: string; channelPaymentId: string }[] = [];
    const createMs: number[] = [];
    const openStarted = performance.now();
    await runPool(count, C, async (i) => {
      const t0 = performance.now();
      const created = await stack.client.createOrderWithRetry(game, { userId: `player-${i % 2000}`, sku: game.sku, region: 'CN' }, randomUUID(), BENCH_RETRY);
      createMs.push(performance.now() - t0);
      if (!created.payment) throw new Error(`order ${created.orderId} was created ${created.status}, without payment`);
      payments.push({ orderId: created.orderId, channelPaymentId: created.payment.channelPaymentId });
    });
    const openSeconds = (performance.now() - openStarted) / 1000;
    await sleep(3_000);
    const metrics = await scrape(stack.workerMetricsUrl);
    const cachedWorkflows = Number(/^temporal_sticky_cache_size\{[^}]*\}\s+(\S+)/m.exec(metrics)?.[1] ?? NaN);
    const whileOpen = {
      workerRssMiB: round(stack.worker.usage()?.rssMiB ?? NaN),
      apiRssMiB: round(stack.api.usage()?.rssMiB ?? NaN),
      temporalRssMiB: round(processUsage(stack.temporalPid() ?? 0)?.rssMiB ?? NaN),
      workflowsInWorkerCache: cachedWorkflows,
    };
    log(`open: worker ${whileOpen.workerRssMiB} MiB, Temporal ${whileOpen.temporalRssMiB} MiB; paying all`);

    const drainStarted = performance.now();
    await runPool(payments.length, C, (i) => stack.client.payWithRetry(payments[i]!.channelPaymentId, {}, BENCH_RETRY));
    const paidSeconds = (performance.now() - drainStarted) / 1000;
    const drainStartedAt = Date.now() - (performance.now() - drainStarted);
    const granted = await waitForGrants(stack, payments.map((p) => p.orderId));
    // Until the last delivery (a stall's wait for stuck orders is not drain time).
    const lastGrant = Math.max(...payments.map((p) => stack.gameServer.grantOf(p.orderId)?.grantedAt ?? 0));
    const drainSeconds = (lastGrant - drainStartedAt) / 1000;
    await sleep(2_000);
    const { rows: statusRows } = await stack.db.query<{ status: string; n: string }>(
      'SELECT status, count(*) AS n FROM orders WHERE game_id = $1 GROUP BY status',
      [game.gameId],
    );
    const statuses = Object.fromEntries(statusRows.map((r) => [r.status, Number(r.n)]));
    const peak = { worker: samplers.worker.stop(), api: samplers.api.stop(), temporal: samplers.temporal.stop() };
    const result = {
      kind: 'open-orders',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { openOrders: count, concurrency: C, sandboxNotifyPollMs: Number(args['notify-poll-ms']), workerOptions: `as worker.ts (maxCachedWorkflows ${process.env.WORKER_MAX_CACHED_WORKFLOWS ?? 'default 500'})` },
      open: { seconds: round(openSeconds, 1), ordersPerSecond: round(count / openSeconds, 1), createOrderMs: summarize(createMs), ...whileOpen },
      drain: { paySeconds: round(paidSeconds, 1), drainSeconds: round(drainSeconds, 1), deliveredPerSecond: round(count / drainSeconds, 1), statuses, allDelivered: statuses.DELIVERED === count && granted === count },
      nonSuccessAnswers: stack.client.answers.toJSON(),
      peakRssMiB: roundAll(peak),
      processLifetimePeakRssMiB: roundAll({ worker: stack.worker.usage()?.peakRssMiB, api: stack.api.usage()?.peakRssMiB }),
      targets: [target(`${count} open orders complete with the worker under 1 GiB`, peak.worker < 1024 && statuses.DELIVERED === count, `worker peak ${round(peak.worker)} MiB, ${statuses.DELIVERED ?? 0}/${count} delivered`)],
    };
    finish('open-orders', result, openOrdersMarkdown(result));
  } finally {
    await stack.stop();
  }
}


function openOrdersMarkdown(r: any): string {
  return `${[
    `### ${r.settings.openOrders} open orders — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    '',
    '| Measure | Value |',
    '| --- | --- |',
    `| Opening ${r.settings.openOrders} orders (${r.settings.concurrency} clients) | ${r.open.seconds} s, ${r.open.ordersPerSecond} orders/s; create ${ms(r.open.createOrderMs)} ms |`,
    `| While all are open: RSS, MiB | worker ${r.open.workerRssMiB}, API ${r.open.apiRssMiB}, Temporal ${r.open.temporalRssMiB} |`,
    `| Workflows in the worker's cache | ${r.open.workflowsInWorkerCache} |`,
    `| Paying all (${r.settings.concurrency} clients) / draining until every order is delivered | ${r.drain.paySeconds} s / ${r.drain.drainSeconds} s (${r.drain.deliveredPerSecond} deliveries/s) |`,
    `| Final statuses | ${Object.entries(r.drain.statuses).map(([k, v]) => `${k} ${v}`).join(', ')}; all delivered: ${r.drain.allDelivered ? 'yes' : '**no**'} |`,
    `| Answers other than success (retried with the same key) | ${answersLine(r.nonSuccessAnswers)} |`,
    `| Peak RSS over the mode, MiB | worker ${r.peakRssMiB.worker}, API ${r.peakRssMiB.api}, Temporal ${r.peakRssMiB.temporal} |`,
    '',
    targetsTable(r.targets),
  ].join('\n')}\n`;
}

