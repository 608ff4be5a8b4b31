import { randomUUID } from 'node:crypto';
import { appstoreChannel, appstoreCredentials } from '../../channels/appstore/adapter';
import { ChannelError, createChannelHttp } from '../../channels/http';
import type { ChannelAdapter, SweepRequest } from '../../channels/types';
import { FakeAppStore } from '../../testkit/fakes/appstore';
import { localEgress } from '../support/egress';

/** The App Store adapter's sweep page: Notification History as Apple serves it (the fake validates as Apple does). */

const PRODUCT = 'com.example.dragons.gems60';
const fake = new FakeAppStore({ bundleId: 'com.example.dragons', environment: 'Sandbox' });
let adapter: ChannelAdapter;

beforeAll(async () => {
  await fake.start();
  adapter = appstoreChannel().createAdapter(
    { channelId: 'appstore-test', type: 'appstore', credentials: appstoreCredentials.parse(fake.credentials()) },
    { http: createChannelHttp({ timeoutMs: 2_000, egress: localEgress }), callbackUrl: 'http://127.0.0.1:9/x', publicBaseUrl: 'http://127.0.0.1:9' },
  );
});
afterAll(() => fake.stop());

/** One window for the whole file: Apple binds a page's token to the exact body. */
const START = new Date(Date.now() - 86_400_000);
const END = new Date(Date.now() + 3_600_000);
const window = (pass: SweepRequest['pass'], page?: string): SweepRequest => ({
  pass,
  start: START,
  end: END,
  ...(page !== undefined && { page }),
});

async function sweepAll(pass: SweepRequest['pass']) {
  const records = [];
  let pages = 0;
  for (let page: string | undefined; ; ) {
    const answer = await adapter.sweepPage!(window(pass, page));
    records.push(...answer.records);
    pages++;
    if (!answer.nextPage) return { records, pages };
    page = answer.nextPage;
  }
}

const rejection = async (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err as ChannelError);

describe('App Store Notification History sweep', () => {
  beforeAll(() => {
    // 25 payments: every fifth notification lost, the rest answered 200.
    for (let i = 0; i < 25; i++) {
      const paid = fake.pay({ productId: PRODUCT, appAccountToken: randomUUID(), priceMilliunits: 990, currency: 'USD' });
      if (i % 5 === 0) fake.lose(paid.notification);
      else fake.lose(paid.notification, 'SUCCESS');
    }
  });

  it('reads every record, 20 a page, verified and read as its live notification, with the first try', async () => {
    const { records, pages } = await sweepAll('ALL');
    expect(pages).toBe(2);
    expect(records).toHaveLength(25);
    expect(records.every((r) => r.notification?.events[0]?.kind === 'PAYMENT_SUCCEEDED' && r.firstTriedAt)).toBe(true);
  });

  it('asks only for the notifications never answered 2xx in the failures pass', async () => {
    const { records } = await sweepAll('FAILURES');
    expect(records).toHaveLength(5);
  });

  it("refuses a token from another window's body, as Apple binds it to the body", async () => {
    const first = await adapter.sweepPage!(window('ALL'));
    const err = await rejection(adapter.sweepPage!(window('FAILURES', first.nextPage)));
    expect(err).toMatchObject({ transient: false, code: 'INVALID_PAGINATION_TOKEN' });
  });

  it('is transient on 429 and 5xx (backed off and asked again), final on a start Apple does not keep', async () => {
    fake.failNextRequest(429, { errorCode: 4290000, errorMessage: 'Rate limit exceeded.' });
    expect(await rejection(adapter.sweepPage!(window('ALL')))).toMatchObject({ transient: true });
    fake.failNextRequest(503);
    expect(await rejection(adapter.sweepPage!(window('ALL')))).toMatchObject({ transient: true });
    const tooOld = { ...window('ALL'), start: new Date(Date.now() - 31 * 86_400_000) };
    expect(await rejection(adapter.sweepPage!(tooOld))).toMatchObject({ transient: false, code: 'START_DATE_TOO_FAR_IN_PAST' });
  });

  it('marks a record whose signature does not verify as rejected, not as an event', async () => {
    const foreign = new FakeAppStore({ bundleId: 'com.example.dragons', environment: 'Sandbox' });
    const notification = foreign.testNotification();
    fake.lose(notification);
    const { records } = await sweepAll('FAILURES');
    const rejected = records.filter((r) => r.rejected);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.rejected).toMatch(/^INVALID_SIGNATURE/);
  });
});

describe('App Store Send Consumption Information (v2)', () => {
  const body = { customerConsented: true as const, deliveryStatus: 'DELIVERED' as const, sampleContentProvided: false, consumptionPercentage: 40_000 };

  it('PUTs the v2 body with the API bearer token; Apple answers 202 and keeps it', async () => {
    const paid = fake.pay({ productId: PRODUCT, appAccountToken: randomUUID(), priceMilliunits: 990, currency: 'USD' });
    await adapter.sendConsumptionInformation!(paid.transactionId, { ...body, refundPreference: 'GRANT_PRORATED' });
    expect(fake.consumptionAnswers.get(paid.transactionId)).toEqual([{ ...body, refundPreference: 'GRANT_PRORATED' }]);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'PUT', path: `/inApps/v2/transactions/consumption/${paid.transactionId}`, authorized: true });
  });

  it('is refused as Apple refuses: no consent (4000035), an unknown transaction; 429 and 5xx are transient', async () => {
    const paid = fake.pay({ productId: PRODUCT, appAccountToken: randomUUID(), priceMilliunits: 990, currency: 'USD' });
    const noConsent = await rejection(adapter.sendConsumptionInformation!(paid.transactionId, { ...body, customerConsented: false as unknown as true }));
    expect(noConsent).toMatchObject({ kind: 'FINAL', code: 'INVALID_CUSTOMER_CONSENTED' });
    const unknown = await rejection(adapter.sendConsumptionInformation!('2000000999999999', body));
    expect(unknown).toMatchObject({ kind: 'FINAL', code: 'TRANSACTION_ID_NOT_FOUND' });
    fake.failNextRequest(429);
    expect(await rejection(adapter.sendConsumptionInformation!(paid.transactionId, body))).toMatchObject({ transient: true });
    fake.failNextRequest(503);
    expect(await rejection(adapter.sendConsumptionInformation!(paid.transactionId, body))).toMatchObject({ transient: true });
    expect(fake.consumptionAnswers.get(paid.transactionId)).toBeUndefined();
  });
});
