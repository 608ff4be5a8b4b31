import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { temporal as proto } from '@temporalio/proto';
import { addDays } from '../domain/reconciliation/days';
import { channelFee } from '../domain/routing/fees';
import { SANDBOX_FEE_RATE_BASIS_POINTS } from '../sandbox/statements';
import { DEFAULT_RECON_TIME_ZONE } from '../infra/config';
import { openDatabase } from '../infra/db';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { ledgerViolations } from '../store/journal';
import { RECONCILIATION } from '../workflows/contract';
import { args, baseEnv, log } from './lib/args';
import { orderOf, writeClosedOrders, writeDayOfOrders, writeGrantLog, writeGrantsFor } from './lib/finance-data';
import { Stack } from './lib/launcher';
import { RssSampler, describeMachine, processUsage } from './lib/measure';
import { finish, machineLine, target, targetsTable } from './lib/report';
import { postgresBackendPids, postgresVersion, round } from './lib/system';

/**
 * `npm run bench -- --mode recon`: one statement day of a million lines against a million orders,
 * with a known set of planted differences of every kind, reconciled through the real workflow (the
 * sandbox provider serves the statement over HTTP, the adapter streams it, COPY stages it, SQL
 * matches it). Checks that exactly the planted differences are found — none missed, none false —
 * then reconciles the next day, which settles the held cross-day ones. Prints time and peak memory.
 */
const DATE = '2026-10-01';
const NEXT = addDays(DATE, 1);
const PLANTED = 100;
const REPAIRABLE = 20;
const CHANNEL = 'bench-recon';

export async function reconMode() {
  const orders = Number(args['recon-orders']);
  const cli = await resolveTemporalCli((m) => log(m));
  const machine = describeMachine({ temporalCli: cli });
  const stack = await Stack.start({
    name: 'bench-recon',
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    env: { ...baseEnv(), DATABASE_POOL_SIZE: '10' },
    log,
  });
  const database = openDatabase(args['database-url']!, 2);
  try {
    machine.postgres = await postgresVersion(stack);
    const game = await stack.client.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: 'bench' });
    stack.gameServer.setSecret(game.gameId, game.secret);
    await stack.client.adminOk('PUT', `/v1/admin/channels/${CHANNEL}`, {
      type: 'sandbox',
      enabled: true,
      // The provider's own price: its statements' fees are judged at the account's terms.
      routing: { feeRateBps: SANDBOX_FEE_RATE_BASIS_POINTS },
    });
    await sleep(2_000); // every process reloads its channel accounts

    log(`writing ${orders} paid and delivered orders of ${DATE}, their provider payments, ledger entries and the game's grant log`);
    const t0 = performance.now();
    const data = { gameId: game.gameId, sku: game.sku, channel: CHANNEL, date: DATE, timeZone: DEFAULT_RECON_TIME_ZONE, orders, seed: 'recon', ledger: true };
    await writeDayOfOrders(stack.db, data);
    const expected = await plant(stack, data);
    await stack.db.query('ANALYZE');
    log(`books written in ${round((performance.now() - t0) / 1000)} s; ${expected.day.length} differences planted`);

    const samplers = {
      worker: new RssSampler(() => stack.worker.pid, 100),
      api: new RssSampler(() => stack.api.pid, 100),
    };
    const pgPeak = { mib: 0 };
    const pgTimer = setInterval(() => {
      void postgresBackendPids(stack).then((pids) => {
        for (const pid of pids) pgPeak.mib = Math.max(pgPeak.mib, processUsage(pid)?.rssMiB ?? 0);
      });
    }, 200);
    const day = await reconcile(stack, DATE);
    const peak = { worker: samplers.worker.stop(), api: samplers.api.stop(), postgresBackend: pgPeak.mib };
    clearInterval(pgTimer);
    const steps = await stepSeconds(stack, day.id);
    log(`${DATE}: ${day.seconds} s (${Object.entries(steps).map(([k, v]) => `${k} ${v} s`).join(', ')}); worker peak ${round(peak.worker)} MiB`);
    const dayCheck = compare(expected.day, await differencesOf(stack, day.id));

    const next = await reconcile(stack, NEXT);
    const nextCheck = compare(expected.nextDay, await differencesOf(stack, next.id));
    const settled = compare(expected.daySettled, await differencesOf(stack, day.id));
    await waitForRepairs(stack, expected.repairedOrders);
    const violations = await ledgerViolations(database.sql, { deliveryDeadlineMs: 24 * 3_600_000, gameId: game.gameId });

    const result = {
      kind: 'recon',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { orders, statementLines: day.summary.statementRows, planted: expected.day.length, statementDay: DATE },
      day: { seconds: day.seconds, linesPerSecond: Math.round(day.summary.statementRows / day.seconds), steps, summary: day.summary },
      nextDay: { seconds: next.seconds, summary: next.summary },
      check: { day: dayCheck, nextDay: nextCheck, dayAfterNextDay: settled },
      ledgerViolations: violations,
      peakRssMiB: { worker: round(peak.worker), api: round(peak.api), postgresBackend: round(peak.postgresBackend) },
      targets: [
        target('the day reconciled in under 20 s', day.seconds < 20, `${day.seconds} s for ${day.summary.statementRows} lines`),
        target('under 1 GiB (worker)', peak.worker < 1024, `worker ${round(peak.worker)} MiB, API ${round(peak.api)} MiB, largest PostgreSQL backend ${round(peak.postgresBackend)} MiB`),
        target(
          'exactly the planted differences: 0 missed, 0 false',
          [dayCheck, nextCheck, settled].every((c) => c.missed.length === 0 && c.unexpected.length === 0),
          [dayCheck, nextCheck, settled].map((c) => `${c.found}/${c.expected} found, ${c.missed.length} missed, ${c.unexpected.length} false`).join('; '),
        ),
        target('ledger invariants hold', violations.length === 0, violations.length ? JSON.stringify(violations.slice(0, 3)) : 'none violated'),
      ],
    };
    finish('recon', result, markdown(result));
  } finally {
    await database.close();
    await stack.stop();
  }
}

