import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { runPool, type Answer, type GameCredentials } from '../testkit/api-client';
import { BENCH_RETRY, args, baseEnv, log } from './lib/args';
import { Stack } from './lib/launcher';
import { describeMachine, summarize } from './lib/measure';
import { waitForGrants } from './lib/purchases';
import { answersLine, finish, machineLine, ms, target, targetsTable } from './lib/report';
import { postgresVersion, round } from './lib/system';

/** The stock's figures as the books hold them: units left, and the reservations' units per status. */
async function stockFigures(stack: Stack, sku: string) {
  const { rows: items } = await stack.db.query<{ stock_available: number }>('SELECT stock_available FROM items WHERE sku = $1', [sku]);
  const { rows } = await stack.db.query<{ status: string; units: string }>(
    'SELECT status, sum(quantity) AS units FROM stock_reservations WHERE sku = $1 GROUP BY status ORDER BY status',
    [sku],
  );
  const { rows: statuses } = await stack.db.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM orders WHERE sku = $1 GROUP BY status ORDER BY status', [sku]);
  return {
    available: items[0]!.stock_available,
    reservations: Object.fromEntries(rows.map((r) => [r.status, Number(r.units)])),
    orders: Object.fromEntries(statuses.map((r) => [r.status, Number(r.n)])),
  };
}

/** One attempt as a game server makes it: retried with the same key through 5xx and network errors. */
async function attempt(stack: Stack, game: GameCredentials, body: Record<string, unknown>, retried: Record<string, number>): Promise<Answer> {
  const key = randomUUID();
  const deadline = Date.now() + BENCH_RETRY.deadlineMs;
  for (;;) {
    const answer = await stack.client.createOrder(game, body, key).catch(() => undefined);
    // A 502 is final: the order was closed and keeps that answer.
    if (answer && (answer.status < 500 || answer.status === 502)) return answer;
    const why = answer ? `${answer.status} ${answer.body?.error?.code ?? ''}`.trim() : 'network error';
    retried[why] = (retried[why] ?? 0) + 1;
    if (Date.now() >= deadline) throw new Error(`create order: still failing after ${BENCH_RETRY.deadlineMs} ms (${answer?.status ?? 'network error'})`);
    await sleep(BENCH_RETRY.delayMs);
  }
}

/**
 * `npm run bench -- --mode oversell`: many concurrent attempts on few units of one item, each by
 * another player. Exactly `units` are created; then half of them are paid and the rest cancelled, and
 * the stock and its reservations must come out exact at each point.
 */
