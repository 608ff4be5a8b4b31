import { createHash, randomUUID } from 'node:crypto';
import type { InboundCallback } from '../../channels/types';
import { deliveryIdFor } from '../../domain/ids';
import { StoreSweepClient } from '../../infra/store-sweeps';
import { ledgerViolations } from '../../store/journal';
import { listStoreSweeps } from '../../store/store-sweeps';
import { FakeAppStore } from '../../testkit/fakes/appstore';
import { FakeGooglePlay, VOIDED_REASON } from '../../testkit/fakes/googleplay';
import { ensureStoreSweepSchedules } from '../../worker';
import { Harness, workerMetricsUrl, type TestGame } from '../support/harness';

/**
 * The store completeness drill (issue 23), App Store: orders paid and delivered, then refunds and
 * revocations, a seeded 40% of Apple's notifications lost on the way and some sent twice. A sweep of
 * Apple's Notification History (fake speaking its wire format, keys made here) recovers every lost
 * one exactly once, through the same intake as the live callback; a second sweep recovers nothing.
 */

let h: Harness;
let game: TestGame;
let sku: string;
let googleSku: string;
let sweeps: StoreSweepClient;
const PRODUCT = 'com.studio.game.gems60';
const appstore = new FakeAppStore({ bundleId: 'com.studio.game', environment: 'Sandbox' });
const GOOGLE_PRODUCT = 'gems_60';
// Three voided purchases a page: the sweep reads several.
const googleplay = new FakeGooglePlay({ packageName: 'com.studio.game', voidedPageSize: 3 });

beforeAll(async () => {
  // Orders whose payment notification is lost wait for the sweep, not for their payment timeout.
  h = await Harness.start({ PAYMENT_TIMEOUT_MS: '600000', PAYMENT_QUERY_AFTER_MS: '600000' });
  await appstore.start();
  await googleplay.start();
  game = await h.createGame();
  const admin = { Authorization: `Bearer ${h.config.ADMIN_TOKEN}`, 'Content-Type': 'application/json', 'X-Operator': 'drill@studio.example' };
  const saved = await h.request('PUT', '/v1/admin/channels/appstore', JSON.stringify({ type: 'appstore', enabled: true, credentials: appstore.credentials() }), admin);
  expect(saved.status).toBe(200);
  const google = { type: 'googleplay', enabled: true, credentials: googleplay.credentials() };
  expect((await h.request('PUT', '/v1/admin/channels/googleplay', JSON.stringify(google), admin)).status).toBe(200);
  sku = await h.createItem(game, { storeProducts: { appstore: PRODUCT } });
  googleSku = await h.createItem(game, { storeProducts: { googleplay: GOOGLE_PRODUCT } });
  sweeps = new StoreSweepClient(h.client, h.config);
}, 300_000);

afterAll(async () => {
  await h?.close();
  await appstore.stop();
  await googleplay.stop();
});

const callbackUrl = () => `${h.api.url}/v1/callbacks/appstore`;

/** Apple's try: lost on the way (`lost`), delivered, or delivered twice. */
async function send(notification: InboundCallback, how: 'lost' | 'once' | 'twice') {
  if (how === 'lost') return appstore.lose(notification);
  expect(await appstore.deliver(notification, callbackUrl())).toBe(200);
  if (how === 'twice') expect(await appstore.deliver(notification, callbackUrl())).toBe(200);
}

/** A seeded 40% lost (two of every five), one of every five sent twice. */
const fate = (i: number): 'lost' | 'once' | 'twice' => (i % 5 === 1 || i % 5 === 3 ? 'lost' : i % 5 === 0 ? 'twice' : 'once');