interface Expected {
  day: string[];
  nextDay: string[];
  daySettled: string[];
  repairedOrders: string[];
}

/** Plants the differences (provider's adjustments, unpaid and closed orders, the grant log) and returns what must be found. */
async function plant(stack: Stack, data: Parameters<typeof writeDayOfOrders>[1]): Promise<Expected> {
  // Disjoint sets of orders per kind, spread over the day.
  const pick = (k: number) => Array.from({ length: PLANTED }, (_, i) => 1 + k + i * Math.floor(data.orders / PLANTED));
  const sets = { AMOUNT: pick(1), FEE: pick(2), DROP: pick(3), MOVE_TO_NEXT_DAY: pick(4), STATUS: pick(5), notGranted: pick(6) };
  const ids = async (ns: number[]) => Promise.all(ns.map((n) => orderOf(stack.db, data.seed, n)));
  const amountOf = (n: number) => 600 + 100 * (n % 50);
  for (const kind of ['AMOUNT', 'FEE', 'DROP', 'MOVE_TO_NEXT_DAY', 'STATUS'] as const) {
    const ns = sets[kind];
    await stack.db.query(
      `INSERT INTO sandbox_statement_adjustments (statement_date, kind, payment_id, amount, fee)
       SELECT $1::date, $2, 'sbx_' || $3 || '_' || n, CASE WHEN $2 = 'AMOUNT' THEN a - 1 END, CASE WHEN $2 = 'FEE' THEN f + 1 END
       FROM unnest($4::int[], $5::int[], $6::int[]) AS t(n, a, f)`,
      [data.date, kind, data.seed, ns, ns.map(amountOf), ns.map((n) => channelFee({ currency: 'CNY', value: amountOf(n) }, { feeRateBps: SANDBOX_FEE_RATE_BASIS_POINTS }))],
    );
  }
  const foreign = Array.from({ length: PLANTED }, (_, i) => `sbxtxn_foreign_${i}`);
  await stack.db.query(
    `INSERT INTO sandbox_statement_adjustments (statement_date, kind, trade_no, currency, amount, channel_id)
     SELECT $1::date, 'EXTRA', t, 'CNY', 777, $3 FROM unnest($2::text[]) t`,
    [data.date, foreign, data.channel],
  );
  // Closed orders the payer paid after all (the notification lost): the statement tells, the run repairs.
  await writeClosedOrders(stack.db, { ...data, orders: REPAIRABLE, seed: 'recon-closed', withPayments: true });
  const repairable = await Promise.all(Array.from({ length: REPAIRABLE }, (_, i) => orderOf(stack.db, 'recon-closed', i + 1)));
  for (const o of repairable) await stack.client.admin('POST', `/sandbox/statements/${data.date}/adjustments`, { kind: 'EXTRA', channelPaymentId: o.paymentId });
  // The game's log: every delivery but the not-granted ones, and grants for orders never paid.
  await writeGrantLog(stack.db, data, sets.notGranted);
  await writeClosedOrders(stack.db, { ...data, orders: PLANTED, seed: 'recon-unpaid', withPayments: false });
  await writeGrantsFor(stack.db, { gameId: data.gameId, date: data.date, seed: 'recon-unpaid', count: PLANTED });
  const unpaid = await Promise.all(Array.from({ length: PLANTED }, (_, i) => orderOf(stack.db, 'recon-unpaid', i + 1)));

  const expect = (shape: string, orders: { id: string }[]) => orders.map((o) => `${shape} ${o.id}`);
  const [amount, fee, dropped, moved, status, notGranted] = await Promise.all(
    [sets.AMOUNT, sets.FEE, sets.DROP, sets.MOVE_TO_NEXT_DAY, sets.STATUS, sets.notGranted].map(ids),
  );
  const day = [
    ...expect('AMOUNT_MISMATCH/AMOUNT_DIFFERS/OPEN', amount!),
    ...expect('FEE_MISMATCH/FEE_DIFFERS/OPEN', fee!),
    ...expect('CROSS_DAY/AWAITING_NEXT_DAY/HELD_CROSS_DAY', [...dropped!, ...moved!]),
    ...expect('STATUS_MISMATCH/ORDER_NOT_REFUNDED/OPEN', status!),
    ...foreign.map((t) => `MISSING_IN_PLATFORM/NO_ORDER/OPEN ${t}`),
    ...expect('MISSING_IN_PLATFORM/ORDER_UNPAID/AUTO_REPAIRED', repairable),
    ...expect('PAID_NOT_GRANTED/NO_GRANT/OPEN', notGranted!),
    ...expect('GRANTED_NOT_PAID/ORDER_NOT_DELIVERED/OPEN', unpaid),
  ].sort();
  const daySettled = day
    .filter((d) => !d.startsWith('CROSS_DAY/'))
    .concat(expect('CROSS_DAY/LISTED_ON_NEXT_DAY/AUTO_REPAIRED', moved!), expect('MISSING_IN_CHANNEL/NOT_LISTED/OPEN', dropped!))
    .sort();
  return { day, nextDay: [], daySettled, repairedOrders: repairable.map((o) => o.id) };
}

