import { randomUUID } from 'node:crypto';
import { deliveryIdFor, refundIdFor } from '../../domain/ids';
import { trialBalance } from '../../store/journal';
import { sql } from '../../store/sql';
import { Harness, sleep, type TestGame } from '../support/harness';
import { SANDBOX_FEE_RATE_BASIS_POINTS } from '../../sandbox/statements';

/** A sandbox account at the provider's own price: its statements' fees are judged at these terms. */
const SANDBOX_PRICED = { type: 'sandbox', enabled: true, routing: { feeRateBps: SANDBOX_FEE_RATE_BASIS_POINTS } };

/**
 * Reconciliation on fixtures: two statement days of a sandbox account of this file's own, built from
 * orders and provider payments written straight into the books (days long past, so nothing else
 * lands on them), with one planted difference of every kind — each found exactly, nothing else.
 */
let h: Harness;
let game: TestGame;
let sku: string;
const channel = `fixture-${randomUUID().slice(0, 8)}`;
const D1 = '2020-03-10';
const D2 = '2020-03-11';
/** Asia/Shanghai (the default reconciliation zone) is UTC+8 all year. */
const local = (date: string, time: string) => `${date}T${time}+08:00`;

interface Fixture {
  orderId: string;
  paymentId: string;
  tradeNo: string;
}
const orders: Record<string, Fixture> = {};

beforeAll(async () => {
  // This file's account carries the grants that name no order of ours (no other account's run reports them).
  ({ h, game, sku } = await Harness.startWithGame({ RECON_ORPHAN_GRANTS_ACCOUNT: channel }));
  expect(h.config.RECON_TIME_ZONE).toBe('Asia/Shanghai');
  expect((await h.admin('PUT', `/v1/admin/channels/${channel}`, SANDBOX_PRICED)).status).toBe(200);
  await sleep(1_500); // the worker reloads its channel accounts

  const paidOn = (date: string, time = '10:00:00') => local(date, time);
  await order('clean', { paidAt: paidOn(D1), status: 'DELIVERED' });
  await order('amount', { paidAt: paidOn(D1), status: 'DELIVERED' });
  await order('fee', { paidAt: paidOn(D1), status: 'DELIVERED' });
  await order('movedToNextDay', { paidAt: paidOn(D1, '23:59:30'), status: 'DELIVERED' });
  await order('dropped', { paidAt: paidOn(D1), status: 'DELIVERED' });
  await order('status', { paidAt: paidOn(D1), status: 'DELIVERED' });
  await order('refunded', { paidAt: paidOn(D1), status: 'REFUNDED', refundedAt: paidOn(D1, '12:00:00') });
  await order('closedUnpaid', { status: 'CLOSED' });
  await order('notGranted', { paidAt: paidOn(D1), status: 'DELIVERED', granted: false });
  await order('grantedUnpaid', { status: 'CLOSED' });
  // The channel's day ended a few seconds later than ours: listed on D1, ours on D2.
  await order('channelCutLater', { paidAt: paidOn(D2, '00:00:05'), channelPaidAt: paidOn(D1, '23:59:58'), status: 'DELIVERED' });

  const adjust = async (date: string, body: Record<string, unknown>) => {
    const res = await h.admin('POST', `/sandbox/statements/${date}/adjustments`, body);
    expect(res.status).toBe(201);
    return res.body;
  };
  await adjust(D1, { kind: 'AMOUNT', channelPaymentId: orders.amount!.paymentId, amount: 500 });
  await adjust(D1, { kind: 'FEE', channelPaymentId: orders.fee!.paymentId, fee: 9 });
  await adjust(D1, { kind: 'MOVE_TO_NEXT_DAY', channelPaymentId: orders.movedToNextDay!.paymentId });
  await adjust(D1, { kind: 'DROP', channelPaymentId: orders.dropped!.paymentId });
  await adjust(D1, { kind: 'STATUS', channelPaymentId: orders.status!.paymentId });
  await adjust(D1, { kind: 'EXTRA', channelPaymentId: orders.closedUnpaid!.paymentId });
  orders.foreign = { orderId: '', paymentId: '', tradeNo: (await adjust(D1, { kind: 'EXTRA', amount: 777, currency: 'CNY', channelId: channel })).channelTradeNo };

  // The game's own log of D1: every delivery but one, and a grant for an order that was never paid.
  const granted = Object.entries(orders).filter(([name]) => !['notGranted', 'foreign', 'closedUnpaid', 'refunded', 'channelCutLater'].includes(name));
  const grants = granted.map(([name, o]) => ({
    deliveryId: deliveryIdFor(o.orderId),
    orderId: o.orderId,
    grantedAt: local(D1, name === 'grantedUnpaid' ? '11:00:00' : '10:00:05').replace('+08:00', 'Z'),
  }));
  const logged = await h.signed(game, 'POST', '/v1/games/grant-logs', { date: D1, grants });
  expect(logged.status).toBe(200);
  expect(logged.body).toEqual({ date: D1, received: grants.length, recorded: grants.length });
  // Sent again: nothing new.
  expect((await h.signed(game, 'POST', '/v1/games/grant-logs', { date: D1, grants })).body.recorded).toBe(0);
});
afterAll(() => h?.close());

