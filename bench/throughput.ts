import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { mkdirSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@temporalio/client';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { TEMPORAL_SERVER_VERSION, resolveTemporalServer } from '../scripts/lib/temporal-server';
import { parseTopology, throughputRuns, type ThroughputRun } from './lib/topology';
import { ledgerViolations } from '../store/journal';
import { C, N, ROUNDS, WARMUP, args, baseEnv, log } from './lib/args';
import { runOn } from './lib/invariants';
import { BENCH_DATA_DIR, Stack } from './lib/launcher';
import { RssSampler, describeMachine, summarize } from './lib/measure';
import { profilesOfPid, summarizeProfile, type ProfileSummary } from './lib/profile';
import {
  countSql,
  driveFloor,
  drivePurchases,
  notificationToDelivered,
  riskCheckFromHistories,
  startFloorWorker,
  type PurchaseRun,
} from './lib/purchases';
import { answersLine, finish, machineLine, ms, target, targetsTable } from './lib/report';
import { addCpu, cpuSnapshot, perUnit, pgCounters, postgresVersion, round, roundAll, scrape, temporalBreakdown } from './lib/system';

/**
 * `npm run bench` (mode throughput): purchases through the REST API against real processes, alternating
 * in rounds with the engine's own floor (a workflow of the same shape with no database or HTTP).
 */
const SINGLE_CLIENT_PURCHASES = 50;

export async function throughputMode() {
  // Bad flags stop here, before anything is started.
  const topology = parseTopology(args, ['dev', 'server']);
  const runs = throughputRuns(topology, args);
  log(`runs: ${runs.map((r) => r.label).join('; ')}`);
  const results = [];
  for (const run of runs) results.push(await measureThroughput(run));
  const date = new Date().toISOString();
  finish('throughput', { kind: 'throughput', date, runs: results }, throughputMarkdown(date, results));
}

async function measureThroughput(config: ThroughputRun) {
  const machine = describeMachine({ temporalCli: config.engine === 'dev' && !args['temporal-address'] ? await resolveTemporalCli((m) => log(m)) : undefined });
  if (config.engine === 'server' && !args['temporal-address']) {
    await resolveTemporalServer((m) => log(m));
    machine.temporal = `Temporal server ${TEMPORAL_SERVER_VERSION} on PostgreSQL`;
  }
  log(`run: ${config.label}`);
  const profileDir = path.join(BENCH_DATA_DIR, 'profiles');
  if (args.profile) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const stack = await Stack.start({
    name: `bench-${config.engine}-${config.workers.length}w`,
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    temporalDbFile: args['temporal-db-file'],
    engine: config.engine,
    apis: config.apis,
    workers: config.workers,
    env: baseEnv(),
    nodeArgs: args.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    log,
  });
  const client = new Client({ connection: stack.connection! });
  try {
    machine.postgres = await postgresVersion(stack);
    const game = await stack.client.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: 'bench' });
    stack.gameServer.setSecret(game.gameId, game.secret);

    log(`warm-up: ${WARMUP} purchases`);
    await drivePurchases(stack, client, game, WARMUP, C);
    // The floor runs on the same Temporal server beside the (idle) product processes.
    const floorWorker = await startFloorWorker(stack);
    const floorQueue = `${stack.taskQueue}-floor`;
    log(`floor warm-up: ${WARMUP} workflows of the same shape without database or HTTP`);
    await driveFloor(client, floorQueue, WARMUP, C);
    await sleep(1_500);
    const withFloor = { 'floor-worker': floorWorker };
    const samplers = Object.fromEntries([
      ...stack.processes().map((p) => [p.name, new RssSampler(() => p.pid)] as const),
      ['temporal', new RssSampler(() => stack.temporalPid())] as const,
    ]);
    const [cpuBefore, pgBefore, metricsBefore] = [await cpuSnapshot(stack, withFloor), await pgCounters(stack), await scrape(stack.workerMetricsUrl)];
    log(`measured: ${N} purchases and ${N} floor workflows by ${C} concurrent clients, alternating in ${ROUNDS} rounds`);
    const run: PurchaseRun = { orderIds: [], createMs: [], endToEndMs: [], wallMs: 0 };
    const floor = { updateMs: [] as number[], endToEndMs: [] as number[], wallMs: 0 };
    const productCpu: Record<string, number> = {};
    const floorCpu: Record<string, number> = {};
    const isFloor = (name: string) => name === 'floor-worker';
    const engineOrBench = (name: string) => ['temporal', 'floor-worker'].includes(name) || name.startsWith('bench');
    for (let r = 0, done = 0; r < ROUNDS; r++) {
      const count = Math.round((N * (r + 1)) / ROUNDS) - done;
      done += count;
      const atStart = await cpuSnapshot(stack, withFloor);
      const purchases = await drivePurchases(stack, client, game, count, C);
      const afterPurchases = await cpuSnapshot(stack, withFloor);
      addCpu(productCpu, atStart, afterPurchases, (name) => !isFloor(name));
      const floorRun = await driveFloor(client, floorQueue, count, C);
      addCpu(floorCpu, afterPurchases, await cpuSnapshot(stack, withFloor), engineOrBench);
      run.orderIds.push(...purchases.orderIds);
      run.createMs.push(...purchases.createMs);
      run.endToEndMs.push(...purchases.endToEndMs);
      run.wallMs += purchases.wallMs;
      floor.updateMs.push(...floorRun.updateMs);
      floor.endToEndMs.push(...floorRun.endToEndMs);
      floor.wallMs += floorRun.wallMs;
      log(`round ${r + 1}: ${round(count / (purchases.wallMs / 1000))} purchases/s, floor ${round(count / (floorRun.wallMs / 1000))}/s`);
    }
    const [metricsAfter, cpuAfter] = [await scrape(stack.workerMetricsUrl), await cpuSnapshot(stack, withFloor)];
    await sleep(1_500); // PostgreSQL flushes its statistics at most once a second
    const pgAfter = await pgCounters(stack);
    const peakRss = Object.fromEntries(Object.entries(samplers).map(([name, sampler]) => [name, sampler.stop()]));
    const lifetimePeak = Object.fromEntries(stack.processes().map((p) => [p.name, p.usage()?.peakRssMiB]));
    const purchasesPerSecond = N / (run.wallMs / 1000);
    const floorPerSecond = N / (floor.wallMs / 1000);
    log(`purchases: ${round(purchasesPerSecond)}/s; floor: ${round(floorPerSecond)}/s`);
    // The engine's own latency with nothing queued: what a create cannot go below on this server.
    const floorAlone = await driveFloor(client, floorQueue, SINGLE_CLIENT_PURCHASES, 1);
    await floorWorker.stop();

    // Latency below saturation: the same 50 clients, purchases arriving at a share of the measured maximum.
    const pacedRate = round(purchasesPerSecond * Number(args['paced-share']), 2);
    const pacedCount = Math.max(C, Math.round(pacedRate * Number(args['paced-seconds'])));
    log(`paced: ${pacedCount} purchases arriving at ${pacedRate}/s, at most ${C} at once`);
    const paced = await drivePurchases(stack, client, game, pacedCount, C, pacedRate);
    const pacedNotified = await notificationToDelivered(stack, paced.orderIds);

    // The unloaded path: one client, one purchase at a time.
    log(`single client: ${SINGLE_CLIENT_PURCHASES} purchases one after another`);
    const single = await drivePurchases(stack, client, game, SINGLE_CLIENT_PURCHASES, 1);
    const singleNotified = await notificationToDelivered(stack, single.orderIds);
    const singleRisk = await riskCheckFromHistories(client, single.orderIds);

    const notified = await notificationToDelivered(stack, run.orderIds);
    const riskSample = run.orderIds.slice(0, 300);
    const risk = await riskCheckFromHistories(client, riskSample);
    const temporal = temporalBreakdown(metricsBefore, metricsAfter);

    const pids = Object.fromEntries(stack.processes().map((p) => [p.name, p.pid!]));
    await Promise.all(stack.processes().map((p) => p.stop()));
    // With --profile, each process wrote its profile as it exited; keep the measured rounds' samples.
    const stoppedAt = performance.now();
    const window = { fromMsBeforeEnd: stoppedAt - cpuBefore.at, toMsBeforeEnd: stoppedAt - cpuAfter.at };
    const profiles: Record<string, ProfileSummary> | undefined = args.profile
      ? Object.fromEntries(
          Object.entries(pids).flatMap(([name, pid]) =>
            profilesOfPid(profileDir, pid).map(({ thread, file }) => [`${name} thread ${thread}`, summarizeProfile(file, window)]),
          ),
        )
      : undefined;

    // Statements per purchase do not depend on the engine or the processes: counted with one API and one worker.
    const countsSql = config.apis === 1 && config.workers.length === 1;
    if (countsSql) log(`SQL: ${args['sql-sample']} purchases through counting proxies`);
    const sql = countsSql ? await countSql(stack, client, game, Number(args['sql-sample'])) : undefined;

    const ledger = await ledgerViolations(runOn(stack.db), { deliveryDeadlineMs: 24 * 3_600_000, gameId: game.gameId });
    const created = summarize(run.createMs);
    const notifiedSummary = summarize(notified);
    const riskSummary = summarize(risk);
    const ratio = purchasesPerSecond / floorPerSecond;
    const result = {
      run: { engine: config.engine, label: config.label, apis: config.apis, workers: config.workers },
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: {
        purchases: N,
        concurrency: C,
        warmup: WARMUP,
        rounds: ROUNDS,
        temporal: args['temporal-address']
          ? `external ${args['temporal-address']}`
          : config.engine === 'server'
            ? `real server ${TEMPORAL_SERVER_VERSION} on PostgreSQL (fresh databases)`
            : `dev server (${args['temporal-db-file'] ? 'file' : 'in-memory'} SQLite)`,
        sandboxNotifyPollMs: Number(args['notify-poll-ms']),
        databasePoolSize: 10,
        workerOptions: `as worker.ts (maxCachedWorkflows ${process.env.WORKER_MAX_CACHED_WORKFLOWS ?? 'default 500'})`,
      },
      purchases: {
        perSecond: round(purchasesPerSecond, 1),
        createOrderMs: created,
        endToEndMs: summarize(run.endToEndMs),
        notificationToDeliveredMs: notifiedSummary,
        riskCheckMs: { ...riskSummary, sampledWorkflows: riskSample.length, source: 'workflow history: checkRisk marker time minus workflow task start' },
        cpuMsPerPurchase: perUnit(productCpu, N),
        postgresPerPurchase: Object.fromEntries(Object.entries(pgAfter).map(([k, v]) => [k, round((v - (pgBefore[k] ?? 0)) / N, 2)])),
        peakRssMiB: { duringRun: roundAll(peakRss), processLifetime: roundAll(lifetimePeak) },
        temporal,
        profiles,
      },
      paced: {
        ratePerSecond: pacedRate,
        purchases: pacedCount,
        createOrderMs: summarize(paced.createMs),
        notificationToDeliveredMs: summarize(pacedNotified),
        endToEndMs: summarize(paced.endToEndMs),
      },
      singleClient: {
        purchases: single.orderIds.length,
        createOrderMs: summarize(single.createMs),
        notificationToDeliveredMs: summarize(singleNotified),
        riskCheckMs: summarize(singleRisk),
        endToEndMs: summarize(single.endToEndMs),
      },
      nonSuccessAnswers: stack.client.answers.toJSON(),
      sql,
      floor: {
        perSecond: round(floorPerSecond, 1),
        updateWithStartMs: summarize(floor.updateMs),
        singleClientUpdateWithStartMs: summarize(floorAlone.updateMs),
        endToEndMs: summarize(floor.endToEndMs),
        cpuMsPerWorkflow: perUnit(floorCpu, N),
      },
      ratioToFloor: round(ratio, 3),
      targets: [
        target(`create-order p99 < 100 ms at ${C} clients, saturated`, created.p99 < 100, `${created.p99} ms`),
        target(`create-order p99 < 100 ms at ${C} clients, paced at ${pacedRate}/s`, summarize(paced.createMs).p99 < 100, `${summarize(paced.createMs).p99} ms`),
        target('notification → delivered p99 < 1 s, saturated', notifiedSummary.p99 < 1000, `${notifiedSummary.p99} ms`),
        target(`notification → delivered p99 < 1 s, paced at ${pacedRate}/s`, summarize(pacedNotified).p99 < 1000, `${summarize(pacedNotified).p99} ms`),
        target('throughput ≥ 75% of the engine floor', ratio >= 0.75, `${round(ratio * 100)}%`),
        target('ledger invariants hold for every purchase', ledger.length === 0, ledger.length ? JSON.stringify(ledger.slice(0, 3)) : 'none violated'),
      ],
    };
    return result;
  } finally {
    await stack.stop();
  }
}


