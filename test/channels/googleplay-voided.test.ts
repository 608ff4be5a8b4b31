import { createHash, randomUUID } from 'node:crypto';
import { googleplayChannel, googleplayCredentials } from '../../channels/googleplay/adapter';
import { ChannelError, createChannelHttp } from '../../channels/http';
import type { ChannelAdapter, SweepRequest, SweptRecord } from '../../channels/types';
import { FakeGooglePlay, VOIDED_REASON } from '../../testkit/fakes/googleplay';
import { localEgress } from '../support/egress';

/**
 * The Google Play adapter's sweep page: voidedpurchases.list as Google serves it (the fake filters on
 * when Google recorded the void, pages by token, ignores times sent with a token, refuses a start
 * older than 30 days), each entry read as its voided purchase notification.
 */

const PRODUCT = 'gems_60';
const MINUTE = 60_000;
const DAY = 86_400_000;
const fake = new FakeGooglePlay({ packageName: 'com.studio.voided', voidedPageSize: 2 });
let adapter: ChannelAdapter;

beforeAll(async () => {
  await fake.start();
  adapter = googleplayChannel().createAdapter(
    { channelId: 'googleplay-test', type: 'googleplay', credentials: googleplayCredentials.parse(fake.credentials()) },
    { http: createChannelHttp({ timeoutMs: 5_000, egress: localEgress }), callbackUrl: 'http://127.0.0.1:9/x', publicBaseUrl: 'http://127.0.0.1:9' },
  );
});
afterAll(() => fake.stop());

const sha = (token: string) => createHash('sha256').update(token).digest('hex');
const buy = (orderId = randomUUID()) => ({ orderId, purchase: fake.purchase({ productId: PRODUCT, obfuscatedProfileId: orderId }) });

async function sweepAll(request: Omit<SweepRequest, 'pass' | 'page'>) {
  const records: SweptRecord[] = [];
  const pages: (string | undefined)[] = [];
  for (let page: string | undefined; ; ) {
    pages.push(page);
    const answer = await adapter.sweepPage!({ pass: 'VOIDED', ...request, ...(page !== undefined && { page }) });
    records.push(...answer.records);
    if (!answer.nextPage) return { records, pages };
    page = answer.nextPage;
  }
}

