import { createHash, randomUUID } from 'node:crypto';
import { googleplayChannel, googleplayCredentials, type GoogleplayCredentials } from '../../channels/googleplay/adapter';
import { paymentResultOf } from '../../channels/events';
import { GOOGLE_CERTS_URL } from '../../channels/googleplay/wire';
import { ChannelError, createChannelHttp, type ChannelHttp } from '../../channels/http';
import {
  CallbackRejectedError,
  ChannelUnsupportedError,
  ReceiptRejectedError,
  type ChannelAdapter,
  type ChannelDeps,
  type CreatePaymentRequest,
  type CreatedPayment,
  type InboundCallback,
  type PaymentRef,
} from '../../channels/types';
import { FakeGooglePlay, rsaKeyPair, VOIDED_REASON, type FakePurchase } from '../../testkit/fakes/googleplay';
import { describeChannelConformance } from './conformance';
import { localEgress } from '../support/egress';

const PACKAGE = 'com.studio.dragonquest';
const PRODUCT = 'gems_60';
const CALLBACK = 'http://127.0.0.1:9/v1/callbacks/googleplay';

function adapterFor(credentials: GoogleplayCredentials, deps: Partial<ChannelDeps> = {}): ChannelAdapter {
  return googleplayChannel().createAdapter(
    { channelId: 'googleplay', type: 'googleplay', credentials: googleplayCredentials.parse(credentials) },
    { http: createChannelHttp({ timeoutMs: 5_000, egress: localEgress }), callbackUrl: CALLBACK, publicBaseUrl: 'http://127.0.0.1:9', ...deps },
  );
}

const newRequest = (fields: Partial<CreatePaymentRequest> = {}): CreatePaymentRequest => ({
  orderId: randomUUID(),
  amount: { currency: 'USD', value: 199 },
  subject: '60 Gems',
  notifyUrl: CALLBACK,
  expiresAt: new Date(Date.now() + 15 * 60_000),
  platform: 'android',
  userId: `player-${randomUUID()}`,
  storeProductId: PRODUCT,
  ...fields,
});

/** The payer buys with exactly what createPayment handed to the game client. */
const buy = (fake: FakeGooglePlay, created: CreatedPayment, extra: { test?: boolean; pending?: boolean } = {}) =>
  fake.purchase({
    productId: String(created.payment.productId),
    obfuscatedAccountId: String(created.payment.obfuscatedAccountId),
    obfuscatedProfileId: String(created.payment.obfuscatedProfileId),
    ...extra,
  });

/** The same token with its claims changed and its signature kept. */
function tamperToken(callback: InboundCallback): InboundCallback {
  const authorization = String(callback.headers.authorization);
  const [header, payload, signature] = authorization.slice('Bearer '.length).split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, email: 'intruder@evil.example' })).toString('base64url');
  return { ...callback, headers: { ...callback.headers, authorization: `Bearer ${header}.${forged}.${signature}` } };
}

async function rejection(promise: Promise<unknown>): Promise<CallbackRejectedError | ReceiptRejectedError | ChannelError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  if (err instanceof CallbackRejectedError || err instanceof ReceiptRejectedError || err instanceof ChannelError) return err;
  throw err;
}

describeChannelConformance('googleplay', async () => {
  const fake = new FakeGooglePlay({ packageName: PACKAGE });
  await fake.start();
  const adapter = adapterFor(fake.credentials());
  const tokens = new Map<string, string>();
  const otherKey = rsaKeyPair();
  return {
    adapter,
    newRequest: () => newRequest(),
    async pay(created, request) {
      const purchase = buy(fake, created);
      tokens.set(request.orderId, purchase.purchaseToken);
      return fake.purchasedPush(purchase.purchaseToken);
    },
    signWithWrongKey: (callback) => fake.withToken({ headers: {}, rawBody: callback.rawBody }, { signingKey: { privateKeyPem: otherKey.privateKeyPem } }),
    // Pub/Sub signs no body (the adapter reads every state back from Google): the signed part is the token.
    tamper: tamperToken,
    stale: (callback) => {
      const iat = Math.floor(Date.now() / 1000) - 2 * 3600;
      return fake.withToken({ headers: {}, rawBody: callback.rawBody }, { claims: { iat, exp: iat + 3600 } });
    },
    receipt: async (_created, request) => ({ purchaseToken: tokens.get(request.orderId)!, productId: request.storeProductId! }),
    close: () => fake.stop(),
  };
});