/** The engines and process counts side by side, then each run in full. */
function throughputMarkdown(date: string, runs: any[]): string {
  const cpu = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
  const row = (name: string, cell: (r: any) => string) => `| ${name} | ${runs.map(cell).join(' | ')} |`;
  const pct = (r: any) => `**${Math.round(r.ratioToFloor * 100)}%**`;
  const sideBySide = [
    `## Throughput — ${date.slice(0, 16).replace('T', ' ')} UTC: ${runs.length} run${runs.length === 1 ? '' : 's'} side by side`,
    '',
    `Machine: ${machineLine(runs[0].machine)}. Each run on a fresh database, its engine started fresh, the floor on the same server.`,
    '',
    `| Measure | ${runs.map((r) => r.run.label).join(' | ')} |`,
    `| --- | ${runs.map(() => '---').join(' | ')} |`,
    row('Purchases per second', (r) => `**${r.purchases.perSecond}**`),
    row('Engine floor, workflows per second', (r) => String(r.floor.perSecond)),
    row('Ratio to the floor (target ≥ 75%)', pct),
    row('Create order p50 / p99, one client, ms', (r) => `${r.singleClient.createOrderMs.p50} / ${r.singleClient.createOrderMs.p99}`),
    row('Create order p50 / p99, paced at half the maximum, ms', (r) => `${r.paced.createOrderMs.p50} / ${r.paced.createOrderMs.p99} (at ${r.paced.ratePerSecond}/s)`),
    row(`Create order p50 / p99, saturated at ${runs[0].settings.concurrency} clients, ms`, (r) => `${r.purchases.createOrderMs.p50} / ${r.purchases.createOrderMs.p99}`),
    row('Notification → delivered p99, paced / saturated, ms', (r) => `${r.paced.notificationToDeliveredMs.p99} / ${r.purchases.notificationToDeliveredMs.p99}`),
    row('Floor Update-with-Start p50, one client, ms', (r) => String(r.floor.singleClientUpdateWithStartMs.p50)),
    row('CPU ms per purchase, by process', (r) => cpu(r.purchases.cpuMsPerPurchase)),
    row('CPU ms per floor workflow', (r) => cpu(r.floor.cpuMsPerWorkflow)),
    row('Peak RSS during the run, MiB', (r) => Object.entries(r.purchases.peakRssMiB.duringRun).map(([k, v]) => `${k} ${v}`).join(', ')),
    '',
  ];
  return `${[...sideBySide, ...runs.map(runMarkdown)].join('\n')}\n`;
}