/** An order of this file's channel, with its payment at the provider (paid when `paidAt` is given). */
async function order(
  name: string,
  o: { status: string; paidAt?: string; channelPaidAt?: string; refundedAt?: string; granted?: boolean },
): Promise<void> {
  const orderId = randomUUID();
  const paymentId = `sbx_fixture_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const tradeNo = `sbxtxn_fixture_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const paid = o.paidAt !== undefined;
  await h.database.transaction(async (run) => {
    await run(sql`
      INSERT INTO orders (id, game_id, user_id, sku, quantity, grants, region, currency, amount, channel, status, idempotency_key,
        request_hash, channel_payment_id, channel_txn_id, paid_amount, paid_currency, expires_at, paid_at, delivered_at, refunded_at,
        created_at, updated_at)
      VALUES (${orderId}::uuid, ${game.gameId}, 'fixture-player', ${sku}, 1, '[]'::jsonb, 'CN', 'CNY', 600, ${channel}, ${o.status},
        ${`fixture-${orderId}`}, 'fixture', ${paymentId}, ${paid ? tradeNo : null}, ${paid ? 600 : null}::int, ${paid ? 'CNY' : null},
        (${o.paidAt ?? local(D1, '09:00:00')}::timestamptz AT TIME ZONE 'UTC'),
        (${o.paidAt ?? null}::timestamptz AT TIME ZONE 'UTC'),
        (${o.status === 'DELIVERED' ? (o.paidAt ?? null) : null}::timestamptz AT TIME ZONE 'UTC'),
        (${o.refundedAt ?? null}::timestamptz AT TIME ZONE 'UTC'),
        (${local(D1, '09:00:00')}::timestamptz AT TIME ZONE 'UTC'), now() AT TIME ZONE 'UTC')`);
    if (o.status === 'DELIVERED') {
      await run(sql`INSERT INTO deliveries (id, order_id, status, attempts, delivered_at, updated_at)
        VALUES (${deliveryIdFor(orderId)}, ${orderId}::uuid, 'DELIVERED', 1, (${o.paidAt!}::timestamptz AT TIME ZONE 'UTC'), now() AT TIME ZONE 'UTC')`);
    }
    await run(sql`
      INSERT INTO sandbox_payments (id, merchant_order_id, amount, currency, subject, notify_url, status, txn_id, paid_amount, paid_at, created_at, updated_at)
      VALUES (${paymentId}, ${orderId}, 600, 'CNY', 'Gems', ${`http://127.0.0.1:9/v1/callbacks/${channel}`},
        ${o.status === 'REFUNDED' ? 'REFUNDED' : paid ? 'PAID' : 'CLOSED'}, ${paid ? tradeNo : null}, ${paid ? 600 : null}::int,
        (${o.channelPaidAt ?? o.paidAt ?? null}::timestamptz AT TIME ZONE 'UTC'), now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')`);
    if (o.refundedAt) {
      await run(sql`INSERT INTO refunds (id, order_id, channel, amount, currency, reason, status, channel_refund_id, created_at, updated_at)
        VALUES (${refundIdFor(orderId)}, ${orderId}::uuid, ${channel}, 600, 'CNY', 'DELIVERY_FAILED', 'SUCCEEDED',
          ${`sbxrf_${refundIdFor(orderId)}`}, (${o.refundedAt}::timestamptz AT TIME ZONE 'UTC'), (${o.refundedAt}::timestamptz AT TIME ZONE 'UTC'))`);
      await run(sql`INSERT INTO sandbox_refunds (id, payment_id, amount, currency, created_at)
        VALUES (${`sbxrf_${refundIdFor(orderId)}`}, ${paymentId}, 600, 'CNY', (${o.refundedAt}::timestamptz AT TIME ZONE 'UTC'))`);
    }
  });
  orders[name] = { orderId, paymentId, tradeNo };
}

async function reconcile(from: string, to = from) {
  const started = await h.admin('POST', '/v1/finance/reconciliations', { channel, from, to });
  expect(started.status).toBe(202);
  const runs = started.body.runs as { id: string }[];
  const done = [];
  for (const { id } of runs) done.push(await finished(id));
  return done;
}

/** A run once it is no longer RUNNING, with its differences. */
async function finished(id: string) {
  for (let run = (await h.admin('GET', `/v1/finance/reconciliations/${id}`)).body; ; run = (await h.admin('GET', `/v1/finance/reconciliations/${id}`)).body) {
    if (run.status !== 'RUNNING') break;
    await sleep(200);
  }
  return (await h.admin('GET', `/v1/finance/reconciliations/${id}?limit=1000`)).body;
}

type Difference = { kind: string; reason: string; resolution: string; orderId?: string; channelTradeNo?: string; side: string };
/** Differences as `KIND/REASON/RESOLUTION name`, the fixture's names for their orders. */
function named(differences: Difference[]): string[] {
  const nameOf = (d: Difference) =>
    Object.entries(orders).find(([, o]) => (d.orderId && o.orderId === d.orderId) || (!d.orderId && o.tradeNo === d.channelTradeNo))?.[0] ??
    (Object.values(orders).some((o) => o.tradeNo === d.channelTradeNo) ? 'foreign' : `? ${d.orderId ?? d.channelTradeNo}`);
  return differences.map((d) => `${d.kind}/${d.reason}/${d.resolution} ${nameOf(d)}`).sort();
}

describe('reconciliation on fixtures', () => {
  it('finds exactly the planted differences of every kind, holds cross-day ones, and settles them with the next day', async () => {
    const [day1] = await reconcile(D1);
    expect(day1).toMatchObject({ status: 'COMPLETED', date: D1 });
    expect(named(day1.differences)).toEqual(
      [
        'AMOUNT_MISMATCH/AMOUNT_DIFFERS/OPEN amount',
        'FEE_MISMATCH/FEE_DIFFERS/OPEN fee',
        'CROSS_DAY/AWAITING_NEXT_DAY/HELD_CROSS_DAY movedToNextDay',
        'CROSS_DAY/AWAITING_NEXT_DAY/HELD_CROSS_DAY dropped',
        'STATUS_MISMATCH/ORDER_NOT_REFUNDED/OPEN status',
        'MISSING_IN_PLATFORM/NO_ORDER/OPEN foreign',
        'MISSING_IN_PLATFORM/ORDER_UNPAID/AUTO_REPAIRED closedUnpaid',
        'PAID_NOT_GRANTED/NO_GRANT/OPEN notGranted',
        'GRANTED_NOT_PAID/ORDER_NOT_DELIVERED/OPEN grantedUnpaid',
      ].sort(),
    );
    // Lines: 7 payments (moved and dropped are not listed), the unpaid order's and the foreign one, 2 refunds.
    // Ours: 8 payments and a refund of D1; paired: 6 payments of D1, channelCutLater (ours of D2), the refund.
    expect(day1.summary).toMatchObject({ statementRows: 11, platformRows: 9, matched: 8 });

    // The closed order the channel took money for is refunded by its late-payment workflow.
    await h.waitForStatus(orders.closedUnpaid!.orderId, 'REFUNDED');

    const [day2] = await reconcile(D2);
    expect(named(day2.differences)).toEqual(['CROSS_DAY/LISTED_ON_PREVIOUS_DAY/AUTO_REPAIRED channelCutLater']);
    const rechecked = (await h.admin('GET', `/v1/finance/reconciliations/${day1.id}?kind=CROSS_DAY`)).body;
    expect(named(rechecked.differences)).toEqual(['CROSS_DAY/LISTED_ON_NEXT_DAY/AUTO_REPAIRED movedToNextDay']);
    const missing = (await h.admin('GET', `/v1/finance/reconciliations/${day1.id}?kind=MISSING_IN_CHANNEL`)).body;
    expect(named(missing.differences)).toEqual(['MISSING_IN_CHANNEL/NOT_LISTED/OPEN dropped']);
    expect(missing.differences[0].recheckedBy).toBe(day2.id);
    expect(rechecked.summary.resolutions.HELD_CROSS_DAY ?? 0).toBe(0);
  });

  it('gives the same result when a day is reconciled again, and books nothing twice', async () => {
    const ledger = async () => (await trialBalance(h.sql, {})).filter((r) => r.account.endsWith(channel) || r.account === 'suspense');
    const before = await ledger();
    const [first] = await reconcile(D1);
    const [second] = await reconcile(D1);
    expect(named(second.differences)).toEqual(named(first.differences));
    expect(second.summary).toEqual(first.summary);
    // The next day is read now: nothing is held any more.
    expect(named(first.differences)).toEqual(
      [
        'AMOUNT_MISMATCH/AMOUNT_DIFFERS/OPEN amount',
        'FEE_MISMATCH/FEE_DIFFERS/OPEN fee',
        'CROSS_DAY/LISTED_ON_NEXT_DAY/AUTO_REPAIRED movedToNextDay',
        'MISSING_IN_CHANNEL/NOT_LISTED/OPEN dropped',
        'STATUS_MISMATCH/ORDER_NOT_REFUNDED/OPEN status',
        'MISSING_IN_PLATFORM/NO_ORDER/OPEN foreign',
        'PAID_NOT_GRANTED/NO_GRANT/OPEN notGranted',
        'GRANTED_NOT_PAID/ORDER_NOT_DELIVERED/OPEN grantedUnpaid',
      ].sort(),
    );
    expect(await ledger()).toEqual(before);
    const history = (await h.admin('GET', `/v1/finance/reconciliations?channel=${channel}&date=${D1}`)).body.runs;
    expect(history.map((r: { superseded: boolean }) => r.superseded)).toEqual([false, true, true]);
  });

  it("keeps grant logs per game: another game's entry under the same deliveryId neither shadows the game's own nor hides its missing grant", async () => {
    const other = await h.createGame('Other Game');
    const grantOf = (o: Fixture, date: string) => ({ deliveryId: deliveryIdFor(o.orderId), orderId: o.orderId, grantedAt: `${date}T02:00:05Z` });
    const post = async (g: TestGame, date: string, grants: ReturnType<typeof grantOf>[]) =>
      (await h.signed(g, 'POST', '/v1/games/grant-logs', { date, grants })).body.recorded;

    // The other game posts this game's deliveryId first: this game's own entry is still recorded.
    expect(await post(other, D2, [grantOf(orders.channelCutLater!, D2)])).toBe(1);
    expect(await post(game, D2, [grantOf(orders.channelCutLater!, D2)])).toBe(1);

    // The other game claims the delivery this game never granted: the grant is still missing, and the claim is the other game's.
    expect(await post(other, D1, [grantOf(orders.notGranted!, D1)])).toBe(1);
    const [day1] = await reconcile(D1);
    const notGranted = named(day1.differences).filter((d) => d.endsWith(' notGranted'));
    expect(notGranted).toEqual(['GRANTED_NOT_PAID/ORDER_OF_OTHER_GAME/OPEN notGranted', 'PAID_NOT_GRANTED/NO_GRANT/OPEN notGranted']);
  });

  it('reports a grant naming no order of ours in the run of the account RECON_ORPHAN_GRANTS_ACCOUNT names, and in no other run', async () => {
    const D3 = '2020-03-12';
    const orphanOrderId = randomUUID();
    const grant = { deliveryId: `dlv_orphan_${orphanOrderId}`, orderId: orphanOrderId, grantedAt: `${D3}T03:00:00Z` };
    expect((await h.signed(game, 'POST', '/v1/games/grant-logs', { date: D3, grants: [grant] })).body.recorded).toBe(1);
    const orphans = (run: { differences: Difference[] }) =>
      run.differences.filter((d) => d.orderId === orphanOrderId).map((d) => `${d.kind}/${d.reason}/${d.resolution}`);

    const [carrier] = await reconcile(D3);
    expect(orphans(carrier)).toEqual(['GRANTED_NOT_PAID/NO_ORDER/OPEN']);
    const other = await h.admin('POST', '/v1/finance/reconciliations', { channel: 'sandbox', from: D3, to: D3 });
    expect(other.status).toBe(202);
    const otherRun = await finished(other.body.runs[0].id);
    expect(otherRun.status).toBe('COMPLETED');
    expect(orphans(otherRun)).toEqual([]);
  });

  it('lets finance resolve an open difference once, with a note', async () => {
    const [run] = (await h.admin('GET', `/v1/finance/reconciliations?channel=${channel}&date=${D1}&limit=1`)).body.runs;
    const open = (await h.admin('GET', `/v1/finance/reconciliations/${run.id}?resolution=OPEN&kind=AMOUNT_MISMATCH`)).body.differences[0];
    const path = `/v1/finance/differences/${open.id}/resolve`;
    const withoutOperator = await h.admin('POST', path, { note: 'checked' });
    expect(withoutOperator.status).toBe(400);
    const operator = { 'X-Operator': 'finance@studio.example' };
    const resolved = await h.http.admin('POST', path, { note: 'channel corrected its statement, FIN-1' }, undefined, operator);
    expect(resolved.body).toMatchObject({ id: open.id, resolution: 'RESOLVED', resolvedBy: 'finance@studio.example' });
    expect((await h.http.admin('POST', path, { note: 'channel corrected its statement, FIN-1' }, undefined, operator)).status).toBe(200);
    const again = await h.http.admin('POST', path, { note: 'another note' }, undefined, operator);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('DIFFERENCE_NOT_OPEN');
    const summary = (await h.admin('GET', `/v1/finance/reconciliations/${run.id}`)).body.summary;
    expect(summary.resolutions.RESOLVED).toBe(1);
  });
});
