import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { currencyExponent } from '../../channels/amounts';
import { appstoreChannel, appstoreCredentials } from '../../channels/appstore/adapter';
import { paymentResultOf } from '../../channels/events';
import { ChannelError, createChannelHttp } from '../../channels/http';
import {
  CallbackRejectedError,
  ChannelUnsupportedError,
  ReceiptRejectedError,
  type ChannelAdapter,
  type CreatePaymentRequest,
  type InboundCallback,
  type PaymentRef,
} from '../../channels/types';
import type { Money } from '../../domain/money';
import { FakeAppStore, type PaidPurchase } from '../../testkit/fakes/appstore';
import { createTestApplePki } from '../../testkit/fakes/appstore-pki';
import { describeChannelConformance } from './conformance';
import { localEgress } from '../support/egress';

const BUNDLE_ID = 'com.example.dragons';
const GEMS = 'com.example.dragons.gems60';
const NOWHERE = 'http://127.0.0.1:9/v1/callbacks/appstore-test';

/** Apple's price for an amount: milliunits of the major unit. */
const milliunitsOf = (amount: Money) => amount.value * 10 ** (3 - currencyExponent(amount.currency));

function adapterFor(fake: FakeAppStore, overrides: Record<string, unknown> = {}, now?: () => Date): ChannelAdapter {
  const credentials = appstoreCredentials.parse({ ...fake.credentials(), ...overrides });
  return appstoreChannel().createAdapter(
    { channelId: 'appstore-test', type: 'appstore', credentials },
    { http: createChannelHttp({ timeoutMs: 2_000, egress: localEgress }), callbackUrl: NOWHERE, publicBaseUrl: 'http://127.0.0.1:9', now },
  );
}

const newRequest = (amount: Money = { currency: 'USD', value: 99 }): CreatePaymentRequest => ({
  orderId: randomUUID(),
  amount,
  subject: '60 Gems',
  notifyUrl: NOWHERE,
  expiresAt: new Date(Date.now() + 15 * 60_000),
  platform: 'ios',
  userId: 'player-1',
  storeProductId: GEMS,
});

const refOf = (request: CreatePaymentRequest, channelTradeNo?: string): PaymentRef => ({
  orderId: request.orderId,
  channelPaymentId: `appstore:${request.orderId}`,
  ...(channelTradeNo !== undefined && { channelTradeNo }),
  amount: request.amount,
  storeProductId: request.storeProductId,
});

// ---- JWS surgery: change what a signature covers and keep the signature ----

const segments = (jws: string) => jws.split('.') as [string, string, string];
const decodeSegment = (segment: string): Record<string, unknown> => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
const encodeSegment = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

/** The JWS with its payload rewritten by `change`, its header and signature untouched. */
function withPayload(jws: string, change: (payload: Record<string, unknown>) => Record<string, unknown>): string {
  const [header, payload, signature] = segments(jws);
  return `${header}.${encodeSegment(change(decodeSegment(payload)))}.${signature}`;
}

const signedPayloadOf = (callback: InboundCallback): string => JSON.parse(callback.rawBody.toString('utf8')).signedPayload;
const notificationPayloadOf = (callback: InboundCallback) => decodeSegment(segments(signedPayloadOf(callback))[1]);
const bodyWith = (signedPayload: string): InboundCallback => ({
  headers: { 'content-type': 'application/json' },
  rawBody: Buffer.from(JSON.stringify({ signedPayload })),
});

/** The price inside the nested transaction set to 1 milliunit; both signatures kept. */
function tamperedPrice(callback: InboundCallback): InboundCallback {
  return bodyWith(
    withPayload(signedPayloadOf(callback), (n) => {
      const data = n.data as Record<string, unknown>;
      return { ...n, data: { ...data, signedTransactionInfo: withPayload(String(data.signedTransactionInfo), (tx) => ({ ...tx, price: 1 })) } };
    }),
  );
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'accepted',
    (err: unknown) => {
      if (err instanceof CallbackRejectedError || err instanceof ReceiptRejectedError) return err.code;
      throw err;
    },
  );
}

async function channelError(promise: Promise<unknown>): Promise<ChannelError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ChannelError)) throw new Error(`expected a ChannelError, got ${String(err)}`);
  return err;
}