function runMarkdown(r: any): string {
  const p = r.purchases;
  const cpu = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
  const perProcess = (o: Record<string, number | null>) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [
    `### ${r.run.label} — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    `Run: ${r.settings.purchases} purchases and as many floor workflows by ${r.settings.concurrency} concurrent clients, alternating in ${r.settings.rounds ?? 1} rounds, after ${r.settings.warmup} warm-up; Temporal ${r.settings.temporal}; sandbox outbox polled every ${r.settings.sandboxNotifyPollMs} ms.`,
    '',
    '| Measure | Value |',
    '| --- | --- |',
    `| Purchases per second (create → pay → delivered → workflow closed) | **${p.perSecond}** |`,
    `| Engine floor, same shape, no DB/HTTP (workflows per second) | ${r.floor.perSecond} |`,
    `| Ratio to the floor | **${Math.round(r.ratioToFloor * 100)}%** |`,
    `| Saturated: create order, ms | ${ms(p.createOrderMs)} |`,
    `| Saturated: notification received → goods granted, ms | ${ms(p.notificationToDeliveredMs)} |`,
    `| Risk check, ms (${p.riskCheckMs.sampledWorkflows} histories) | ${ms(p.riskCheckMs)} |`,
    `| End-to-end purchase, ms | ${ms(p.endToEndMs)} |`,
    `| Paced at ${r.paced.ratePerSecond}/s (${r.paced.purchases} purchases, ${r.settings.concurrency} clients): create order, ms | ${ms(r.paced.createOrderMs)} |`,
    `| Paced: notification received → goods granted, ms | ${ms(r.paced.notificationToDeliveredMs)} |`,
    `| One client alone (${r.singleClient.purchases} purchases in a row): create order, ms | ${ms(r.singleClient.createOrderMs)} |`,
    `| One client alone: notification received → goods granted, ms | ${ms(r.singleClient.notificationToDeliveredMs)} |`,
    `| One client alone: risk check, ms | ${ms(r.singleClient.riskCheckMs)} |`,
    `| Floor Update-with-Start, saturated at ${r.settings.concurrency} clients, ms | ${ms(r.floor.updateWithStartMs)} |`,
    `| Floor Update-with-Start, one client alone, ms | ${ms(r.floor.singleClientUpdateWithStartMs)} |`,
    ...(r.sql
      ? [
          `| SQL statements per purchase (API + worker) | ${round(r.sql.api.statements + r.sql.worker.statements, 1)} (API ${r.sql.api.statements}, worker ${r.sql.worker.statements}; of which sandbox outbox polls ${round(r.sql.api.outboxPolls, 1)}) |`,
          `| Transactions per purchase (BEGIN at the proxy / pg_stat_database commits) | ${round(r.sql.api.transactions + r.sql.worker.transactions, 1)} / ${p.postgresPerPurchase.xact_commit} |`,
        ]
      : []),
    `| Rows written per purchase (inserted + updated) | ${round(p.postgresPerPurchase.tup_inserted + p.postgresPerPurchase.tup_updated, 1)} |`,
    `| Peak RSS during the run, MiB | ${perProcess(p.peakRssMiB.duringRun)} |`,
    `| Peak RSS over the process life (VmHWM), MiB | ${perProcess(p.peakRssMiB.processLifetime)} |`,
    `| CPU ms per purchase | ${cpu(p.cpuMsPerPurchase)} |`,
    `| Answers other than success (retried with the same key) | ${answersLine(r.nonSuccessAnswers)} |`,
    `| CPU ms per floor workflow | ${cpu(r.floor.cpuMsPerWorkflow)} |`,
    `| Worker: workflow task schedule-to-start / execution, mean ms | ${p.temporal.workflowTaskScheduleToStart.meanMs} / ${p.temporal.workflowTaskExecution.meanMs} |`,
    '',
    targetsTable(r.targets),
    '',
  ];
  if (p.profiles) {
    for (const [name, prof] of Object.entries(p.profiles as Record<string, ProfileSummary>)) {
      if (prof.sampledMs < 500) continue;
      lines.push(
        `CPU profile, ${name}, measured run (${prof.sampledMs} ms of busy samples): ${prof.byArea.slice(0, 8).map((a) => `${a.area} ${a.percent}%`).join(', ')}; top functions: ${prof.topFunctions.slice(0, 5).map((f) => `${f.fn} ${f.percent}%`).join(', ')}.`,
        '',
      );
    }
  }
  return lines.join('\n');
}