async function reconcile(stack: Stack, date: string) {
  const t0 = performance.now();
  const started = await stack.client.adminOk('POST', '/v1/finance/reconciliations', { channel: CHANNEL, from: date, to: date });
  const id: string = started.body.runs[0].id;
  for (;;) {
    const run = (await stack.client.admin('GET', `/v1/finance/reconciliations/${id}?limit=1`)).body;
    if (run.status === 'FAILED') throw new Error(`run ${id} failed: ${run.error}`);
    if (run.status === 'COMPLETED') return { id, seconds: round((performance.now() - t0) / 1000, 2), summary: run.summary };
    await sleep(100);
  }
}

/** Every difference of the run as `KIND/REASON/RESOLUTION order-or-trade`. */
async function differencesOf(stack: Stack, runId: string): Promise<string[]> {
  const found: string[] = [];
  for (let after = ''; ; ) {
    const page = (await stack.client.admin('GET', `/v1/finance/reconciliations/${runId}?limit=1000${after ? `&after=${after}` : ''}`)).body;
    for (const d of page.differences) found.push(`${d.kind}/${d.reason}/${d.resolution} ${d.orderId && d.reason !== 'NO_ORDER' ? d.orderId : d.channelTradeNo}`);
    if (!page.page.nextAfter) return found.sort();
    after = page.page.nextAfter;
  }
}