describe('Google Play voided purchases sweep', () => {
  it('reads every page of the window, by when Google recorded the void, each entry as its notification', async () => {
    // Each test sweeps its own past stretch of Google's records.
    const t0 = Date.now() - 20 * MINUTE;
    const refunded = [buy(), buy(), buy()];
    const chargeback = buy();
    const lateRecorded = buy();
    const notYetRecorded = buy();
    for (const [i, { purchase }] of refunded.entries()) {
      fake.voidPurchase(purchase.purchaseToken, { reason: VOIDED_REASON.REMORSE, voidedAt: t0 + i, recordedAt: t0 + i });
    }
    fake.voidPurchase(chargeback.purchase.purchaseToken, { reason: VOIDED_REASON.CHARGEBACK, voidedAt: t0 - 2 * DAY, recordedAt: t0 + 10 });
    // Voided a week ago, recorded by Google only now: in this window, with its own voidedTimeMillis.
    fake.voidPurchase(lateRecorded.purchase.purchaseToken, { voidedAt: t0 - 7 * DAY, recordedAt: t0 + 20 });
    // Voided in the window, recorded after its end: not in it.
    fake.voidPurchase(notYetRecorded.purchase.purchaseToken, { voidedAt: t0 + 30, recordedAt: t0 + 6 * MINUTE });
    const callsBefore = fake.voidedListCalls;

    const { records, pages } = await sweepAll({ start: new Date(t0 - MINUTE), end: new Date(t0 + 5 * MINUTE) });

    expect(pages).toHaveLength(3); // 5 entries, 2 a page
    expect(fake.voidedListCalls - callsBefore).toBe(3);
    // The times go on the first call only; later ones carry the token alone.
    const calls = fake.requests.filter((r) => r.path.endsWith('/voidedpurchases')).slice(-3);
    expect(calls[0]!.query.get('startTime')).toBe(String(t0 - MINUTE));
    expect(calls[0]!.query.get('endTime')).toBe(String(t0 + 5 * MINUTE));
    expect(calls[0]!.query.get('maxResults')).toBe('1000');
    expect(calls[0]!.query.has('type')).toBe(false);
    for (const later of calls.slice(1)) {
      expect(later.query.get('token')).toBeTruthy();
      expect(later.query.has('startTime') || later.query.has('endTime')).toBe(false);
    }

    const byKey = new Map(records.map((r) => [r.notification!.events[0]!.dedupeKey, r]));
    expect(byKey.size).toBe(5);
    expect(byKey.has(`voided:${sha(notYetRecorded.purchase.purchaseToken)}`)).toBe(false);
    for (const { orderId, purchase } of [...refunded, chargeback, lateRecorded]) {
      const record = byKey.get(`voided:${sha(purchase.purchaseToken)}`)!;
      const event = record.notification!.events[0]!;
      expect(event).toMatchObject({
        kind: purchase === chargeback.purchase ? 'CHARGEBACK' : 'REFUND_SUCCEEDED',
        merchantOrderId: orderId,
        channelPaymentId: `googleplay:${orderId}`,
        channelTradeNo: purchase.purchaseToken,
        channelRefundId: purchase.orderId,
        storeProductId: PRODUCT,
      });
      // The store's first try is when the purchase was voided, not when Google recorded it.
      const voidedAt = fake.purchaseOf(purchase.purchaseToken)!.voided!.voidedTimeMillis;
      expect(record.firstTriedAt).toBe(new Date(voidedAt).toISOString());
      expect(event.occurredAt).toBe(new Date(voidedAt).toISOString());
      expect(JSON.parse(record.rawBody).voidedPurchase.purchaseToken).toBe(purchase.purchaseToken);
    }
    expect(byKey.get(`voided:${sha(lateRecorded.purchase.purchaseToken)}`)!.firstTriedAt).toBe(new Date(t0 - 7 * DAY).toISOString());
  });

  it('asks Google for the order only of tokens whose payment never reached us', async () => {
    const known = buy();
    const unknown = buy();
    const t0 = Date.now() - 40 * MINUTE;
    fake.voidPurchase(known.purchase.purchaseToken, { voidedAt: t0, recordedAt: t0 });
    fake.voidPurchase(unknown.purchase.purchaseToken, { voidedAt: t0, recordedAt: t0 });
    const v2Calls = () => fake.requests.filter((r) => r.path.includes('/purchases/productsv2/')).length;
    const before = v2Calls();
    const { records } = await sweepAll({
      start: new Date(t0 - MINUTE),
      end: new Date(t0 + MINUTE),
      knownOrder: async (token) => (token === known.purchase.purchaseToken ? known.orderId : undefined),
    });
    expect(v2Calls() - before).toBe(1);
    const orders = records.map((r) => r.notification!.events[0]!.merchantOrderId).sort();
    expect(orders).toEqual([known.orderId, unknown.orderId].sort());
  });

  it('says when Google refunded a purchase never acknowledged (reason 8) that we never saw paid', async () => {
    const lost = buy();
    const t0 = Date.now() - 60 * MINUTE;
    fake.voidPurchase(lost.purchase.purchaseToken, { reason: VOIDED_REASON.UNACKNOWLEDGED, source: 2, voidedAt: t0, recordedAt: t0 });
    const { records } = await sweepAll({ start: new Date(t0 - MINUTE), end: new Date(t0 + MINUTE) });
    const record = records.find((r) => r.notification!.events[0]!.channelTradeNo === lost.purchase.purchaseToken)!;
    expect(record.notification!.events[0]).toMatchObject({ kind: 'REFUND_SUCCEEDED', merchantOrderId: lost.orderId });
    expect(record.notification!.notice).toMatch(/never acknowledged.*purchase notification was lost/);
  });

  it('is refused for a start older than 30 days, and backs off on 429 and 5xx', async () => {
    const now = Date.now();
    const tooOld = adapter.sweepPage!({ pass: 'VOIDED', start: new Date(now - 31 * DAY), end: new Date(now) });
    await expect(tooOld).rejects.toMatchObject({ kind: 'FINAL', code: 'invalid' });
    fake.failNext(429);
    const limited = await adapter.sweepPage!({ pass: 'VOIDED', start: new Date(now - DAY), end: new Date(now) }).catch((err: unknown) => err);
    expect(limited).toBeInstanceOf(ChannelError);
    expect((limited as ChannelError).transient).toBe(true);
    fake.failNext(503);
    await expect(adapter.sweepPage!({ pass: 'VOIDED', start: new Date(now - DAY), end: new Date(now) })).rejects.toMatchObject({ transient: true });
  });

  it('answers only the VOIDED pass', async () => {
    expect(adapter.sweep).toEqual({ passes: ['VOIDED'], maxLookbackDays: 30 });
    await expect(adapter.sweepPage!({ pass: 'FAILURES', start: new Date(Date.now() - DAY), end: new Date() })).rejects.toThrow(/voided purchases only/);
  });
});