export async function oversellMode() {
  const attempts = Number(args['oversell-attempts']);
  const units = Number(args['oversell-units']);
  const inFlight = args['oversell-concurrency'] ? Number(args['oversell-concurrency']) : attempts;
  const cli = await resolveTemporalCli((m) => log(m));
  const machine = describeMachine({ temporalCli: cli });
  const stack = await Stack.start({
    name: 'bench-oversell',
    databaseUrl: args['database-url']!,
    temporalAddress: args['temporal-address'],
    temporalDbFile: args['temporal-db-file'],
    env: { ...baseEnv(), RATE_LIMIT_IP_PER_SECOND: '1000000', RATE_LIMIT_GAME_PER_SECOND: '1000000', PAYMENT_TIMEOUT_MS: String(3_600_000) },
    log,
  });
  try {
    machine.postgres = await postgresVersion(stack);
    const game = await stack.client.registerGameWithItem((id) => stack.gameServer.deliveryUrl(id), { prefix: 'bench-oversell', item: { stock: units } });
    stack.gameServer.setSecret(game.gameId, game.secret);

    log(`${attempts} attempts on ${units} units, ${inFlight} at once`);
    const answers: Answer[] = [];
    const retried: Record<string, number> = {};
    const createMs: number[] = [];
    const started = performance.now();
    await runPool(attempts, inFlight, async (i) => {
      const t0 = performance.now();
      answers.push(await attempt(stack, game, { userId: `player-${i}`, sku: game.sku, region: 'CN' }, retried));
      createMs.push(performance.now() - t0);
    });
    const seconds = (performance.now() - started) / 1000;
    const byAnswer: Record<string, number> = {};
    for (const a of answers) {
      const key = a.status === 201 ? '201 created' : `${a.status} ${a.body?.error?.code ?? ''}`.trim();
      byAnswer[key] = (byAnswer[key] ?? 0) + 1;
    }
    const created = answers.filter((a) => a.status === 201).map((a) => a.body as { orderId: string; payment: { channelPaymentId: string } });
    const afterCreate = await stockFigures(stack, game.sku);
    log(`created ${created.length}: ${JSON.stringify(afterCreate)}`);

    // Half paid (delivered: sold), the rest cancelled (given back).
    const paid = created.slice(0, Math.floor(created.length / 2));
    const cancelled = created.slice(paid.length);
    await runPool(paid.length, 50, (i) => stack.client.payWithRetry(paid[i]!.payment.channelPaymentId, {}, BENCH_RETRY));
    await runPool(cancelled.length, 50, async (i) => {
      const answer = await stack.client.signed(game, 'POST', `/v1/orders/${cancelled[i]!.orderId}/cancel`);
      if (answer.status !== 200) throw new Error(`cancel: ${answer.status} ${JSON.stringify(answer.body)}`);
    });
    const delivered = await waitForGrants(stack, paid.map((o) => o.orderId));
    const settledBy = Date.now() + 60_000;
    let settled = await stockFigures(stack, game.sku);
    while (Date.now() < settledBy && (settled.reservations.RESERVED ?? 0) > 0) {
      await sleep(500);
      settled = await stockFigures(stack, game.sku);
    }

    const exactAtCreate =
      created.length === units &&
      afterCreate.available === 0 &&
      afterCreate.reservations.RESERVED === units &&
      Object.keys(afterCreate.reservations).length === 1;
    const expectedSettled = { available: units - paid.length, reservations: { COMMITTED: paid.length, RELEASED: cancelled.length } };
    const exactSettled =
      settled.available === expectedSettled.available &&
      settled.reservations.COMMITTED === paid.length &&
      settled.reservations.RELEASED === cancelled.length &&
      (settled.reservations.RESERVED ?? 0) === 0;
    const result = {
      kind: 'oversell',
      date: new Date().toISOString(),
      machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)) },
      settings: { attempts, units, concurrency: inFlight },
      seconds: round(seconds, 1),
      attemptsPerSecond: round(attempts / seconds, 1),
      createOrderMs: summarize(createMs),
      answers: byAnswer,
      afterCreate,
      settled: { ...settled, paid: paid.length, delivered, cancelled: cancelled.length, expected: expectedSettled },
      retried: { ...retried, ...stack.client.answers.toJSON() },
      targets: [
        target(`exactly ${units} of ${attempts} created, the rest OUT_OF_STOCK`, created.length === units && byAnswer['409 OUT_OF_STOCK'] === attempts - units, answersLine(byAnswer)),
        target('stock and reservations exact after the attempts', exactAtCreate, `available ${afterCreate.available}, reserved ${afterCreate.reservations.RESERVED ?? 0}`),
        target(
          `exact after ${paid.length} paid and ${cancelled.length} cancelled`,
          exactSettled && delivered === paid.length,
          `available ${settled.available}, committed ${settled.reservations.COMMITTED ?? 0}, released ${settled.reservations.RELEASED ?? 0}, reserved ${settled.reservations.RESERVED ?? 0}; ${delivered} delivered`,
        ),
      ],
    };
    finish('oversell', result, oversellMarkdown(result));
  } finally {
    await stack.stop();
  }
}

function oversellMarkdown(r: any): string {
  return `${[
    `### Oversell, ${r.settings.attempts} attempts (${r.settings.concurrency} at once) on ${r.settings.units} units — ${r.date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machineLine(r.machine)}.`,
    '',
    '| Measure | Value |',
    '| --- | --- |',
    `| ${r.settings.attempts} attempts, ${r.settings.concurrency} at once, each by another player | ${r.seconds} s (${r.attemptsPerSecond} attempts/s); create ${ms(r.createOrderMs)} ms |`,
    `| Answers | ${answersLine(r.answers)} |`,
    `| After the attempts | available ${r.afterCreate.available}; reservations ${answersLine(r.afterCreate.reservations)}; orders ${answersLine(r.afterCreate.orders)} |`,
    `| After ${r.settled.paid} paid, ${r.settled.cancelled} cancelled | available ${r.settled.available}; reservations ${answersLine(r.settled.reservations)}; orders ${answersLine(r.settled.orders)} |`,
    `| Retried answers (5xx, network) | ${answersLine(r.retried)} |`,
    '',
    targetsTable(r.targets),
  ].join('\n')}\n`;
}