async function untilOrderable(channel = 'appstore', item = sku) {
  for (const deadline = Date.now() + 10_000; ; ) {
    const res = await h.createOrder(game, { userId: 'probe', sku: item, region: 'CN', channel, platform: channel === 'appstore' ? 'ios' : 'android' });
    if (res.status === 201 || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('App Store: a sweep of Notification History recovers every lost notification once', () => {
  it('recovers lost payments, refunds and revocations, reports exactly them, and a second sweep recovers nothing', async () => {
    expect((await untilOrderable()).status).toBe(201);
    const orders: { orderId: string; transactionId: string }[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await h.createOrder(game, { userId: `drill-${randomUUID().slice(0, 8)}`, sku, region: 'CN', channel: 'appstore', platform: 'ios' });
      expect(res.status).toBe(201);
      const orderId = res.body.orderId as string;
      const paid = appstore.pay({ productId: PRODUCT, appAccountToken: orderId, priceMilliunits: 6000, currency: 'CNY' });
      orders.push({ orderId, transactionId: paid.transactionId });
      // The first two payments' ONE_TIME_CHARGE is lost: those orders wait, unpaid, for the sweep.
      await send(paid.notification, i < 2 ? 'lost' : 'once');
    }
    for (const { orderId } of orders.slice(2)) await h.waitForStatus(orderId, 'DELIVERED', 60_000);
    expect(await h.orderStatus(orders[0]!.orderId)).toBe('PENDING_PAYMENT');

    // Orders 2..9: refunds (2..6) and Family Sharing revocations (7..9), a seeded share lost.
    const lostKeys = [`appstore:${orders[0]!.transactionId}:paid`, `appstore:${orders[1]!.transactionId}:paid`];
    for (let i = 2; i < 10; i++) {
      const { transactionId } = orders[i]!;
      const refund = i < 7;
      await send(refund ? appstore.refund(transactionId) : appstore.revoke(transactionId), fate(i));
      if (fate(i) === 'lost') lostKeys.push(`appstore:${transactionId}:${refund ? 'refunded' : 'revoked'}`);
    }

    const first = await sweeps.run('appstore', 'FAILURES', `drill-failures-${randomUUID()}`);
    expect(first.status).toBe('COMPLETED');
    for (const { orderId } of orders.slice(0, 2)) await h.waitForStatus(orderId, 'DELIVERED', 60_000);
    for (let i = 2; i < 10; i++) await h.waitForStatus(orders[i]!.orderId, 'REFUNDED', 60_000);

    // One revocation per reversed order, whatever arrived twice; the books balance.
    const revocations = await h.db.revocation.groupBy({ by: ['orderId'], _count: true, where: { orderId: { in: orders.map((o) => o.orderId) } } });
    expect(revocations).toHaveLength(8);
    expect(revocations.every((r) => r._count === 1)).toBe(true);
    expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);

    // The report lists exactly the lost ones, each with Apple's first try and the order.
    const [run] = await listStoreSweeps(h.sql, { channel: 'appstore', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', limit: 10 });
    expect(run).toMatchObject({ id: first.sweepId, pass: 'FAILURES', status: 'COMPLETED', seen: lostKeys.length, recovered: lostKeys.length, known: 0, failed: 0 });
    expect(run!.recoveries.map((r) => r.dedupeKey).sort()).toEqual([...lostKeys].sort());
    expect(run!.recoveries.every((r) => r.firstTriedAt !== null && r.orderId !== null)).toBe(true);
    // The notifications taken from the sweep say so; the others came by callback.
    const sources = await h.db.channelNotification.findMany({ where: { channel: 'appstore', notificationId: { in: lostKeys } }, select: { source: true } });
    expect(sources.map((s) => s.source)).toEqual(lostKeys.map(() => 'SWEEP'));

    // Every record of the window again (the daily pass): all known, nothing recovered twice.
    const all = await sweeps.run('appstore', 'ALL', `drill-all-${randomUUID()}`);
    expect(all.status).toBe('COMPLETED');
    const [again] = await listStoreSweeps(h.sql, { channel: 'appstore', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', limit: 1 });
    expect(again).toMatchObject({ id: all.sweepId, recovered: 0, failed: 0, seen: 18, known: 18, recoveries: [] });
    expect(h.gameServer.grantsFor(orders[0]!.orderId)).toHaveLength(1);

    // The worker's metrics: what each sweep saw, by result, and that the account completed a sweep.
    const metrics = await (await fetch(workerMetricsUrl)).text();
    const sum = (result: string) =>
      [...metrics.matchAll(new RegExp(`^payments_store_sweep_items_total\\{([^}]*)\\} (\\S+)$`, 'gm'))]
        .filter((m) => m[1]!.includes('channel="appstore"') && m[1]!.includes(`result="${result}"`))
        .reduce((total, m) => total + Number(m[2]), 0);
    expect(sum('recovered')).toBe(lostKeys.length);
    expect(sum('known')).toBe(18);
    expect(metrics).toMatch(/^payments_store_sweep_last_success_timestamp_seconds\{[^}]*channel="appstore"[^}]*\} \d/m);
  }, 300_000);

  it("puts each store account's schedules in place at worker start, idempotently: failures and voided hourly, all daily", async () => {
    const q = h.config.FINANCE_TASK_QUEUE;
    const expected = [`${q}-store-sweep-appstore-all`, `${q}-store-sweep-appstore-failures`, `${q}-store-sweep-googleplay-voided`];
    try {
      expect((await ensureStoreSweepSchedules(h.config, h.database, h.client)).sort()).toEqual(expected);
      expect((await ensureStoreSweepSchedules(h.config, h.database, h.client)).sort()).toEqual(expected);
      const every = async (id: string) => (await h.client.schedule.getHandle(id).describe()).spec.intervals?.[0]?.every;
      expect(await every(expected[1]!)).toBe(3_600_000);
      expect(await every(expected[0]!)).toBe(86_400_000);
      expect(await every(expected[2]!)).toBe(3_600_000);
    } finally {
      for (const id of expected) await h.client.schedule.getHandle(id).delete().catch(() => undefined);
    }
  }, 120_000);
});

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

describe('Google Play: a sweep of the voided purchases list recovers every lost voided purchase notification once', () => {
  it('recovers lost refunds and chargebacks, reports exactly them, asks Google nothing it knows, and a second sweep recovers nothing', async () => {
    expect((await untilOrderable('googleplay', googleSku)).status).toBe(201);
    const orders: { orderId: string; token: string; chargeback: boolean }[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await h.createOrder(game, { userId: `gdrill-${randomUUID().slice(0, 8)}`, sku: googleSku, region: 'CN', channel: 'googleplay', platform: 'android' });
      expect(res.status).toBe(201);
      const orderId = res.body.orderId as string;
      const bought = googleplay.purchase({ productId: GOOGLE_PRODUCT, obfuscatedAccountId: String(res.body.payment.obfuscatedAccountId), obfuscatedProfileId: orderId });
      const receipt = await h.signed(game, 'POST', `/v1/orders/${orderId}/receipts`, { purchaseToken: bought.purchaseToken, productId: GOOGLE_PRODUCT });
      expect(receipt.status).toBe(200);
      orders.push({ orderId, token: bought.purchaseToken, chargeback: i % 3 === 0 });
    }
    for (const { orderId } of orders) await h.waitForStatus(orderId, 'DELIVERED', 60_000);

    // Every order voided (refunds, and chargebacks by the payer's bank); Google recorded each 10 minutes
    // ago (the sweep leaves the last 5 minutes to the next run); a seeded 40% of the pushes lost.
    const lostKeys: string[] = [];
    const callbackUrl = `${h.api.url}/v1/callbacks/googleplay`;
    for (const [i, { token, chargeback }] of orders.entries()) {
      const at = Date.now() - 10 * 60_000;
      googleplay.voidPurchase(token, { reason: chargeback ? VOIDED_REASON.CHARGEBACK : VOIDED_REASON.REMORSE, voidedAt: at - 3_600_000, recordedAt: at });
      const how = fate(i);
      if (how === 'lost') {
        lostKeys.push(`voided:${sha256(token)}`);
        continue;
      }
      const push = googleplay.voidedPush(token);
      expect(await googleplay.deliver(push, callbackUrl)).toBe(204);
      if (how === 'twice') expect(await googleplay.deliver(googleplay.withToken(push), callbackUrl)).toBe(204);
    }

    const v2Calls = () => googleplay.requests.filter((r) => r.path.includes('/purchases/productsv2/')).length;
    const v2Before = v2Calls();
    const listBefore = googleplay.voidedListCalls;
    const first = await sweeps.run('googleplay', 'VOIDED', `gdrill-voided-${randomUUID()}`);
    expect(first.status).toBe('COMPLETED');
    // Every token's payment reached us: no per-purchase call to Google; 10 entries, 3 a page.
    expect(v2Calls() - v2Before).toBe(0);
    expect(googleplay.voidedListCalls - listBefore).toBe(4);
    for (const { orderId, chargeback } of orders) await h.waitForStatus(orderId, chargeback ? 'CHARGED_BACK' : 'REFUNDED', 60_000);

    const revocations = await h.db.revocation.groupBy({ by: ['orderId'], _count: true, where: { orderId: { in: orders.map((o) => o.orderId) } } });
    expect(revocations).toHaveLength(10);
    expect(revocations.every((r) => r._count === 1)).toBe(true);
    expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);

    const [run] = await listStoreSweeps(h.sql, { channel: 'googleplay', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', limit: 10 });
    expect(run).toMatchObject({ id: first.sweepId, pass: 'VOIDED', status: 'COMPLETED', pages: 4, seen: 10, recovered: lostKeys.length, known: 10 - lostKeys.length, failed: 0 });
    expect(run!.recoveries.map((r) => r.dedupeKey).sort()).toEqual([...lostKeys].sort());
    // The store's first try is when the purchase was voided (an hour before Google recorded it).
    for (const recovery of run!.recoveries) {
      const order = orders.find((o) => `voided:${sha256(o.token)}` === recovery.dedupeKey)!;
      expect(recovery).toMatchObject({ orderId: order.orderId, kind: order.chargeback ? 'CHARGEBACK' : 'REFUND_SUCCEEDED' });
      expect(recovery.firstTriedAt).toBe(new Date(googleplay.purchaseOf(order.token)!.voided!.voidedTimeMillis).toISOString());
    }
    const sources = await h.db.channelNotification.findMany({ where: { channel: 'googleplay', notificationId: { in: lostKeys } }, select: { source: true } });
    expect(sources.map((s) => s.source)).toEqual(lostKeys.map(() => 'SWEEP'));

    // The next run starts an hour before this one ended: the same voids again, all known.
    const second = await sweeps.run('googleplay', 'VOIDED', `gdrill-voided-${randomUUID()}`);
    expect(second.status).toBe('COMPLETED');
    expect(Date.parse(second.start)).toBe(Date.parse(first.end) - 3_600_000);
    const [again] = await listStoreSweeps(h.sql, { channel: 'googleplay', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', limit: 1 });
    expect(again).toMatchObject({ id: second.sweepId, recovered: 0, failed: 0, seen: 10, known: 10, recoveries: [] });
    expect(await h.db.revocation.count({ where: { orderId: { in: orders.map((o) => o.orderId) } } })).toBe(10);
  }, 300_000);
});

describe('Google Play: a purchase voided as never acknowledged (reason 8) for an order never seen paid', () => {
  it('is reported by the sweep as a lost purchase notification; the order stays closed, nothing is revoked, the books balance', async () => {
    expect((await untilOrderable('googleplay', googleSku)).status).toBe(201);
    const res = await h.createOrder(game, { userId: `lost-${randomUUID().slice(0, 8)}`, sku: googleSku, region: 'CN', channel: 'googleplay', platform: 'android' });
    expect(res.status).toBe(201);
    const orderId = res.body.orderId as string;
    // The player paid, but neither the receipt nor the purchase notification ever reached us; the game
    // gave up on the order. Nobody acknowledged the purchase: three days later Google refunded it.
    const bought = googleplay.purchase({ productId: GOOGLE_PRODUCT, obfuscatedAccountId: String(res.body.payment.obfuscatedAccountId), obfuscatedProfileId: orderId });
    expect((await h.signed(game, 'POST', `/v1/orders/${orderId}/cancel`)).status).toBe(200);
    await h.waitForStatus(orderId, 'CLOSED', 60_000);
    const at = Date.now() - 10 * 60_000;
    googleplay.voidPurchase(bought.purchaseToken, { reason: VOIDED_REASON.UNACKNOWLEDGED, voidedAt: at - 3_600_000, recordedAt: at });
    const key = `voided:${sha256(bought.purchaseToken)}`; // its voided purchase notification lost too

    const v2Before = googleplay.requests.filter((r) => r.path.includes('/purchases/productsv2/')).length;
    const run = await sweeps.run('googleplay', 'VOIDED', `lost-purchase-${randomUUID()}`);
    expect(run.status).toBe('COMPLETED');
    // A token we never saw: Google is asked whose purchase it was, as the live path does.
    expect(googleplay.requests.filter((r) => r.path.includes('/purchases/productsv2/')).length).toBe(v2Before + 1);

    // Listed for a person in the report (the ops API), with the order and why.
    const operator = { Authorization: `Bearer ${h.config.ADMIN_TOKEN}`, 'X-Operator': 'ops@studio.example' };
    const report = await h.request('GET', `/v1/ops/store-sweeps?channel=googleplay&from=${new Date(Date.now() - 3_600_000).toISOString()}`, undefined, operator);
    expect(report.status).toBe(200);
    const listed = report.body.sweeps.find((r: { sweepId: string }) => r.sweepId === run.sweepId);
    expect(listed.recoveries).toEqual([
      expect.objectContaining({ orderId, kind: 'REFUND_SUCCEEDED', dedupeKey: key, notice: expect.stringMatching(/never acknowledged.*purchase notification was lost/) }),
    ]);
    // Google kept none of the money and we booked none: the order stays closed, no revocation, no reversal.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await h.orderStatus(orderId)).toBe('CLOSED');
    expect(await h.db.revocation.count({ where: { orderId } })).toBe(0);
    expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);
    expect(await h.db.journalEntry.count({ where: { orderId } })).toBe(0);

    // The next run finds it known: reported once.
    const again = await sweeps.run('googleplay', 'VOIDED', `lost-purchase-${randomUUID()}`);
    const [next] = await listStoreSweeps(h.sql, { channel: 'googleplay', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', limit: 1 });
    expect(next).toMatchObject({ id: again.sweepId, recovered: 0, failed: 0, recoveries: [] });
  }, 300_000);
});

describe('App Store consumption requests answered', () => {
  it('answers once per transaction (resends and a swept copy join it), MISSED after 12 h, nothing sent without the game saying ON', async () => {
    await h.db.game.update({ where: { id: game.gameId }, data: { consumptionAnswers: { answers: 'ON', playerConsent: 'ALL', sampleContentProvided: true, refundPreference: 'DECLINE' } } });
    const offGame = await h.createGame('Consumption off');
    const offSku = await h.createItem(offGame, { storeProducts: { appstore: PRODUCT } });
    const paidOrder = async (g: TestGame, item: string) => {
      const res = await h.createOrder(g, { userId: `cr-${randomUUID().slice(0, 8)}`, sku: item, region: 'CN', channel: 'appstore', platform: 'ios' });
      expect(res.status).toBe(201);
      const orderId = res.body.orderId as string;
      const paid = appstore.pay({ productId: PRODUCT, appAccountToken: orderId, priceMilliunits: 6000, currency: 'CNY' });
      expect(await appstore.deliver(paid.notification, callbackUrl())).toBe(200);
      await h.waitForStatus(orderId, 'DELIVERED', 60_000);
      return { orderId, transactionId: paid.transactionId };
    };
    const answered = await paidOrder(game, sku);
    const swept = await paidOrder(game, sku);
    const late = await paidOrder(game, sku);
    const off = await paidOrder(offGame, offSku);

    // Sent twice by Apple; the other's request lost, recovered by the sweep.
    const request = appstore.requestConsumption(answered.transactionId);
    expect(await appstore.deliver(request, callbackUrl())).toBe(200);
    expect(await appstore.deliver(request, callbackUrl())).toBe(200);
    appstore.lose(appstore.requestConsumption(swept.transactionId));
    // Signed 13 hours ago: Apple has decided without us.
    const old = appstore.notificationPayload('CONSUMPTION_REQUEST', { signedTransactionInfo: appstore.signedTransaction(late.transactionId), consumptionRequestReason: 'OTHER' });
    expect(await appstore.deliver(appstore.signedNotification({ ...old, signedDate: Date.now() - 13 * 3_600_000 }), callbackUrl())).toBe(200);
    expect(await appstore.deliver(appstore.requestConsumption(off.transactionId), callbackUrl())).toBe(200);
    expect((await sweeps.run('appstore', 'FAILURES', `cr-failures-${randomUUID()}`)).status).toBe('COMPLETED');

    const outcomeOf = async (transactionId: string) => {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        const row = await h.db.consumptionRequest.findUnique({ where: { channel_transactionId: { channel: 'appstore', transactionId } } });
        if (row?.outcome) return row;
      }
      throw new Error(`no answer to ${transactionId}`);
    };
    const expected = { customerConsented: true, deliveryStatus: 'DELIVERED', sampleContentProvided: true, refundPreference: 'DECLINE' };
    for (const { orderId, transactionId } of [answered, swept]) {
      expect(await outcomeOf(transactionId)).toMatchObject({ outcome: 'SENT', orderId, body: expected });
      expect(appstore.consumptionAnswers.get(transactionId)).toEqual([expected]);
    }
    expect((await outcomeOf(swept.transactionId)).source).toBe('SWEEP');
    expect(await outcomeOf(late.transactionId)).toMatchObject({ outcome: 'MISSED', body: null });
    expect(await outcomeOf(off.transactionId)).toMatchObject({ outcome: 'OFF', body: null });
    expect(appstore.consumptionAnswers.has(late.transactionId) || appstore.consumptionAnswers.has(off.transactionId)).toBe(false);

    // Another copy later (a resend, the daily sweep) joins the finished answer: still one.
    expect(await appstore.deliver(request, callbackUrl())).toBe(200);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(appstore.consumptionAnswers.get(answered.transactionId)).toHaveLength(1);
    const metrics = await (await fetch(workerMetricsUrl)).text();
    expect(metrics).toMatch(/^payments_consumption_requests_total\{[^}]*outcome="SENT"[^}]*\} 2$/m);
    expect(metrics).toMatch(/^payments_consumption_answer_seconds_bucket\{[^}]*channel="appstore"/m);
  }, 300_000);

  it("asks each order's consent in a PER_ORDER game, and sends the latest consumption percentage of the game's grant log", async () => {
    const perOrderGame = await h.createGame('Consent per order');
    const settings = { answers: 'ON', playerConsent: 'PER_ORDER', sampleContentProvided: false, refundPreference: 'GRANT_PRORATED' };
    await h.db.game.update({ where: { id: perOrderGame.gameId }, data: { consumptionAnswers: settings } });
    const item = await h.createItem(perOrderGame, { storeProducts: { appstore: PRODUCT } });
    const paidOrder = async (consent: { consumptionDataConsent?: boolean }) => {
      const res = await h.createOrder(perOrderGame, { userId: `pc-${randomUUID().slice(0, 8)}`, sku: item, region: 'CN', channel: 'appstore', platform: 'ios', ...consent });
      expect(res.status).toBe(201);
      const orderId = res.body.orderId as string;
      const paid = appstore.pay({ productId: PRODUCT, appAccountToken: orderId, priceMilliunits: 6000, currency: 'CNY' });
      expect(await appstore.deliver(paid.notification, callbackUrl())).toBe(200);
      await h.waitForStatus(orderId, 'DELIVERED', 60_000);
      return { orderId, transactionId: paid.transactionId };
    };
    const reported = await paidOrder({ consumptionDataConsent: true });
    const unreported = await paidOrder({ consumptionDataConsent: true });
    const refused = await paidOrder({ consumptionDataConsent: false });
    const unsaid = await paidOrder({});
    const consents = await h.db.order.findMany({ where: { gameId: perOrderGame.gameId }, select: { id: true, consumptionDataConsent: true } });
    expect(new Map(consents.map((o) => [o.id, o.consumptionDataConsent]))).toEqual(
      new Map([[reported.orderId, true], [unreported.orderId, true], [refused.orderId, false], [unsaid.orderId, null]]),
    );

    // The game's grant log: every order granted; the reported one's use reported twice (the latest wins),
    // then its line sent again without a figure (which keeps it).
    const line = (orderId: string, consumptionPercentage?: number) => ({
      deliveryId: deliveryIdFor(orderId),
      orderId,
      grantedAt: new Date().toISOString(),
      ...(consumptionPercentage !== undefined && { consumptionPercentage }),
    });
    const today = new Date().toISOString().slice(0, 10);
    const first = await h.signed(perOrderGame, 'POST', '/v1/games/grant-logs', {
      date: today,
      grants: [reported, unreported, refused, unsaid].map((o) => line(o.orderId, o === reported ? 10_000 : o === refused ? 50_000 : undefined)),
    });
    expect(first.body).toEqual({ date: today, received: 4, recorded: 4 });
    const later = await h.signed(perOrderGame, 'POST', '/v1/games/grant-logs', { date: today, grants: [line(reported.orderId, 35_000), line(reported.orderId)] });
    expect(later.body).toEqual({ date: today, received: 2, recorded: 0 });
    expect((await h.signed(perOrderGame, 'POST', '/v1/games/grant-logs', { date: today, grants: [line(reported.orderId, 200_000)] })).status).toBe(400);

    for (const { transactionId } of [reported, unreported, refused, unsaid]) {
      expect(await appstore.deliver(appstore.requestConsumption(transactionId), callbackUrl())).toBe(200);
    }
    const outcomeOf = async (transactionId: string) => {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
        const row = await h.db.consumptionRequest.findUnique({ where: { channel_transactionId: { channel: 'appstore', transactionId } } });
        if (row?.outcome) return row;
      }
      throw new Error(`no answer to ${transactionId}`);
    };
    const withPercentage = { customerConsented: true, deliveryStatus: 'DELIVERED', sampleContentProvided: false, consumptionPercentage: 35_000, refundPreference: 'GRANT_PRORATED' };
    expect(await outcomeOf(reported.transactionId)).toMatchObject({ outcome: 'SENT', orderId: reported.orderId, body: withPercentage });
    expect(appstore.consumptionAnswers.get(reported.transactionId)).toEqual([withPercentage]);
    // Consented, nothing reported: no percentage, and GRANT_PRORATED (which needs one) is not stated.
    const withoutPercentage = { customerConsented: true, deliveryStatus: 'DELIVERED', sampleContentProvided: false };
    expect(await outcomeOf(unreported.transactionId)).toMatchObject({ outcome: 'SENT', body: withoutPercentage });
    expect(appstore.consumptionAnswers.get(unreported.transactionId)).toEqual([withoutPercentage]);
    // Said false, or said nothing: recorded NO_CONSENT, nothing sent to Apple (even with a percentage reported).
    for (const { transactionId } of [refused, unsaid]) {
      expect(await outcomeOf(transactionId)).toMatchObject({ outcome: 'NO_CONSENT', body: null });
      expect(appstore.consumptionAnswers.has(transactionId)).toBe(false);
    }
  }, 300_000);
});

describe('Both stores in one run: the drill mixes App Store and Google Play orders', () => {
  it('recovers every dropped payment, refund, chargeback, revocation and consumption request once across both stores; second sweeps recover nothing', async () => {
    const mixGame = await h.createGame('Mixed drill');
    const settings = { answers: 'ON', playerConsent: 'ALL', sampleContentProvided: true, refundPreference: 'DECLINE' };
    await h.db.game.update({ where: { id: mixGame.gameId }, data: { consumptionAnswers: settings } });
    const appleItem = await h.createItem(mixGame, { storeProducts: { appstore: PRODUCT } });
    const googleItem = await h.createItem(mixGame, { storeProducts: { googleplay: GOOGLE_PRODUCT } });
    // One seeded fate per event, over both stores in the order they happen: 40% lost, 20% sent twice.
    let events = 0;
    const nextFate = () => fate(events++);
    const lost = { appstore: [] as string[], googleplay: [] as string[] };
    const googleCallback = `${h.api.url}/v1/callbacks/googleplay`;

    // Twelve orders, the stores taking turns; Apple's first payment notification lost.
    type Mixed = { orderId: string; store: 'appstore' | 'googleplay'; transactionId?: string; token?: string };
    const orders: Mixed[] = [];
    for (let i = 0; i < 12; i++) {
      const store = i % 2 === 0 ? 'appstore' : 'googleplay';
      const res = await h.createOrder(mixGame, { userId: `mix-${randomUUID().slice(0, 8)}`, sku: store === 'appstore' ? appleItem : googleItem, region: 'CN', channel: store, platform: store === 'appstore' ? 'ios' : 'android' });
      expect(res.status).toBe(201);
      const orderId = res.body.orderId as string;
      if (store === 'appstore') {
        const paid = appstore.pay({ productId: PRODUCT, appAccountToken: orderId, priceMilliunits: 6000, currency: 'CNY' });
        const how = i === 0 ? 'lost' : i === 4 ? 'twice' : 'once';
        if (how === 'lost') lost.appstore.push(`appstore:${paid.transactionId}:paid`);
        await send(paid.notification, how);
        orders.push({ orderId, store, transactionId: paid.transactionId });
      } else {
        const bought = googleplay.purchase({ productId: GOOGLE_PRODUCT, obfuscatedAccountId: String(res.body.payment.obfuscatedAccountId), obfuscatedProfileId: orderId });
        expect((await h.signed(mixGame, 'POST', `/v1/orders/${orderId}/receipts`, { purchaseToken: bought.purchaseToken, productId: GOOGLE_PRODUCT })).status).toBe(200);
        orders.push({ orderId, store, token: bought.purchaseToken });
      }
    }
    for (const { orderId } of orders.slice(1)) await h.waitForStatus(orderId, 'DELIVERED', 60_000);

    // Apple asks about every delivered App Store purchase before deciding a refund; some asks lost, some twice.
    const asked = orders.filter((o) => o.store === 'appstore').slice(1);
    const lostRequests: string[] = [];
    for (const { transactionId } of asked) {
      const how = nextFate();
      if (how === 'lost') lostRequests.push(transactionId!);
      await send(appstore.requestConsumption(transactionId!), how);
    }

    // Then every order but the first goes back: App Store refunds and revocations, Google refunds and
    // chargebacks (reason 7), recorded by Google 10 minutes ago; each notification's fate seeded.
    const expected = new Map<string, string>();
    for (const [i, o] of orders.entries()) {
      if (i === 0) continue;
      const how = nextFate();
      if (o.store === 'appstore') {
        const refund = i % 4 === 2;
        if (how === 'lost') lost.appstore.push(`appstore:${o.transactionId}:${refund ? 'refunded' : 'revoked'}`);
        await send(refund ? appstore.refund(o.transactionId!) : appstore.revoke(o.transactionId!), how);
        expected.set(o.orderId, 'REFUNDED');
      } else {
        const chargeback = i % 4 === 1;
        const at = Date.now() - 10 * 60_000;
        googleplay.voidPurchase(o.token!, { reason: chargeback ? VOIDED_REASON.CHARGEBACK : VOIDED_REASON.REMORSE, voidedAt: at - 3_600_000, recordedAt: at });
        expected.set(o.orderId, chargeback ? 'CHARGED_BACK' : 'REFUNDED');
        if (how === 'lost') {
          lost.googleplay.push(`voided:${sha256(o.token!)}`);
          continue;
        }
        const push = googleplay.voidedPush(o.token!);
        expect(await googleplay.deliver(push, googleCallback)).toBe(204);
        if (how === 'twice') expect(await googleplay.deliver(googleplay.withToken(push), googleCallback)).toBe(204);
      }
    }
    expect(lost.appstore.length).toBeGreaterThan(1);
    expect(lost.googleplay.length).toBeGreaterThan(0);
    expect(lostRequests.length).toBeGreaterThan(0);

    // Both stores swept at once.
    const [apple, google] = await Promise.all([
      sweeps.run('appstore', 'FAILURES', `mix-apple-${randomUUID()}`),
      sweeps.run('googleplay', 'VOIDED', `mix-google-${randomUUID()}`),
    ]);
    expect([apple.status, google.status]).toEqual(['COMPLETED', 'COMPLETED']);
    await h.waitForStatus(orders[0]!.orderId, 'DELIVERED', 60_000);
    for (const [orderId, status] of expected) await h.waitForStatus(orderId, status, 60_000);

    // Once each: one revocation per reversed order, one answer per transaction, the first payment delivered once.
    const revocations = await h.db.revocation.groupBy({ by: ['orderId'], _count: true, where: { orderId: { in: orders.map((o) => o.orderId) } } });
    expect(revocations.map((r) => r.orderId).sort()).toEqual([...expected.keys()].sort());
    expect(revocations.every((r) => r._count === 1)).toBe(true);
    expect(h.gameServer.grantsFor(orders[0]!.orderId)).toHaveLength(1);
    const answer = { customerConsented: true, deliveryStatus: 'DELIVERED', sampleContentProvided: true, refundPreference: 'DECLINE' };
    for (const { transactionId } of asked) {
      for (const deadline = Date.now() + 30_000; !appstore.consumptionAnswers.has(transactionId!) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 200));
      expect(appstore.consumptionAnswers.get(transactionId!)).toEqual([answer]);
      const row = await h.db.consumptionRequest.findUnique({ where: { channel_transactionId: { channel: 'appstore', transactionId: transactionId! } } });
      expect(row).toMatchObject({ outcome: 'SENT', source: lostRequests.includes(transactionId!) ? 'SWEEP' : 'CALLBACK' });
    }
    expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: mixGame.gameId })).toEqual([]);

    // Each store's report lists exactly its dropped events (a swept consumption request counts as a recovered record).
    const runOf = async (channel: string, sweepId: string) =>
      (await listStoreSweeps(h.sql, { channel, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', limit: 10 })).find((r) => r.id === sweepId)!;
    const appleRun = await runOf('appstore', apple.sweepId);
    expect(appleRun.recoveries.map((r) => r.dedupeKey).sort()).toEqual([...lost.appstore].sort());
    expect(appleRun).toMatchObject({ recovered: lost.appstore.length + lostRequests.length, failed: 0 });
    const googleRun = await runOf('googleplay', google.sweepId);
    expect(googleRun.recoveries.map((r) => r.dedupeKey).sort()).toEqual([...lost.googleplay].sort());
    expect(googleRun).toMatchObject({ recovered: lost.googleplay.length, failed: 0 });

    // Second sweeps of both: everything known, nothing recovered, nothing changed.
    const [apple2, google2] = await Promise.all([
      sweeps.run('appstore', 'FAILURES', `mix-apple-${randomUUID()}`),
      sweeps.run('googleplay', 'VOIDED', `mix-google-${randomUUID()}`),
    ]);
    for (const [channel, run] of [['appstore', apple2], ['googleplay', google2]] as const) {
      expect(await runOf(channel, run.sweepId)).toMatchObject({ status: 'COMPLETED', recovered: 0, failed: 0, recoveries: [] });
    }
    expect(await h.db.revocation.count({ where: { orderId: { in: orders.map((o) => o.orderId) } } })).toBe(expected.size);
    for (const { transactionId } of asked) expect(appstore.consumptionAnswers.get(transactionId!)).toHaveLength(1);
  }, 300_000);
});