describe('googleplay, beyond the suite', () => {
  const fake = new FakeGooglePlay({ packageName: PACKAGE, voidedPageSize: 2 });
  let adapter: ChannelAdapter;
  let testingAdapter: ChannelAdapter;

  beforeAll(async () => {
    await fake.start();
    adapter = adapterFor(fake.credentials());
    testingAdapter = adapterFor(fake.credentials({ allowTestPurchases: true }));
  });
  afterAll(() => fake.stop());

  async function order(extra: { test?: boolean; pending?: boolean } = {}) {
    const request = newRequest();
    const created = await adapter.createPayment(request);
    const purchase = buy(fake, created, extra);
    const context = { orderId: request.orderId, amount: request.amount, storeProductId: PRODUCT };
    const receipt = { purchaseToken: purchase.purchaseToken, productId: PRODUCT };
    const ref: PaymentRef = {
      orderId: request.orderId,
      channelPaymentId: created.channelPaymentId,
      channelTradeNo: purchase.purchaseToken,
      amount: request.amount,
      storeProductId: PRODUCT,
    };
    return { request, created, purchase, context, receipt, ref };
  }

  describe('creating a payment', () => {
    it('hands the billing flow a hashed account id, the order as profile id and the product, calling nobody', async () => {
      const calls = fake.requests.length;
      const request = newRequest({ userId: 'player-42@example.com' });
      const created = await adapter.createPayment(request);
      expect(created).toEqual({
        channelPaymentId: `googleplay:${request.orderId}`,
        payment: {
          obfuscatedAccountId: createHash('sha256').update('player-42@example.com').digest('hex'),
          obfuscatedProfileId: request.orderId,
          productId: PRODUCT,
        },
      });
      expect(String(created.payment.obfuscatedAccountId)).toHaveLength(64);
      expect(fake.requests.length).toBe(calls);
    });

    it('refuses an item without a Google Play product, finally', async () => {
      const err = await rejection(adapter.createPayment(newRequest({ storeProductId: undefined })));
      expect(err).toBeInstanceOf(ChannelError);
      expect((err as ChannelError).transient).toBe(false);
    });
  });

  describe('the service account', () => {
    it('signs in once with a JWT-bearer assertion the token endpoint verifies, then reuses the access token', async () => {
      const local = new FakeGooglePlay({ packageName: PACKAGE });
      await local.start();
      try {
        const account = adapterFor(local.credentials());
        const request = newRequest();
        const created = await account.createPayment(request);
        const purchase = buy(local, created);
        const context = { orderId: request.orderId, amount: request.amount, storeProductId: PRODUCT };
        await account.verifyReceipt({ purchaseToken: purchase.purchaseToken, productId: PRODUCT }, context);
        await account.verifyReceipt({ purchaseToken: purchase.purchaseToken, productId: PRODUCT }, context);
        expect(local.tokenRequests).toBe(1);
      } finally {
        await local.stop();
      }
    });

    it('takes a new access token when Google answers 401', async () => {
      const { ref } = await order();
      expect((await adapter.queryPayment(ref)).state).toBe('SUCCEEDED');
      const before = fake.tokenRequests;
      fake.revokeAccessTokens();
      expect((await adapter.queryPayment(ref)).state).toBe('SUCCEEDED');
      expect(fake.tokenRequests).toBe(before + 1);
    });

    it('reports a key Google does not know as a final refusal that does not quote the key', async () => {
      const stranger = rsaKeyPair();
      const account = adapterFor(fake.credentials({ serviceAccountPrivateKey: stranger.privateKeyPem }));
      const { context, receipt } = await order();
      const err = await rejection(account.verifyReceipt(receipt, context));
      expect(err).toMatchObject({ kind: 'FINAL', code: 'invalid_grant' });
      const keyBody = stranger.privateKeyPem.split('\n')[1]!;
      expect(err.message).not.toContain(keyBody);
      expect(err.message).not.toContain('assertion');
    });
  });

  describe('push authentication', () => {
    const rejectionCode = async (callback: InboundCallback) => ((await rejection(adapter.verifyNotification(callback))) as CallbackRejectedError).code;

    it.each([
      ['another audience', { aud: 'https://elsewhere.example/push' }],
      ['another service account', { email: 'someone-else@other-project.iam.gserviceaccount.com' }],
      ['an unverified email', { email_verified: false }],
      ['another issuer', { iss: 'https://evil.example' }],
    ])('rejects a token for %s', async (_case, claims) => {
      const { purchase } = await order();
      const genuine = fake.purchasedPush(purchase.purchaseToken);
      expect((await adapter.verifyNotification(genuine)).events).toHaveLength(1);
      expect(await rejectionCode(fake.withToken(genuine, { claims }))).toBe('INVALID_SIGNATURE');
    });

    it('rejects an expired token as stale, and never quotes the token', async () => {
      const { purchase } = await order();
      const iat = Math.floor(Date.now() / 1000) - 3 * 3600;
      const expired = fake.withToken(fake.purchasedPush(purchase.purchaseToken), { claims: { iat, exp: iat + 3600 } });
      const err = await rejection(adapter.verifyNotification(expired));
      expect(err).toMatchObject({ code: 'STALE_NOTIFICATION' });
      const token = String(expired.headers.authorization).slice('Bearer '.length);
      expect(err.message).not.toContain(token.split('.')[1]!);
    });

    it('judges the token\'s times at the adapter\'s clock, not the wall clock', async () => {
      const { purchase } = await order();
      const hours = (n: number) => n * 3_600_000;
      const fresh = fake.purchasedPush(purchase.purchaseToken);
      const later = adapterFor(fake.credentials(), { now: () => new Date(Date.now() + hours(3)) });
      expect(await rejection(later.verifyNotification(fresh))).toMatchObject({ code: 'STALE_NOTIFICATION' });
      const earlier = adapterFor(fake.credentials(), { now: () => new Date(Date.now() - hours(3)) });
      expect(await rejection(earlier.verifyNotification(fresh))).toMatchObject({ code: 'INVALID_SIGNATURE' });
      const iat = Math.floor((Date.now() - hours(3)) / 1000);
      const oldToken = fake.withToken(fresh, { claims: { iat, exp: iat + 3600 } });
      expect((await earlier.verifyNotification(oldToken)).events).toHaveLength(1);
    });

    it('rejects a token signed by a key Google does not publish, and a missing token', async () => {
      const { purchase } = await order();
      const push = fake.purchasedPush(purchase.purchaseToken);
      const otherKid = fake.withToken(push, { signingKey: { privateKeyPem: rsaKeyPair().privateKeyPem, kid: 'unknown-kid' } });
      expect(await rejectionCode(otherKid)).toBe('INVALID_SIGNATURE');
      const { authorization: _dropped, ...unsigned } = push.headers;
      expect(await rejectionCode({ headers: unsigned, rawBody: push.rawBody })).toBe('INVALID_SIGNATURE');
    });

    it('reads the Authorization header whatever its case', async () => {
      const { purchase } = await order();
      const push = fake.purchasedPush(purchase.purchaseToken);
      const upper = Object.fromEntries(Object.entries(push.headers).map(([k, v]) => [k.toUpperCase(), v]));
      expect((await adapter.verifyNotification({ headers: upper, rawBody: push.rawBody })).events[0]?.kind).toBe('PAYMENT_SUCCEEDED');
    });

    it("rejects another app's notification as the wrong merchant", async () => {
      const { purchase } = await order();
      const notification = {
        ...fake.notification({ oneTimeProductNotification: { version: '1.0', notificationType: 1, purchaseToken: purchase.purchaseToken, sku: PRODUCT } }),
        packageName: 'com.other.game',
      };
      expect(await rejectionCode(fake.pushOf(notification))).toBe('WRONG_MERCHANT');
    });

    it('rejects an authentic push whose body is not a developer notification as malformed', async () => {
      const garbage = fake.withToken({ headers: {}, rawBody: Buffer.from('{"message":{"data":"bm90IGpzb24=","messageId":"1"}}') });
      expect(await rejectionCode(garbage)).toBe('MALFORMED_NOTIFICATION');
    });

    it('fetches Google’s certificates when none are pinned, keeps them for their max-age, and refetches after', async () => {
      const local = new FakeGooglePlay({ packageName: PACKAGE, certificatesMaxAgeSeconds: 600 });
      await local.start();
      try {
        const shared = createChannelHttp({ timeoutMs: 5_000, egress: localEgress });
        // Google's URL is fixed; the shared client is the seam the test routes to the fake.
        const http: ChannelHttp = { send: (req) => shared.send(req.url === GOOGLE_CERTS_URL ? { ...req, url: local.certificatesUrl } : req) };
        let clock = Date.now();
        const account = adapterFor(local.credentials({ pushCertificates: undefined }), { http, now: () => new Date(clock) });
        const request = newRequest();
        const purchase = buy(local, await account.createPayment(request));
        const push = local.purchasedPush(purchase.purchaseToken);
        expect((await account.verifyNotification(push)).events[0]?.merchantOrderId).toBe(request.orderId);
        expect((await account.verifyNotification(local.withToken(push))).events).toHaveLength(1);
        expect(local.certificateRequests).toBe(1);
        clock += 601_000;
        await account.verifyNotification(local.withToken(push));
        expect(local.certificateRequests).toBe(2);
      } finally {
        await local.stop();
      }
    });
  });

  describe('one-time product notifications', () => {
    it('pays the order named by the purchase, with no amount (Google gives no price) and Google’s purchase time', async () => {
      const { request, created, purchase } = await order();
      const { events, notice } = await adapter.verifyNotification(fake.purchasedPush(purchase.purchaseToken));
      expect(notice).toBeUndefined();
      expect(events).toEqual([
        {
          kind: 'PAYMENT_SUCCEEDED',
          dedupeKey: expect.stringMatching(/^purchase:[0-9a-f]{64}$/),
          merchantOrderId: request.orderId,
          channelPaymentId: created.channelPaymentId,
          channelTradeNo: purchase.purchaseToken,
          storeProductId: PRODUCT,
          occurredAt: new Date(purchase.purchaseTimeMillis).toISOString(),
        },
      ]);
    });

    it('gives redeliveries, a second message and the receipt of one purchase one dedupe key', async () => {
      const { purchase, context, receipt, ref } = await order();
      const push = fake.purchasedPush(purchase.purchaseToken);
      const keys = [
        (await adapter.verifyNotification(push)).events[0]?.dedupeKey,
        (await adapter.verifyNotification(fake.withToken(push))).events[0]?.dedupeKey,
        (await adapter.verifyNotification(fake.purchasedPush(purchase.purchaseToken))).events[0]?.dedupeKey,
        (await adapter.verifyReceipt(receipt, context)).dedupeKey,
        (await adapter.queryPayment(ref)).event?.dedupeKey,
      ];
      expect(new Set(keys)).toEqual(new Set([keys[0]]));
      expect(keys[0]).toEqual(expect.any(String));
    });

    it('reports a pending purchase as a notice, and pays it once the payer completes it', async () => {
      const { purchase, context, receipt, ref } = await order({ pending: true });
      const pending = await adapter.verifyNotification(fake.purchasedPush(purchase.purchaseToken));
      expect(pending.events).toEqual([]);
      expect(pending.notice).toMatch(/pending/);
      expect(await rejection(adapter.verifyReceipt(receipt, context))).toMatchObject({ code: 'NOT_PURCHASED' });
      expect((await adapter.queryPayment(ref)).state).toBe('PENDING');
      fake.completePending(purchase.purchaseToken);
      expect((await adapter.verifyNotification(fake.purchasedPush(purchase.purchaseToken))).events[0]?.kind).toBe('PAYMENT_SUCCEEDED');
      expect((await adapter.verifyReceipt(receipt, context)).kind).toBe('PAYMENT_SUCCEEDED');
    });

    it('reports a canceled pending purchase as a failed attempt of its order, with no amount', async () => {
      const { request, purchase, ref } = await order({ pending: true });
      fake.cancelPending(purchase.purchaseToken);
      const { events } = await adapter.verifyNotification(fake.canceledPush(purchase.purchaseToken));
      expect(events).toEqual([
        expect.objectContaining({ kind: 'PAYMENT_FAILED', merchantOrderId: request.orderId, channelTradeNo: purchase.purchaseToken }),
      ]);
      expect(events[0]!.amount).toBeUndefined();
      expect((await adapter.queryPayment(ref)).state).toBe('FAILED');
    });

    it('refuses a license tester’s purchase unless the account accepts test purchases', async () => {
      const { purchase, context, receipt, ref } = await order({ test: true });
      expect(await rejection(adapter.verifyReceipt(receipt, context))).toMatchObject({ code: 'NOT_PURCHASED' });
      const refused = await adapter.verifyNotification(fake.purchasedPush(purchase.purchaseToken));
      expect(refused.events).toEqual([]);
      expect(refused.notice).toMatch(/test purchases/);
      expect((await adapter.queryPayment(ref)).state).toBe('FAILED');
      expect((await testingAdapter.verifyReceipt(receipt, context)).kind).toBe('PAYMENT_SUCCEEDED');
      expect((await testingAdapter.verifyNotification(fake.purchasedPush(purchase.purchaseToken))).events[0]?.kind).toBe('PAYMENT_SUCCEEDED');
    });

    it('pays nothing for a body changed under a genuine token: the purchase is read back from Google', async () => {
      const forged = fake.pushOf(
        fake.notification({ oneTimeProductNotification: { version: '1.0', notificationType: 1, purchaseToken: 'made-up-token', sku: PRODUCT } }),
      );
      const { events, notice } = await adapter.verifyNotification(forged);
      expect(events).toEqual([]);
      expect(notice).toMatch(/does not know/);
    });

    it('keeps a purchase made outside our orders for operations', async () => {
      const outside = fake.purchase({ productId: PRODUCT });
      const { events, notice } = await adapter.verifyNotification(fake.purchasedPush(outside.purchaseToken));
      expect(events).toEqual([]);
      expect(notice).toMatch(/outside our orders/);
    });

    it('takes the Play Console test notification as a notice, and acknowledges with an empty 204', async () => {
      expect(await adapter.verifyNotification(fake.testPush())).toEqual({ events: [], notice: expect.stringMatching(/test notification/) });
      expect(adapter.acknowledgement()).toEqual({ status: 204, contentType: 'text/plain', body: '' });
    });
  });

  describe('voided purchases', () => {
    it('reports a refund of a paid order, naming the order, the token and Google’s order id', async () => {
      const { request, created, purchase } = await order();
      const voided = fake.voidPurchase(purchase.purchaseToken, { reason: VOIDED_REASON.REMORSE });
      const { events } = await adapter.verifyNotification(fake.voidedPush(purchase.purchaseToken));
      expect(events).toEqual([
        {
          kind: 'REFUND_SUCCEEDED',
          dedupeKey: expect.stringMatching(/^voided:[0-9a-f]{64}$/),
          merchantOrderId: request.orderId,
          channelPaymentId: created.channelPaymentId,
          channelTradeNo: purchase.purchaseToken,
          channelRefundId: purchase.orderId,
          storeProductId: PRODUCT,
          occurredAt: new Date(voided.voided!.voidedTimeMillis).toISOString(),
        },
      ]);
    });

    it('reports a chargeback when Google lists the void with reason 7, across pages of the list', async () => {
      const others: FakePurchase[] = [];
      for (let i = 0; i < 4; i++) others.push((await order()).purchase);
      const { request, purchase } = await order();
      others.forEach((p) => fake.voidPurchase(p.purchaseToken));
      fake.voidPurchase(purchase.purchaseToken, { reason: VOIDED_REASON.CHARGEBACK });
      const from = fake.requests.length;
      const { events } = await adapter.verifyNotification(fake.voidedPush(purchase.purchaseToken));
      expect(events).toEqual([expect.objectContaining({ kind: 'CHARGEBACK', merchantOrderId: request.orderId })]);
      // Two voids a page here: the chargeback, voided last, is on the third page.
      const listCalls = fake.requests.slice(from).filter((r) => r.path.endsWith('/purchases/voidedpurchases'));
      expect(listCalls.filter((r) => r.query.has('token')).length).toBeGreaterThanOrEqual(2);
    });

    it('gives a redelivered void the same dedupe key', async () => {
      const { purchase } = await order();
      fake.voidPurchase(purchase.purchaseToken);
      const push = fake.voidedPush(purchase.purchaseToken);
      const first = (await adapter.verifyNotification(push)).events[0]!;
      const again = (await adapter.verifyNotification(fake.withToken(push))).events[0]!;
      expect(again.dedupeKey).toBe(first.dedupeKey);
    });

    it('reads a void that names no product or refund type as a full refund of a one-time product', async () => {
      const { request, purchase } = await order();
      fake.voidPurchase(purchase.purchaseToken);
      const bare = fake.notification({ voidedPurchaseNotification: { purchaseToken: purchase.purchaseToken, orderId: purchase.orderId } });
      const { events } = await adapter.verifyNotification(fake.pushOf(bare));
      expect(events).toEqual([expect.objectContaining({ kind: 'REFUND_SUCCEEDED', merchantOrderId: request.orderId })]);
    });

    it('does not act on a quantity-based partial refund', async () => {
      const { purchase } = await order();
      fake.voidPurchase(purchase.purchaseToken);
      const { events, notice } = await adapter.verifyNotification(fake.voidedPush(purchase.purchaseToken, { refundType: 2 }));
      expect(events).toEqual([]);
      expect(notice).toMatch(/partial refund/);
    });
  });

  describe('receipts', () => {
    it('refuses a malformed receipt and an unknown token', async () => {
      const { context, receipt } = await order();
      expect(await rejection(adapter.verifyReceipt({ token: 'x' }, context))).toMatchObject({ code: 'INVALID_RECEIPT' });
      expect(await rejection(adapter.verifyReceipt({ ...receipt, purchaseToken: 'unknown' }, context))).toMatchObject({ code: 'INVALID_RECEIPT' });
    });

    it('verifies this order\'s purchase of another product and reports the product bought (it is held, never delivered)', async () => {
      const { context, receipt } = await order();
      const event = await adapter.verifyReceipt(receipt, { ...context, storeProductId: 'gems_6000' });
      expect(event).toMatchObject({ kind: 'PAYMENT_SUCCEEDED', merchantOrderId: context.orderId, storeProductId: PRODUCT });
      expect(paymentResultOf(event, { ...context, storeProductId: 'gems_6000' })).toMatchObject({ productMismatch: true });
      const noProduct = await adapter.verifyReceipt(receipt, { ...context, storeProductId: undefined });
      expect(paymentResultOf(noProduct, { ...context, storeProductId: undefined })).toMatchObject({ productMismatch: true });
    });

    it('refuses the purchase of another order and a voided one', async () => {
      const { purchase, context, receipt } = await order();
      expect(await rejection(adapter.verifyReceipt(receipt, { ...context, orderId: randomUUID() }))).toMatchObject({ code: 'WRONG_ORDER' });
      fake.voidPurchase(purchase.purchaseToken);
      expect(await rejection(adapter.verifyReceipt(receipt, context))).toMatchObject({ code: 'NOT_PURCHASED' });
    });
  });

  describe('delivery, query and refund', () => {
    it('consumes a delivered purchase once', async () => {
      const { purchase, ref } = await order();
      await adapter.confirmDelivery(ref);
      await adapter.confirmDelivery(ref);
      expect(fake.purchaseOf(purchase.purchaseToken)).toMatchObject({ consumptionState: 1, acknowledgementState: 1 });
      expect(fake.requests.filter((r) => r.path.endsWith(':consume'))).toHaveLength(1);
    });

    it('does not consume a voided purchase, and says so', async () => {
      const { purchase, ref } = await order();
      fake.voidPurchase(purchase.purchaseToken);
      expect(await rejection(adapter.confirmDelivery(ref))).toMatchObject({ kind: 'FINAL', code: 'PURCHASE_NOT_ACTIVE' });
    });

    it('answers a query without a token as pending, and a token of another order or unknown to Google as not found', async () => {
      const { ref } = await order();
      expect(await adapter.queryPayment({ ...ref, channelTradeNo: undefined })).toEqual({ state: 'PENDING' });
      expect(await adapter.queryPayment({ ...ref, orderId: randomUUID() })).toEqual({ state: 'NOT_FOUND' });
      expect(await adapter.queryPayment({ ...ref, channelTradeNo: 'unknown' })).toEqual({ state: 'NOT_FOUND' });
    });

    it("refunds the whole order at Google once, by Google's order id, revoking the item", async () => {
      const { purchase, ref, request } = await order();
      const refund = { refundId: `rf${randomUUID()}`, payment: ref, amount: request.amount, paid: request.amount, reason: 'support' };
      expect(await adapter.refund(refund)).toEqual({ channelRefundId: purchase.orderId, state: 'PROCESSING' });
      expect(await adapter.refund(refund)).toEqual({ channelRefundId: purchase.orderId, state: 'SUCCEEDED' });
      expect(fake.requests.filter((r) => r.path.endsWith(':refund'))).toHaveLength(1);
      expect(fake.purchaseOf(purchase.purchaseToken)).toMatchObject({ purchaseState: 1, refundRevoke: true });
      expect(await adapter.queryRefund({ refundId: refund.refundId, payment: ref })).toEqual({ state: 'SUCCEEDED', channelRefundId: purchase.orderId });
    });

    it("consumes and refunds the purchase of another product than the order's (held as PRODUCT_MISMATCH), found by its token", async () => {
      // The order asked for gems_6000; the payer bought PRODUCT: Google knows the token under PRODUCT only.
      const delivered = await order();
      await adapter.confirmDelivery({ ...delivered.ref, storeProductId: 'gems_6000' });
      expect(fake.purchaseOf(delivered.purchase.purchaseToken)).toMatchObject({ consumptionState: 1, acknowledgementState: 1 });
      const refunded = await order();
      const payment = { ...refunded.ref, storeProductId: 'gems_6000' };
      const refund = { refundId: `rf${randomUUID()}`, payment, amount: refunded.request.amount, paid: refunded.request.amount, reason: 'support' };
      expect(await adapter.refund(refund)).toEqual({ channelRefundId: refunded.purchase.orderId, state: 'PROCESSING' });
      expect(fake.purchaseOf(refunded.purchase.purchaseToken)).toMatchObject({ purchaseState: 1, refundRevoke: true });
      // A token Google does not know at all is still refused for good.
      expect(await rejection(adapter.refund({ ...refund, payment: { ...payment, channelTradeNo: 'unknown' } }))).toMatchObject({ kind: 'FINAL', code: 'UNKNOWN_PURCHASE' });
    });

    it('refuses a partial refund, and finds no refund of a purchase Google has not voided', async () => {
      const { ref, request } = await order();
      const partial = { refundId: 'rf1', payment: ref, amount: { currency: 'USD', value: 99 }, paid: request.amount, reason: 'partial' };
      await expect(adapter.refund(partial)).rejects.toBeInstanceOf(ChannelUnsupportedError);
      expect(await adapter.queryRefund({ refundId: 'rf1', payment: ref })).toEqual({ state: 'NOT_FOUND' });
    });

    it('keeps Google’s outages transient and its refusals final', async () => {
      const { ref, context, receipt } = await order();
      fake.failNext(503);
      expect(await rejection(adapter.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'HTTP_503' });
      const otherApp = adapterFor(fake.credentials({ packageName: 'com.studio.other' }));
      expect(await rejection(otherApp.verifyReceipt(receipt, context))).toMatchObject({ kind: 'FINAL', code: 'forbidden' });
    });

    it('says why it cannot close a payment or fetch a statement', async () => {
      const { ref } = await order();
      await expect(adapter.closePayment(ref)).rejects.toThrow(/nothing is opened at Google Play/);
      expect(() => adapter.fetchStatement('2026-01-01')).toThrow(ChannelUnsupportedError);
      expect(() => adapter.fetchStatement('2026-01-01')).toThrow(/monthly/);
    });
  });

  describe('credentials', () => {
    it('takes exactly the documented fields', () => {
      expect(googleplayCredentials.safeParse(fake.credentials()).success).toBe(true);
      expect(googleplayCredentials.safeParse({ ...fake.credentials(), certsUrl: 'http://x' }).success).toBe(false);
      const { pushAudience: _missing, ...incomplete } = fake.credentials();
      expect(googleplayCredentials.safeParse(incomplete).success).toBe(false);
    });

    it('refuses a key that is not PEM without quoting it', () => {
      const secret = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-not-really-a-key';
      const parsed = googleplayCredentials.safeParse({ ...fake.credentials(), serviceAccountPrivateKey: secret });
      expect(parsed.success).toBe(false);
      expect(parsed.error!.issues.map((i) => i.path.join('.'))).toEqual(['serviceAccountPrivateKey']);
      expect(JSON.stringify(parsed.error!.issues)).not.toContain(secret);
      expect(googleplayCredentials.safeParse({ ...fake.credentials(), pushCertificates: { kid: 'nope' } }).success).toBe(false);
    });
  });
});