describeChannelConformance('appstore', async () => {
  const fake = await new FakeAppStore({ bundleId: BUNDLE_ID, environment: 'Sandbox' }).start();
  const impostor = createTestApplePki({ name: 'Impostor' });
  const purchases = new Map<string, PaidPurchase>();
  return {
    adapter: adapterFor(fake),
    newRequest: () => newRequest(),
    async pay(created, request) {
      const paid = fake.pay({
        appAccountToken: String(created.payment.appAccountToken),
        productId: String(created.payment.productId),
        priceMilliunits: milliunitsOf(request.amount),
        currency: request.amount.currency,
      });
      purchases.set(created.channelPaymentId, paid);
      return paid.notification;
    },
    signWithWrongKey: (callback) => fake.signedNotification(notificationPayloadOf(callback), impostor),
    tamper: tamperedPrice,
    // No `stale`: Apple resends one notification for days, and replays are deduplicated instead.
    receipt: async (created) => ({ signedTransaction: purchases.get(created.channelPaymentId)!.signedTransaction }),
    close: () => fake.stop(),
  };
});

describe('appstore credentials', () => {
  const fake = new FakeAppStore({ bundleId: BUNDLE_ID, environment: 'Sandbox' });
  const valid = fake.credentials();
  const issuesOf = (input: unknown) => {
    const parsed = appstoreCredentials.safeParse(input);
    return parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  };

  it('takes a Sandbox account without appAppleId and with or without the API key', () => {
    expect(issuesOf(valid)).toEqual([]);
    const { issuerId: _i, keyId: _k, privateKey: _p, ...withoutApiKey } = valid;
    expect(issuesOf(withoutApiKey)).toEqual([]);
  });

  it('requires appAppleId for Production and refuses the Xcode and LocalTesting environments', () => {
    expect(issuesOf({ ...valid, environment: 'Production' })).toEqual([expect.objectContaining({ path: 'appAppleId' })]);
    expect(issuesOf({ ...valid, environment: 'Production', appAppleId: 1234567890 })).toEqual([]);
    for (const environment of ['Xcode', 'LocalTesting']) {
      expect(issuesOf({ ...valid, environment })).toEqual([expect.objectContaining({ path: 'environment' })]);
    }
  });

  it('refuses unknown fields, half an API key, a root that is no certificate and a key that is not P-256', () => {
    expect(issuesOf({ ...valid, sharedSecret: 'x' })).toEqual([expect.objectContaining({ message: expect.stringContaining('sharedSecret') })]);
    expect(issuesOf({ ...valid, keyId: undefined })).toEqual([expect.objectContaining({ path: 'privateKey' })]);
    expect(issuesOf({ ...valid, rootCertificates: ['not a certificate'] })).toEqual([expect.objectContaining({ path: 'rootCertificates.0' })]);
    expect(issuesOf({ ...valid, rootCertificates: [] })).toEqual([expect.objectContaining({ path: 'rootCertificates' })]);
    const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const issues = issuesOf({ ...valid, privateKey: rsaKey });
    expect(issues).toEqual([expect.objectContaining({ path: 'privateKey' })]);
    // The key itself never appears in what is reported.
    expect(JSON.stringify(appstoreCredentials.safeParse({ ...valid, privateKey: rsaKey }).error)).not.toContain(rsaKey.split('\n')[1]);
  });
});