function compare(expected: string[], found: string[]) {
  const want = new Set(expected);
  const got = new Set(found);
  return {
    expected: expected.length,
    found: found.length,
    missed: expected.filter((e) => !got.has(e)).slice(0, 20),
    unexpected: found.filter((f) => !want.has(f)).slice(0, 20),
  };
}

/** Seconds each activity of the run's workflow took, from its history. */
async function stepSeconds(stack: Stack, runId: string): Promise<Record<string, number>> {
  const { history } = await stack.connection!.workflowService.getWorkflowExecutionHistory({
    namespace: 'default',
    execution: { workflowId: RECONCILIATION.runWorkflowId(runId) },
  });
  const events = history?.events ?? [];
  const at = (e: proto.api.history.v1.IHistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const steps: Record<string, number> = {};
  for (const scheduled of events.filter((e) => e.activityTaskScheduledEventAttributes)) {
    const name = scheduled.activityTaskScheduledEventAttributes!.activityType!.name!;
    const done = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId));
    if (done) steps[name] = round((at(done) - at(scheduled)) / 1000, 2);
  }
  return steps;
}

/** The repaired orders end refunded (they were closed): their late-payment workflows ran. */
async function waitForRepairs(stack: Stack, orderIds: string[]) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { rows } = await stack.db.query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE id = ANY($1::uuid[]) AND status = 'REFUNDED'`, [orderIds]);
    if (Number(rows[0]!.n) === orderIds.length) return;
    await sleep(500);
  }
  throw new Error('the repaired orders did not all end refunded within a minute');
}

function markdown(r: any): string {
  const steps = Object.entries(r.day.steps).map(([k, v]) => `${k} ${v} s`).join(', ');
  return `${[
    `### Reconciliation of ${r.settings.statementLines.toLocaleString('en')} statement lines — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    '',
    '| Measure | Value |',
    '| --- | --- |',
    `| Books | ${r.settings.orders.toLocaleString('en')} paid and delivered orders of ${r.settings.statementDay}, their provider payments and ledger entries, the game's grant log; ${r.settings.planted} planted differences |`,
    `| The day, from the API request to the run COMPLETED | **${r.day.seconds} s** (${r.day.linesPerSecond.toLocaleString('en')} lines/s) |`,
    `| Steps (activities) | ${steps} |`,
    `| Summary | ${r.day.summary.statementRows} lines, ${r.day.summary.platformRows} ours, ${r.day.summary.matched} matched; ${Object.entries(r.day.summary.differences).map(([k, v]) => `${k} ${v}`).join(', ')} |`,
    `| The next day (settles the held cross-day differences) | ${r.nextDay.seconds} s |`,
    `| Peak RSS during the day's run, MiB | worker ${r.peakRssMiB.worker}, API (statement producer) ${r.peakRssMiB.api}, largest PostgreSQL backend ${r.peakRssMiB.postgresBackend} |`,
    '',
    targetsTable(r.targets),
  ].join('\n')}\n`;
}
