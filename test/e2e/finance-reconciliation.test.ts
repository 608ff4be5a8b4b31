import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { dayOf } from '../../domain/reconciliation/days';
import { ledgerViolations, orderEntries, trialBalance } from '../../store/journal';
import { Harness, sleep, type TestGame } from '../support/harness';
import { SANDBOX_FEE_RATE_BASIS_POINTS } from '../../sandbox/statements';

/** A sandbox account at the provider's own price: its statements' fees are judged at these terms. */
const SANDBOX_PRICED = { type: 'sandbox', enabled: true, routing: { feeRateBps: SANDBOX_FEE_RATE_BASIS_POINTS } };

let h: Harness;
let game: TestGame;
let sku: string;
/** A sandbox account of this file's own: its statement lists only this file's payments. */
const channel = `recon-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  ({ h, game, sku } = await Harness.startWithGame());
  expect((await h.admin('PUT', `/v1/admin/channels/${channel}`, SANDBOX_PRICED)).status).toBe(200);
  // The worker learns of the account from the database's change feed.
  await sleep(1_500);
});
afterAll(() => h?.close());

const today = () => dayOf(new Date(), h.config.RECON_TIME_ZONE);

async function placeOrder() {
  const res = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN', channel });
  expect(res.status).toBe(201);
  return res.body as { orderId: string; payment: { channelPaymentId: string } };
}

async function paidOrder() {
  const order = await placeOrder();
  expect((await h.pay(order.payment.channelPaymentId)).status).toBe(202);
  await h.waitForStatus(order.orderId, 'DELIVERED');
  return order;
}

async function plant(date: string, body: Record<string, unknown>) {
  const res = await h.admin('POST', `/sandbox/statements/${date}/adjustments`, body);
  expect(res.status).toBe(201);
  return res.body as { channelTradeNo?: string };
}

async function reconcile(from: string, to = from) {
  const started = await h.admin('POST', '/v1/finance/reconciliations', { channel, from, to });
  expect(started.status).toBe(202);
  const runs = started.body.runs as { id: string; date: string; status: string }[];
  for (const run of runs) await waitForRun(run.id);
  return Promise.all(runs.map(async (r) => (await h.admin('GET', `/v1/finance/reconciliations/${r.id}?limit=1000`)).body));
}

async function waitForRun(id: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = (await h.admin('GET', `/v1/finance/reconciliations/${id}`)).body;
    if (run.status !== 'RUNNING') {
      expect(run).toMatchObject({ status: 'COMPLETED' });
      return run;
    }
    if (Date.now() > deadline) throw new Error(`run ${id} still running: ${JSON.stringify(run.progress)}`);
    await sleep(200);
  }
}

const shape = (d: { kind: string; reason: string; resolution: string; orderId?: string; channelTradeNo?: string }) =>
  `${d.kind}/${d.reason}/${d.resolution}`;

describe('daily reconciliation of a sandbox statement', () => {
  it('finds every planted difference, repairs an unpaid order the channel took money for, and books fees', async () => {
    const clean = await paidOrder();
    const amount = await paidOrder();
    const fee = await paidOrder();
    const unpaid = await placeOrder();
    const date = today();
    const payments = await h.db.sandboxPayment.findMany({
      where: { id: { in: [clean, amount, fee, unpaid].map((o) => o.payment.channelPaymentId) } },
    });
    const trade = (o: { payment: { channelPaymentId: string } }) => payments.find((p) => p.id === o.payment.channelPaymentId)!.txnId;

    await plant(date, { kind: 'AMOUNT', channelPaymentId: amount.payment.channelPaymentId, amount: 500 });
    await plant(date, { kind: 'FEE', channelPaymentId: fee.payment.channelPaymentId, fee: 9 });
    const foreign = await plant(date, { kind: 'EXTRA', amount: 777, currency: 'CNY', channelId: channel });
    await plant(date, { kind: 'EXTRA', channelPaymentId: unpaid.payment.channelPaymentId });

    const [run] = await reconcile(date);
    expect(run).toMatchObject({ channel, date, status: 'COMPLETED', superseded: false, trigger: 'API' });
    expect(run.summary).toMatchObject({ statementRows: 5, platformRows: 3, matched: 3 });
    const found = run.differences.map((d: Parameters<typeof shape>[0]) => [shape(d), d.orderId ?? d.channelTradeNo]);
    expect(found.sort()).toEqual(
      [
        ['AMOUNT_MISMATCH/AMOUNT_DIFFERS/OPEN', amount.orderId],
        ['FEE_MISMATCH/FEE_DIFFERS/OPEN', fee.orderId],
        ['MISSING_IN_PLATFORM/NO_ORDER/OPEN', expect.any(String)],
        ['MISSING_IN_PLATFORM/ORDER_UNPAID/AUTO_REPAIRED', unpaid.orderId],
      ].sort(),
    );
    const byKind = Object.fromEntries(run.differences.map((d: { kind: string; reason: string }) => [`${d.kind}/${d.reason}`, d]));
    expect(byKind['AMOUNT_MISMATCH/AMOUNT_DIFFERS']).toMatchObject({ ours: { currency: 'CNY', value: 600 }, theirs: { value: 500 } });
    expect(byKind['FEE_MISMATCH/FEE_DIFFERS']).toMatchObject({ ours: { value: 4 }, theirs: { value: 9 } });
    expect(byKind['MISSING_IN_PLATFORM/NO_ORDER']).toMatchObject({ channelTradeNo: foreign.channelTradeNo, theirs: { value: 777 } });
    expect(trade(clean)).toBeTruthy();

    // The repair told the unpaid order's workflow, as a late notification: it ends delivered.
    await h.waitForStatus(unpaid.orderId, 'DELIVERED');
    expect(h.gameServer.grantsFor(unpaid.orderId)).toHaveLength(1);

    // The ledger: fees as the statement states them, the foreign money in suspense, everything balanced.
    const balance = await trialBalance(h.sql, { currency: 'CNY' });
    const of = (account: string) => Number(balance.find((b) => b.account === account)?.balance ?? 0);
    // 0.60% of every line, rounded half up: 600 (4), 500 as planted (3), the planted fee (9), 600 (4), 777 (5).
    expect(of(`channel_fees:${channel}`)).toBe(4 + 3 + 9 + 4 + 5);
    expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);
    expect((await orderEntries(h.sql, unpaid.orderId)).map((e) => e.kind)).toEqual(['PAYMENT_CAPTURED', 'GOODS_DELIVERED']);

    // A rerun of the day supersedes the first and books nothing twice; the repaired order now matches.
    const feesBefore = of(`channel_fees:${channel}`);
    const [rerun] = await reconcile(date);
    expect(rerun.summary).toMatchObject({ statementRows: 5, platformRows: 4, matched: 4 });
    expect(rerun.differences.map(shape).sort()).toEqual(
      ['AMOUNT_MISMATCH/AMOUNT_DIFFERS/OPEN', 'FEE_MISMATCH/FEE_DIFFERS/OPEN', 'MISSING_IN_PLATFORM/NO_ORDER/OPEN'].sort(),
    );
    const first = (await h.admin('GET', `/v1/finance/reconciliations/${run.id}`)).body;
    expect(first).toMatchObject({ superseded: true, supersededBy: rerun.id });
    const after = await trialBalance(h.sql, { currency: 'CNY' });
    expect(Number(after.find((b) => b.account === `channel_fees:${channel}`)?.balance)).toBe(feesBefore);
    expect(Number(after.find((b) => b.account === 'suspense')?.balance)).toBe(of('suspense'));
  });

  it('is run by finance from the command line: a bar per day, the summary, exit 3 while differences are open', async () => {
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', path.join('scripts', 'recon.ts'), ...args], {
        cwd: path.join(__dirname, '..', '..'),
        env: { ...process.env, ADMIN_TOKEN: h.config.ADMIN_TOKEN },
      }).then(
        (out) => ({ code: 0, ...out }),
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
    const withOpen = await cli(['--channel', channel, '--from', today(), '--api', h.api.url, '--poll-ms', '100']);
    expect(withOpen.code).toBe(3);
    expect(withOpen.stdout).toMatch(/date\s+status\s+statement\s+ours\s+matched\s+open/);
    expect(withOpen.stdout).toContain(`${today()}  COMPLETED`);

    const quiet = `recon-${randomUUID().slice(0, 8)}`;
    expect((await h.admin('PUT', `/v1/admin/channels/${quiet}`, { type: 'sandbox', enabled: true })).status).toBe(200);
    await sleep(1_500);
    expect((await cli(['--channel', quiet, '--from', today(), '--api', h.api.url, '--poll-ms', '100'])).code).toBe(0);
    const refused = await cli(['--channel', 'no-such-channel', '--from', today(), '--api', h.api.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('CHANNEL_NOT_FOUND');
  });
});