describe('appstore adapter, beyond the suite', () => {
  let fake: FakeAppStore;
  let adapter: ChannelAdapter;
  beforeAll(async () => {
    fake = await new FakeAppStore({ bundleId: BUNDLE_ID, environment: 'Sandbox' }).start();
    adapter = adapterFor(fake);
  });
  afterAll(() => fake.stop());

  /** The player buys the request's product for the request's order, at the request's price. */
  const buy = (request: CreatePaymentRequest, purchase: Partial<Parameters<FakeAppStore['pay']>[0]> = {}) =>
    fake.pay({
      appAccountToken: request.orderId,
      productId: request.storeProductId!,
      priceMilliunits: milliunitsOf(request.amount),
      currency: request.amount.currency,
      ...purchase,
    });

  describe('creating a payment', () => {
    it('opens nothing at Apple: the StoreKit parameters and an id derived from the order', async () => {
      const request = newRequest();
      const created = await adapter.createPayment({ ...request, orderId: request.orderId.toUpperCase() });
      expect(created).toEqual({
        channelPaymentId: `appstore:${request.orderId}`,
        payment: { appAccountToken: request.orderId, productId: GEMS },
      });
      expect(fake.requests).toEqual([]);
    });

    it('refuses, finally, an item that has no App Store product', async () => {
      const err = await channelError(adapter.createPayment({ ...newRequest(), storeProductId: undefined }));
      expect(err).toMatchObject({ kind: 'FINAL', code: 'NO_STORE_PRODUCT' });
    });
  });

  describe('Server Notifications V2', () => {
    it('reports ONE_TIME_CHARGE as the payment of the order named by appAccountToken, in minor units', async () => {
      const request = newRequest();
      const purchasedAt = new Date(Date.now() - 5_000);
      const paid = buy(request, { purchasedAt });
      const { events, notice } = await adapter.verifyNotification(paid.notification);
      expect(notice).toBeUndefined();
      expect(events).toEqual([
        {
          kind: 'PAYMENT_SUCCEEDED',
          dedupeKey: `appstore:${paid.transactionId}:paid`,
          merchantOrderId: request.orderId,
          channelPaymentId: `appstore:${request.orderId}`,
          channelTradeNo: paid.transactionId,
          storeProductId: GEMS,
          amount: { currency: 'USD', value: 99 },
          occurredAt: purchasedAt.toISOString(),
        },
      ]);
      expect(adapter.acknowledgement()).toEqual({ status: 200, contentType: 'text/plain', body: '' });
    });

    it('converts milliunits by the currency exponent and multiplies by the quantity bought', async () => {
      const yen = await adapter.verifyNotification(buy(newRequest({ currency: 'JPY', value: 160 })).notification);
      expect(yen.events[0]!.amount).toEqual({ currency: 'JPY', value: 160 });
      const dinar = await adapter.verifyNotification(buy(newRequest({ currency: 'KWD', value: 1_250 })).notification);
      expect(dinar.events[0]!.amount).toEqual({ currency: 'KWD', value: 1_250 });
      const two = await adapter.verifyNotification(buy(newRequest(), { quantity: 2 }).notification);
      expect(two.events[0]!.amount).toEqual({ currency: 'USD', value: 198 });
    });

    it('lowers the case of appAccountToken and names no order for a purchase made without one', async () => {
      const request = newRequest();
      const upper = await adapter.verifyNotification(buy(request, { appAccountToken: request.orderId.toUpperCase() }).notification);
      expect(upper.events[0]!.merchantOrderId).toBe(request.orderId);
      const elsewhere = buy(request, { appAccountToken: undefined });
      const [event] = (await adapter.verifyNotification(elsewhere.notification)).events;
      expect(event).toMatchObject({ kind: 'PAYMENT_SUCCEEDED', channelTradeNo: elsewhere.transactionId });
      expect(event!.merchantOrderId).toBeUndefined();
      expect(event!.channelPaymentId).toBeUndefined();
    });

    it('rejects a notification signed by a chain to another root, or to our root without Apple\'s marker OIDs', async () => {
      const paid = buy(newRequest());
      const payload = notificationPayloadOf(paid.notification);
      expect(await rejection(adapter.verifyNotification(fake.signedNotification(payload, createTestApplePki({ name: 'Other' }))))).toBe(
        'INVALID_SIGNATURE',
      );
      // A store whose PKI has no markers, trusted by an account configured with its root.
      const unmarked = await new FakeAppStore({ bundleId: BUNDLE_ID, environment: 'Sandbox', pki: createTestApplePki({ appleMarkers: false }) }).start();
      try {
        const trusting = adapterFor(fake, { rootCertificates: [unmarked.pki.rootCertificatePem] });
        expect(await rejection(trusting.verifyNotification(unmarked.pay({ productId: GEMS, priceMilliunits: 990, currency: 'USD' }).notification))).toBe(
          'INVALID_SIGNATURE',
        );
      } finally {
        await unmarked.stop();
      }
    });

    it('rejects a JWS whose x5c is not leaf, intermediate and root, one whose payload was changed and an unsigned one', async () => {
      const signedPayload = signedPayloadOf(buy(newRequest()).notification);
      const [header, payload, signature] = segments(signedPayload);
      const twoCertificates = encodeSegment({ ...decodeSegment(header), x5c: fake.pki.x5c.slice(0, 2) });
      expect(await rejection(adapter.verifyNotification(bodyWith(`${twoCertificates}.${payload}.${signature}`)))).toBe('INVALID_SIGNATURE');
      const otherType = withPayload(signedPayload, (n) => ({ ...n, notificationType: 'REFUND' }));
      expect(await rejection(adapter.verifyNotification(bodyWith(otherType)))).toBe('INVALID_SIGNATURE');
      const unsigned = encodeSegment({ ...decodeSegment(header), alg: 'none' });
      expect(await rejection(adapter.verifyNotification(bodyWith(`${unsigned}.${payload}.`)))).toBe('INVALID_SIGNATURE');
    });

    it('verifies the nested signedTransactionInfo too: a changed one inside a genuine envelope is rejected', async () => {
      const paid = buy(newRequest());
      const payload = notificationPayloadOf(paid.notification);
      const data = payload.data as Record<string, unknown>;
      const forgedInner = withPayload(paid.signedTransaction, (tx) => ({ ...tx, price: 1 }));
      const genuineEnvelope = fake.signedNotification({ ...payload, data: { ...data, signedTransactionInfo: forgedInner } });
      expect(await rejection(adapter.verifyNotification(genuineEnvelope))).toBe('INVALID_SIGNATURE');
    });

    it('answers WRONG_MERCHANT for an authentic notification of another app, environment or appAppleId', async () => {
      const otherApp = new FakeAppStore({ bundleId: 'com.example.other', environment: 'Sandbox', pki: fake.pki });
      expect(await rejection(adapter.verifyNotification(otherApp.pay({ productId: GEMS, priceMilliunits: 990, currency: 'USD' }).notification))).toBe(
        'WRONG_MERCHANT',
      );
      const production = new FakeAppStore({ bundleId: BUNDLE_ID, environment: 'Production', appAppleId: 1234567890, pki: fake.pki });
      const productionCharge = production.pay({ productId: GEMS, priceMilliunits: 990, currency: 'USD' }).notification;
      expect(await rejection(adapter.verifyNotification(productionCharge))).toBe('WRONG_MERCHANT');
      const productionAdapter = adapterFor(fake, { environment: 'Production', appAppleId: 1234567890 });
      expect((await productionAdapter.verifyNotification(productionCharge)).events[0]!.kind).toBe('PAYMENT_SUCCEEDED');
      const otherAppleId = adapterFor(fake, { environment: 'Production', appAppleId: 999 });
      expect(await rejection(otherAppleId.verifyNotification(productionCharge))).toBe('WRONG_MERCHANT');
    });

    it('answers WRONG_MERCHANT when our envelope carries another app\'s transaction', async () => {
      const otherApp = new FakeAppStore({ bundleId: 'com.example.other', environment: 'Sandbox', pki: fake.pki });
      const theirs = otherApp.pay({ productId: GEMS, priceMilliunits: 990, currency: 'USD' });
      const ours = fake.notificationPayload('ONE_TIME_CHARGE', { signedTransactionInfo: theirs.signedTransaction });
      expect(await rejection(adapter.verifyNotification(fake.signedNotification(ours)))).toBe('WRONG_MERCHANT');
    });

    it('rejects bodies that are not an App Store notification', async () => {
      const raw = (body: string) => adapter.verifyNotification({ headers: {}, rawBody: Buffer.from(body) });
      expect(await rejection(raw('signedPayload=abc'))).toBe('MALFORMED_NOTIFICATION');
      expect(await rejection(raw('{"signed_payload":"abc"}'))).toBe('MALFORMED_NOTIFICATION');
      expect(await rejection(raw('{"signedPayload":"not.a.jws"}'))).toMatch(/MALFORMED_NOTIFICATION|INVALID_SIGNATURE/);
      const chargeWithoutTransaction = fake.signedNotification(fake.notificationPayload('ONE_TIME_CHARGE'));
      expect(await rejection(adapter.verifyNotification(chargeWithoutTransaction))).toBe('MALFORMED_NOTIFICATION');
    });

    it('is delivered by the fake as Apple POSTs it: JSON, the exact bytes, acknowledged by a 2xx', async () => {
      const received: { contentType?: string; body: Buffer }[] = [];
      const receiver = createServer(async (req, res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        received.push({ contentType: req.headers['content-type'], body: Buffer.concat(chunks) });
        const ack = adapter.acknowledgement();
        res.writeHead(ack.status, { 'Content-Type': ack.contentType }).end(ack.body);
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      try {
        const { notification } = buy(newRequest());
        const status = await fake.deliver(notification, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/callbacks/appstore-test`);
        expect(status).toBe(200);
        expect(received).toEqual([{ contentType: 'application/json', body: notification.rawBody }]);
        expect((await adapter.verifyNotification({ headers: {}, rawBody: received[0]!.body })).events[0]!.kind).toBe('PAYMENT_SUCCEEDED');
      } finally {
        await new Promise((resolve) => receiver.close(resolve));
      }
    });

    it('has no freshness window: a resend signed days ago is accepted with the same dedupe key, within the chain\'s validity', async () => {
      const paid = buy(newRequest());
      const payload = notificationPayloadOf(paid.notification);
      const first = await adapter.verifyNotification(paid.notification);
      const threeDaysAgo = fake.signedNotification({ ...payload, signedDate: Date.now() - 3 * 86_400_000 });
      expect((await adapter.verifyNotification(threeDaysAgo)).events[0]!.dedupeKey).toBe(first.events[0]!.dedupeKey);
      // The library checks certificate dates against signedDate: before the chain was issued is refused.
      const beforeTheChain = fake.signedNotification({ ...payload, signedDate: Date.now() - 400 * 86_400_000 });
      expect(await rejection(adapter.verifyNotification(beforeTheChain))).toBe('INVALID_SIGNATURE');
    });

    it('judges the certificates at the adapter\'s clock: outside the chain\'s validity by that clock is refused', async () => {
      const request = newRequest();
      const { notification, signedTransaction } = buy(request);
      const context = { orderId: request.orderId, amount: request.amount, storeProductId: request.storeProductId };
      const day = 86_400_000;
      // The test chain is valid from 30 days ago for 365 days.
      for (const offset of [-40 * day, 400 * day]) {
        const elsewhen = adapterFor(fake, {}, () => new Date(Date.now() + offset));
        expect(await rejection(elsewhen.verifyNotification(notification))).toBe('INVALID_SIGNATURE');
        expect(await rejection(elsewhen.verifyReceipt({ signedTransaction }, context))).toBe('INVALID_RECEIPT');
      }
      expect((await adapterFor(fake, {}, () => new Date(Date.now() + 300 * day)).verifyNotification(notification)).events).toHaveLength(1);
    });

    it('reports REFUND as the refund of the whole purchase, then REFUND_REVERSED as a notice only', async () => {
      const request = newRequest();
      const paid = buy(request);
      const refundCallback = fake.refund(paid.transactionId);
      const refund = await adapter.verifyNotification(refundCallback);
      const revocationDate = fake.transaction(paid.transactionId).revocation!.revocationDate;
      expect(refund.events).toEqual([
        {
          kind: 'REFUND_SUCCEEDED',
          dedupeKey: `appstore:${paid.transactionId}:refunded`,
          merchantOrderId: request.orderId,
          channelPaymentId: `appstore:${request.orderId}`,
          channelTradeNo: paid.transactionId,
          storeProductId: GEMS,
          amount: { currency: 'USD', value: 99 },
          occurredAt: new Date(revocationDate).toISOString(),
        },
      ]);
      expect(refund.events[0]!.refundId).toBeUndefined();
      expect((await adapter.verifyNotification(refundCallback)).events[0]!.dedupeKey).toBe(refund.events[0]!.dedupeKey);
      const reversed = await adapter.verifyNotification(fake.reverseRefund(paid.transactionId));
      expect(reversed.events).toEqual([]);
      expect(reversed.notice).toMatch(new RegExp(`^REFUND_REVERSED .*reversed the refund of transaction ${paid.transactionId} .*order ${request.orderId}`));
    });

    it('reports a prorated refund by its percentage, and no amount when that is not a whole minor unit', async () => {
      const half = buy(newRequest(), { quantity: 2 });
      expect((await adapter.verifyNotification(fake.refund(half.transactionId, { percentage: 50_000 }))).events[0]!.amount).toEqual({
        currency: 'USD',
        value: 99,
      });
      const third = buy(newRequest());
      const [event] = (await adapter.verifyNotification(fake.refund(third.transactionId, { percentage: 33_333 }))).events;
      expect(event).toMatchObject({ kind: 'REFUND_SUCCEEDED', channelTradeNo: third.transactionId });
      expect(event!.amount).toBeUndefined();
    });

    it('reports REVOKE as a revocation, and records REFUND_DECLINED, CONSUMPTION_REQUEST and TEST as notices', async () => {
      const request = newRequest();
      const paid = buy(request);
      const declined = await adapter.verifyNotification(fake.declineRefund(paid.transactionId));
      expect(declined).toEqual({ events: [], notice: expect.stringMatching(/^REFUND_DECLINED .*declined/) });
      const consumption = await adapter.verifyNotification(fake.requestConsumption(paid.transactionId, 'UNINTENDED_PURCHASE'));
      expect(consumption.events).toEqual([]);
      expect(consumption.notice).toMatch(/^CONSUMPTION_REQUEST .*UNINTENDED_PURCHASE.*12 hours/);
      expect(consumption.consumptionRequest).toMatchObject({ transactionId: paid.transactionId, reason: 'UNINTENDED_PURCHASE', storeProductId: expect.any(String) });
      expect(Date.parse(consumption.consumptionRequest!.signedDate)).toBeGreaterThan(Date.now() - 60_000);
      const test = await adapter.verifyNotification(fake.testNotification());
      expect(test).toEqual({ events: [], notice: expect.stringMatching(/^TEST /) });
      const revoked = await adapter.verifyNotification(fake.revoke(paid.transactionId));
      expect(revoked.events).toEqual([
        expect.objectContaining({
          kind: 'REVOKED',
          dedupeKey: `appstore:${paid.transactionId}:revoked`,
          merchantOrderId: request.orderId,
          channelTradeNo: paid.transactionId,
        }),
      ]);
    });

    it('acknowledges subscription notifications as notices without events', async () => {
      const paid = buy(newRequest());
      const renewal = await adapter.verifyNotification(fake.notify('DID_RENEW', paid.transactionId, {}, 'BILLING_RECOVERY'));
      expect(renewal).toEqual({ events: [], notice: expect.stringMatching(/^DID_RENEW\/BILLING_RECOVERY .*ignored/) });
    });

    it('gives REFUND_DECLINED then REFUND (seen in the wild) one refund, keyed by the transaction', async () => {
      const paid = buy(newRequest());
      expect((await adapter.verifyNotification(fake.declineRefund(paid.transactionId))).events).toEqual([]);
      const first = await adapter.verifyNotification(fake.refund(paid.transactionId));
      const resent = await adapter.verifyNotification(fake.notify('REFUND', paid.transactionId));
      expect(resent.events[0]!.dedupeKey).toBe(first.events[0]!.dedupeKey);
    });
  });

  describe('receipts (StoreKit 2 signed transactions)', () => {
    it('verifies the signed transaction of this order and product: the same effect as its ONE_TIME_CHARGE', async () => {
      const request = newRequest();
      const paid = buy(request);
      const context = { orderId: request.orderId, amount: request.amount, storeProductId: GEMS };
      const fromReceipt = await adapter.verifyReceipt({ signedTransaction: paid.signedTransaction }, context);
      const fromNotification = (await adapter.verifyNotification(paid.notification)).events[0]!;
      expect(fromReceipt).toEqual(fromNotification);
      expect(fromReceipt).toMatchObject({ kind: 'PAYMENT_SUCCEEDED', merchantOrderId: request.orderId, amount: { currency: 'USD', value: 99 } });
    });

    it('matches appAccountToken to the order id whatever its case', async () => {
      const request = newRequest();
      const paid = buy(request, { appAccountToken: request.orderId.toUpperCase() });
      const event = await adapter.verifyReceipt({ signedTransaction: paid.signedTransaction }, { orderId: request.orderId, amount: request.amount, storeProductId: GEMS });
      expect(event.merchantOrderId).toBe(request.orderId);
    });

    it('verifies this order\'s transaction of another product and reports the product bought (it is held, never delivered)', async () => {
      const request = newRequest();
      const paid = buy(request);
      const context = { orderId: request.orderId, amount: request.amount, storeProductId: 'com.example.dragons.gems6000' };
      const event = await adapter.verifyReceipt({ signedTransaction: paid.signedTransaction }, context);
      expect(event).toMatchObject({ kind: 'PAYMENT_SUCCEEDED', merchantOrderId: request.orderId, storeProductId: GEMS });
      expect(paymentResultOf(event, context)).toMatchObject({ productMismatch: true });
      const noProduct = await adapter.verifyReceipt({ signedTransaction: paid.signedTransaction }, { ...context, storeProductId: undefined });
      expect(paymentResultOf(noProduct, { ...context, storeProductId: undefined })).toMatchObject({ productMismatch: true });
    });

    it('refuses another order\'s transaction and a refunded purchase', async () => {
      const request = newRequest();
      const paid = buy(request);
      const receipt = { signedTransaction: paid.signedTransaction };
      const context = { orderId: request.orderId, amount: request.amount, storeProductId: GEMS };
      expect(await rejection(adapter.verifyReceipt(receipt, { ...context, orderId: randomUUID() }))).toBe('WRONG_ORDER');
      const noToken = buy(request, { appAccountToken: undefined });
      expect(await rejection(adapter.verifyReceipt({ signedTransaction: noToken.signedTransaction }, context))).toBe('WRONG_ORDER');
      fake.refund(paid.transactionId);
      expect(await rejection(adapter.verifyReceipt({ signedTransaction: fake.signedTransaction(paid.transactionId) }, context))).toBe('NOT_PURCHASED');
    });

    it('refuses as INVALID_RECEIPT what does not verify: another root, another app, another environment, a changed price, no JWS', async () => {
      const request = newRequest();
      const context = { orderId: request.orderId, amount: request.amount, storeProductId: GEMS };
      const paid = buy(request);
      const verdict = (signedTransaction: unknown) => rejection(adapter.verifyReceipt({ signedTransaction }, context));
      expect(await verdict(fake.signedTransaction(paid.transactionId, createTestApplePki({ name: 'Other' })))).toBe('INVALID_RECEIPT');
      const otherApp = new FakeAppStore({ bundleId: 'com.example.other', environment: 'Sandbox', pki: fake.pki });
      expect(await verdict(otherApp.pay({ appAccountToken: request.orderId, productId: GEMS, priceMilliunits: 990, currency: 'USD' }).signedTransaction)).toBe(
        'INVALID_RECEIPT',
      );
      const production = new FakeAppStore({ bundleId: BUNDLE_ID, environment: 'Production', appAppleId: 1, pki: fake.pki });
      expect(await verdict(production.pay({ appAccountToken: request.orderId, productId: GEMS, priceMilliunits: 990, currency: 'USD' }).signedTransaction)).toBe(
        'INVALID_RECEIPT',
      );
      expect(await verdict(withPayload(paid.signedTransaction, (tx) => ({ ...tx, price: 1 })))).toBe('INVALID_RECEIPT');
      expect(await verdict('garbage')).toBe('INVALID_RECEIPT');
      expect(await verdict(undefined)).toBe('INVALID_RECEIPT');
    });
  });

  describe('queries (App Store Server API Get Transaction Info)', () => {
    it('answers PENDING without asking Apple while no transaction is known', async () => {
      const before = fake.requests.length;
      expect(await adapter.queryPayment(refOf(newRequest()))).toEqual({ state: 'PENDING' });
      expect(fake.requests).toHaveLength(before);
    });

    it('answers SUCCEEDED with the receipt\'s effect, with a bearer token Apple accepts, and REFUNDED once refunded', async () => {
      const request = newRequest();
      const paid = buy(request);
      const receiptEvent = await adapter.verifyReceipt({ signedTransaction: paid.signedTransaction }, { orderId: request.orderId, amount: request.amount, storeProductId: GEMS });
      const queried = await adapter.queryPayment(refOf(request, paid.transactionId));
      expect(queried).toEqual({ state: 'SUCCEEDED', event: receiptEvent });
      expect(fake.requests.at(-1)).toEqual({ method: 'GET', path: `/inApps/v1/transactions/${paid.transactionId}`, authorized: true });
      fake.refund(paid.transactionId);
      expect(await adapter.queryPayment(refOf(request, paid.transactionId))).toEqual({ state: 'REFUNDED' });
    });

    it('answers NOT_FOUND for a transaction Apple does not know', async () => {
      expect(await adapter.queryPayment(refOf(newRequest(), '2000000999999999'))).toEqual({ state: 'NOT_FOUND' });
    });

    it('refuses, finally, a transaction of another order, and reports one of another product as bought', async () => {
      const request = newRequest();
      const paid = buy(request);
      expect(await channelError(adapter.queryPayment({ ...refOf(request, paid.transactionId), orderId: randomUUID() }))).toMatchObject({
        kind: 'FINAL',
        code: 'WRONG_ORDER',
      });
      expect(await adapter.queryPayment({ ...refOf(request, paid.transactionId), storeProductId: 'other.product' })).toMatchObject({
        state: 'SUCCEEDED',
        event: { storeProductId: GEMS },
      });
    });

    it('sorts Apple\'s refusals: a bad key and a bad id are final, rate limits, 5xx and retryable 404s transient', async () => {
      const request = newRequest();
      const paid = buy(request);
      const ref = refOf(request, paid.transactionId);
      const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const unauthorized = await channelError(adapterFor(fake, { privateKey: otherKey }).queryPayment(ref));
      expect(unauthorized).toMatchObject({ kind: 'FINAL', code: 'HTTP_401' });
      expect(fake.requests.at(-1)!.authorized).toBe(false);
      expect(unauthorized.message).not.toContain('Bearer');
      expect(await channelError(adapter.queryPayment({ ...ref, channelTradeNo: 'not-a-number' }))).toMatchObject({
        kind: 'FINAL',
        code: 'INVALID_TRANSACTION_ID',
      });
      fake.failNextRequest(429, { errorCode: 4290000, errorMessage: 'Rate limit exceeded.' });
      expect(await channelError(adapter.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'HTTP_429' });
      fake.failNextRequest(500, { errorCode: 5000001, errorMessage: 'An unknown error occurred. Please try again.' });
      expect(await channelError(adapter.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'HTTP_500' });
      fake.failNextRequest(404, { errorCode: 4040006, errorMessage: 'Original transaction id not found. Please try again.' });
      expect(await channelError(adapter.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'ORIGINAL_TRANSACTION_ID_NOT_FOUND_RETRYABLE' });
      expect((await adapter.queryPayment(ref)).state).toBe('SUCCEEDED');
    });

    it('says it cannot ask Apple when the account has no API key', async () => {
      const { issuerId: _i, keyId: _k, privateKey: _p, ...withoutKey } = fake.credentials();
      const keyless = appstoreChannel().createAdapter(
        { channelId: 'appstore-keyless', type: 'appstore', credentials: appstoreCredentials.parse(withoutKey) },
        { http: createChannelHttp({ timeoutMs: 2_000, egress: localEgress }), callbackUrl: NOWHERE, publicBaseUrl: 'http://127.0.0.1:9' },
      );
      const request = newRequest();
      expect(await keyless.queryPayment(refOf(request))).toEqual({ state: 'PENDING' });
      await expect(keyless.queryPayment(refOf(request, buy(request).transactionId))).rejects.toBeInstanceOf(ChannelUnsupportedError);
    });
  });

  describe('flows Apple does not have', () => {
    it('says why it cannot close, refund, query a refund or fetch a statement, and confirms delivery without a call', async () => {
      const request = newRequest();
      const ref = refOf(request, buy(request).transactionId);
      const reasons = await Promise.all([
        adapter.closePayment(ref).catch((e: unknown) => e),
        adapter.refund({ refundId: 'rf1', payment: ref, amount: request.amount, paid: request.amount, reason: 'test' }).catch((e: unknown) => e),
        adapter.queryRefund({ refundId: 'rf1', payment: ref }).catch((e: unknown) => e),
        (async () => adapter.fetchStatement('2026-01-01'))().catch((e: unknown) => e),
      ]);
      for (const reason of reasons) expect(reason).toBeInstanceOf(ChannelUnsupportedError);
      expect((reasons[1] as Error).message).toMatch(/only Apple refunds/);
      expect((reasons[3] as Error).message).toMatch(/no per-transaction statement/);
      expect(adapter.supports).toEqual({ close: false, refund: false, queryRefund: false, statement: false, receipts: true });
      const before = fake.requests.length;
      await expect(adapter.confirmDelivery(ref)).resolves.toBeUndefined();
      expect(fake.requests).toHaveLength(before);
    });
  });
});
