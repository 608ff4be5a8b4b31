import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { AlipaySdk } from 'alipay-sdk';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alipayChannel, alipayCredentials, type AlipayCredentials } from '../../channels/alipay/adapter';
import { parseBusinessDetails } from '../../channels/alipay/statement';
import { ALIPAY_PRODUCTION_GATEWAY, beijingDate, beijingToIso, parseForm, yuanToMinor } from '../../channels/alipay/wire';
import { ChannelError, createChannelHttp } from '../../channels/http';
import {
  CallbackRejectedError,
  type ChannelAdapter,
  type CreatePaymentRequest,
  type InboundCallback,
  type PaymentRef,
  type StatementRow,
} from '../../channels/types';
import { AlipayFake, alipayBillArchive, businessDetailsCsv, type AlipayNotification } from '../../testkit/fakes/alipay';
import { describeChannelConformance } from './conformance';
import { localEgress } from '../support/egress';

const APP_ID = '2021000000000001';
const SELLER_ID = '2088000000000001';
/** fetch refuses port 9 outright: notifications here are handed to the adapter, not sent. */
const NOWHERE = 'http://127.0.0.1:9/v1/callbacks/alipay';

function rsaKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const appKeys = rsaKeyPair();
const otherKeys = rsaKeyPair();

async function startFake(now?: () => Date): Promise<AlipayFake> {
  return new AlipayFake({ appId: APP_ID, appPublicKey: appKeys.publicKey, sellerId: SELLER_ID, now }).start();
}

function adapterFor(fake: AlipayFake, { now, ...credentials }: Partial<AlipayCredentials> & { now?: () => Date } = {}): ChannelAdapter {
  return alipayChannel().createAdapter(
    {
      channelId: 'alipay-test',
      type: 'alipay',
      credentials: alipayCredentials.parse({
        appId: APP_ID,
        appPrivateKey: appKeys.privateKey,
        alipayPublicKey: fake.alipayPublicKey,
        sellerId: SELLER_ID,
        gateway: fake.url,
        ...credentials,
      }),
    },
    { http: createChannelHttp({ timeoutMs: 5_000, egress: localEgress }), callbackUrl: NOWHERE, publicBaseUrl: 'http://127.0.0.1:9', now },
  );
}

const newRequest = (overrides: Partial<CreatePaymentRequest> = {}): CreatePaymentRequest => ({
  orderId: randomUUID(),
  amount: { currency: 'CNY', value: 600 },
  subject: '60 Gems',
  notifyUrl: NOWHERE,
  expiresAt: new Date(Date.now() + 15 * 60_000),
  platform: 'android',
  userId: 'player-1',
  ...overrides,
});

/** The notification's fields re-signed after `changes` (undefined removes a field). */
function resigned(
  fake: AlipayFake,
  notification: AlipayNotification,
  changes: Record<string, string | undefined>,
  options?: Parameters<AlipayFake['signNotification']>[1],
): AlipayNotification {
  const { sign: _sign, ...fields } = notification.fields;
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete fields[key];
    else fields[key] = value;
  }
  return fake.signNotification(fields, options);
}

const outcome = (adapter: ChannelAdapter, callback: InboundCallback) =>
  adapter.verifyNotification(callback).then(
    () => 'accepted',
    (err: unknown) => (err instanceof CallbackRejectedError ? err.code : `unexpected: ${String(err)}`),
  );

async function failure(promise: Promise<unknown>): Promise<ChannelError> {
  const err = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof ChannelError)) throw err;
  return err;
}

async function collect(rows: AsyncIterable<StatementRow>): Promise<StatementRow[]> {
  const all: StatementRow[] = [];
  for await (const row of rows) all.push(row);
  return all;
}

const refOf = (request: CreatePaymentRequest, channelPaymentId: string): PaymentRef => ({
  orderId: request.orderId,
  channelPaymentId,
  amount: request.amount,
});

describeChannelConformance('alipay', async () => {
  const fake = await startFake();
  return {
    adapter: adapterFor(fake),
    newRequest: () => newRequest({ platform: 'ios' }),
    pay: async (created) => fake.pay(created.payment),
    signWithWrongKey: (callback) => {
      const { sign: _sign, ...fields } = parseForm(callback.rawBody);
      return fake.signNotification(fields, { privateKey: otherKeys.privateKey });
    },
    tamper: (callback) => ({
      ...callback,
      rawBody: Buffer.from(callback.rawBody.toString().replace(/total_amount=[^&]*/, 'total_amount=0.01')),
    }),
    statementDate: () => beijingDate(new Date()),
    close: () => fake.stop(),
  };
});

describe('alipay notifications', () => {
  let fake: AlipayFake;
  let adapter: ChannelAdapter;
  beforeAll(async () => {
    fake = await startFake();
    adapter = adapterFor(fake);
  });
  afterAll(() => fake.stop());

  async function paid(overrides: Partial<CreatePaymentRequest> = {}) {
    const request = newRequest(overrides);
    const created = await adapter.createPayment(request);
    return { request, created, notification: fake.pay(created.payment) };
  }

  it('accepts a payment notification as Alipay form-encodes it and reports it in fen for the order', async () => {
    const { request, created, notification } = await paid({ amount: { currency: 'CNY', value: 123456789 }, subject: '60 Gems' });
    expect(notification.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(notification.rawBody.toString()).toContain('subject=60+Gems');
    const { events } = await adapter.verifyNotification(notification);
    expect(events).toEqual([
      {
        kind: 'PAYMENT_SUCCEEDED',
        dedupeKey: expect.any(String),
        merchantOrderId: request.orderId,
        channelPaymentId: created.channelPaymentId,
        channelTradeNo: notification.fields.trade_no,
        amount: { currency: 'CNY', value: 123456789 },
        occurredAt: beijingToIso(notification.fields.gmt_payment!),
      },
    ]);
    expect(adapter.acknowledgement()).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
  });

  it('pays once for TRADE_SUCCESS then TRADE_FINISHED, and the same when FINISHED is processed first', async () => {
    const { created, notification } = await paid();
    const finished = fake.finish(created.channelPaymentId);
    expect(finished.fields.trade_status).toBe('TRADE_FINISHED');
    const [fromFinished] = (await adapter.verifyNotification(finished)).events;
    const [fromSuccess] = (await adapter.verifyNotification(notification)).events;
    expect(fromFinished).toMatchObject({ kind: 'PAYMENT_SUCCEEDED', amount: { currency: 'CNY', value: 600 } });
    expect(fromSuccess!.kind).toBe('PAYMENT_SUCCEEDED');
    expect(fromFinished!.dedupeKey).toBe(fromSuccess!.dedupeKey);
    const queried = await adapter.queryPayment({ orderId: '', channelPaymentId: created.channelPaymentId, amount: { currency: 'CNY', value: 600 } });
    expect(queried.event!.dedupeKey).toBe(fromSuccess!.dedupeKey);
  });

  it('refuses an authentic notification for another app or another seller as WRONG_MERCHANT', async () => {
    const { notification } = await paid();
    expect(await outcome(adapter, resigned(fake, notification, { app_id: '2021000000009999' }))).toBe('WRONG_MERCHANT');
    expect(await outcome(adapter, resigned(fake, notification, { seller_id: '2088000000009999' }))).toBe('WRONG_MERCHANT');
    expect(await outcome(adapter, resigned(fake, notification, { seller_id: undefined }))).toBe('WRONG_MERCHANT');
    expect(await outcome(adapter, notification)).toBe('accepted');
  });

  it('refuses a tampered amount, another key, no signature and SHA-1 signing as INVALID_SIGNATURE', async () => {
    const { notification } = await paid();
    const body = notification.rawBody.toString();
    const withBody = (text: string) => ({ ...notification, rawBody: Buffer.from(text) });
    expect(await outcome(adapter, withBody(body.replace('total_amount=6.00', 'total_amount=0.01')))).toBe('INVALID_SIGNATURE');
    expect(await outcome(adapter, withBody(body.replace('trade_status=TRADE_SUCCESS', 'trade_status=TRADE_FINISHED')))).toBe(
      'INVALID_SIGNATURE',
    );
    expect(await outcome(adapter, resigned(fake, notification, {}, { privateKey: otherKeys.privateKey }))).toBe('INVALID_SIGNATURE');
    expect(await outcome(adapter, withBody(body.replace(/&?sign=[^&]*/, '')))).toBe('INVALID_SIGNATURE');
    expect(await outcome(adapter, withBody(body.replace('sign_type=RSA2', 'sign_type=RSA')))).toBe('INVALID_SIGNATURE');
  });

  it('verifies values as received: a literal % in the subject, a GBK form, an empty field', async () => {
    const percent = (await paid({ subject: '100% Gems' })).notification;
    expect(percent.rawBody.toString()).toContain('subject=100%25+Gems');
    expect(await outcome(adapter, percent)).toBe('accepted');

    const gbk = resigned(fake, percent, { subject: '六十颗宝石 100%' }, { charset: 'gbk' });
    expect(gbk.rawBody.toString()).toContain('charset=gbk');
    expect(gbk.rawBody.toString()).toContain('%C1%F9'); // 六 in GBK
    expect(await outcome(adapter, gbk)).toBe('accepted');

    const withEmpty = resigned(fake, percent, { passback_params: '' });
    expect(withEmpty.rawBody.toString()).toContain('passback_params=&');
    expect(await outcome(adapter, withEmpty)).toBe('accepted');
  });

  it('verifies an empty posted field as signed, as alipay-sdk checkNotifySignV2 does (passback_params=)', async () => {
    const { notification } = await paid();
    const { sign: _sign, ...rest } = notification.fields;
    const unsigned: Record<string, string> = { ...rest, passback_params: '', gmt_refund: '' };
    const signedOver = (content: string) => {
      const fields = { ...unsigned, sign: createSign('RSA-SHA256').update(content, 'utf8').sign(otherKeys.privateKey, 'base64') };
      return { fields, callback: { headers: notification.headers, rawBody: Buffer.from(new URLSearchParams(fields).toString()) } };
    };
    const contentOf = (keep: (value: string) => boolean) =>
      Object.keys(unsigned)
        .filter((key) => key !== 'sign_type' && keep(unsigned[key]!))
        .sort()
        .map((key) => `${key}=${unsigned[key]}`)
        .join('&');
    const everyField = signedOver(contentOf(() => true));
    const nonEmptyOnly = signedOver(contentOf((value) => value !== ''));
    const oracle = new AlipaySdk({ appId: APP_ID, privateKey: appKeys.privateKey, alipayPublicKey: otherKeys.publicKey, keyType: 'PKCS8' });
    const trusting = adapterFor(fake, { alipayPublicKey: otherKeys.publicKey });

    expect(oracle.checkNotifySignV2(everyField.fields)).toBe(true);
    expect(await outcome(trusting, everyField.callback)).toBe('accepted');
    expect(oracle.checkNotifySignV2(nonEmptyOnly.fields)).toBe(false);
    expect(await outcome(trusting, nonEmptyOnly.callback)).toBe('INVALID_SIGNATURE');
  });

  it('refuses authentic notifications it cannot read as MALFORMED_NOTIFICATION', async () => {
    const { notification } = await paid();
    expect(await outcome(adapter, resigned(fake, notification, { total_amount: '6.001' }))).toBe('MALFORMED_NOTIFICATION');
    expect(await outcome(adapter, resigned(fake, notification, { trade_no: undefined }))).toBe('MALFORMED_NOTIFICATION');
    expect(await outcome(adapter, resigned(fake, notification, { gmt_payment: '14/03/2026 10:00' }))).toBe('MALFORMED_NOTIFICATION');
    const unknownCharset = Buffer.from(notification.rawBody.toString().replace('charset=utf-8', 'charset=ebcdic'));
    expect(await outcome(adapter, { ...notification, rawBody: unknownCharset })).toBe('MALFORMED_NOTIFICATION');
  });

  it('reports an opened order that timed out unpaid as PAYMENT_CLOSED', async () => {
    const request = newRequest();
    const created = await adapter.createPayment(request);
    fake.open(created.payment);
    const closed = fake.expire(created.channelPaymentId);
    const { events } = await adapter.verifyNotification(closed);
    expect(events).toEqual([
      {
        kind: 'PAYMENT_CLOSED',
        dedupeKey: expect.any(String),
        merchantOrderId: request.orderId,
        channelPaymentId: created.channelPaymentId,
        channelTradeNo: closed.fields.trade_no,
        occurredAt: beijingToIso(closed.fields.gmt_close!),
      },
    ]);
  });

  it('reports our refunds as REFUND_SUCCEEDED with our refund id: a partial one, then the rest that closes the trade', async () => {
    const { request, created, notification } = await paid();
    const payment = refOf(request, created.channelPaymentId);
    const [paidEvent] = (await adapter.verifyNotification(notification)).events;

    const partialId = `rf${randomUUID().replace(/-/g, '')}`;
    await adapter.refund({ refundId: partialId, payment, amount: { currency: 'CNY', value: 100 }, paid: request.amount, reason: 'partial' });
    const partial = fake.refundNotification(created.channelPaymentId, partialId);
    expect(partial.fields).toMatchObject({ trade_status: 'TRADE_SUCCESS', refund_fee: '1.00', out_biz_no: partialId });
    const [partialEvent] = (await adapter.verifyNotification(partial)).events;
    expect(partialEvent).toEqual({
      kind: 'REFUND_SUCCEEDED',
      dedupeKey: expect.any(String),
      merchantOrderId: request.orderId,
      channelPaymentId: created.channelPaymentId,
      channelTradeNo: notification.fields.trade_no,
      refundId: partialId,
      channelRefundId: partialId,
      occurredAt: beijingToIso(partial.fields.gmt_refund!),
    });
    expect(partialEvent!.dedupeKey).not.toBe(paidEvent!.dedupeKey);
    // Alipay resends until it reads `success`: a resend is the same refund.
    expect((await adapter.verifyNotification(partial)).events[0]!.dedupeKey).toBe(partialEvent!.dedupeKey);

    const restId = `rf${randomUUID().replace(/-/g, '')}`;
    await adapter.refund({ refundId: restId, payment, amount: { currency: 'CNY', value: 500 }, paid: request.amount, reason: 'the rest' });
    const rest = fake.refundNotification(created.channelPaymentId, restId);
    expect(rest.fields).toMatchObject({ trade_status: 'TRADE_CLOSED', refund_fee: '6.00', out_biz_no: restId });
    const [restEvent] = (await adapter.verifyNotification(rest)).events;
    expect(restEvent).toMatchObject({ kind: 'REFUND_SUCCEEDED', refundId: restId });
    expect(restEvent!.dedupeKey).not.toBe(partialEvent!.dedupeKey);
    expect((await adapter.queryPayment(payment)).state).toBe('REFUNDED');
  });

  it('takes TRADE_FINISHED after a partial refund as the payment again, not as another refund', async () => {
    const { request, created, notification } = await paid();
    const [paidEvent] = (await adapter.verifyNotification(notification)).events;
    const refundId = `rf${randomUUID().replace(/-/g, '')}`;
    const payment = refOf(request, created.channelPaymentId);
    await adapter.refund({ refundId, payment, amount: { currency: 'CNY', value: 100 }, paid: request.amount, reason: 'partial' });
    const finished = fake.finish(created.channelPaymentId);
    expect(finished.fields).toMatchObject({ trade_status: 'TRADE_FINISHED', refund_fee: '1.00' });
    expect((await adapter.verifyNotification(finished)).events).toEqual([expect.objectContaining({ kind: 'PAYMENT_SUCCEEDED', dedupeKey: paidEvent!.dedupeKey })]);
  });

  it('reports nothing for notifications that change nothing', async () => {
    const { notification } = await paid();
    const waiting = await adapter.verifyNotification(resigned(fake, notification, { trade_status: 'WAIT_BUYER_PAY' }));
    expect(waiting.events).toEqual([]);
    expect(waiting.notice).toContain('WAIT_BUYER_PAY');
    const otherType = await adapter.verifyNotification(resigned(fake, notification, { notify_type: 'trade_settle_sync' }));
    expect(otherType.events).toEqual([]);
    expect(otherType.notice).toContain('trade_settle_sync');
  });
});

describe('alipay yuan amounts', () => {
  it.each([
    ['0.01', 1],
    ['6', 600],
    ['6.1', 610],
    ['6.00', 600],
    ['1234567.89', 123456789],
  ])('reads %s yuan as %i fen', (yuan, fen) => {
    expect(yuanToMinor(yuan)).toEqual({ currency: 'CNY', value: fen });
  });

  it.each(['6.001', '-1.00', '1e3', '6.', '.5', '', '6,00'])('refuses %j', (yuan) => {
    expect(() => yuanToMinor(yuan)).toThrow();
  });
});

describe('alipay payments at the gateway', () => {
  let fake: AlipayFake;
  let adapter: ChannelAdapter;
  beforeAll(async () => {
    fake = await startFake();
    adapter = adapterFor(fake);
  });
  afterAll(() => fake.stop());

  it('signs an app pay order string with the app key, stamped and expiring in Beijing time', async () => {
    // 16:30 UTC is already the next day in Beijing.
    const clock = () => new Date('2026-03-14T16:30:00Z');
    const clocked = await startFake(clock);
    try {
      const request = newRequest({
        expiresAt: new Date('2026-03-14T16:45:00Z'),
        notifyUrl: 'https://pay.example.com/v1/callbacks/alipay',
        subject: 'Gems & Gold / 60',
      });
      const created = await adapterFor(clocked, { now: clock }).createPayment(request);
      const order = Object.fromEntries(new URLSearchParams(created.payment.orderString as string));
      expect(order).toMatchObject({
        app_id: APP_ID,
        method: 'alipay.trade.app.pay',
        sign_type: 'RSA2',
        charset: 'utf-8',
        timestamp: '2026-03-15 00:30:00',
        notify_url: 'https://pay.example.com/v1/callbacks/alipay',
      });
      expect(JSON.parse(order.biz_content!)).toEqual({
        out_trade_no: request.orderId.replace(/-/g, ''),
        total_amount: '6.00',
        subject: 'Gems Gold 60', // Alipay refuses `/`, `=` and `&` in a subject
        product_code: 'QUICK_MSECURITY_PAY',
        time_expire: '2026-03-15 00:45:00',
      });
      expect(created.channelPaymentId).toBe(request.orderId.replace(/-/g, ''));
      // Alipay (the fake) verifies the order string with the app public key when the payer opens it.
      expect(clocked.open(created.payment).status).toBe('WAIT_BUYER_PAY');

      await adapterFor(clocked, { now: clock }).queryPayment(refOf(request, created.channelPaymentId));
      expect(clocked.requests.at(-1)).toMatchObject({ method: 'alipay.trade.query', timestamp: '2026-03-15 00:30:00' });
    } finally {
      await clocked.stop();
    }
  });

  it('gives web and pc payers a page pay URL on the configured gateway, and the production gateway by default', async () => {
    const request = newRequest({ platform: 'web' });
    const created = await adapter.createPayment(request);
    expect(created.payment.payUrl).toEqual(expect.stringMatching(new RegExp(`^${fake.url}\\?`)));
    const notification = fake.pay(created.payment);
    expect((await adapter.verifyNotification(notification)).events[0]).toMatchObject({ kind: 'PAYMENT_SUCCEEDED', merchantOrderId: request.orderId });

    const production = adapterFor(fake, { gateway: undefined });
    const pcPayment = await production.createPayment(newRequest({ platform: 'pc' }));
    expect(new URL(pcPayment.payment.payUrl as string).searchParams.get('method')).toBe('alipay.trade.page.pay');
    expect(pcPayment.payment.payUrl).toEqual(expect.stringMatching(new RegExp(`^${ALIPAY_PRODUCTION_GATEWAY}\\?`)));
  });

  it('takes CNY only', async () => {
    const err = await failure(adapter.createPayment(newRequest({ amount: { currency: 'USD', value: 600 } })));
    expect(err).toMatchObject({ kind: 'FINAL', code: 'UNSUPPORTED_CURRENCY' });
  });

  it('answers queries and closes for orders never opened, waiting, closed, paid and refunded', async () => {
    const neverOpened = newRequest();
    const neverOpenedRef = refOf(neverOpened, (await adapter.createPayment(neverOpened)).channelPaymentId);
    expect((await adapter.queryPayment(neverOpenedRef)).state).toBe('NOT_FOUND');

    const waiting = newRequest();
    const waitingCreated = await adapter.createPayment(waiting);
    const waitingRef = refOf(waiting, waitingCreated.channelPaymentId);
    fake.open(waitingCreated.payment);
    expect((await adapter.queryPayment(waitingRef)).state).toBe('PENDING');
    expect(await adapter.closePayment(waitingRef)).toBe('CLOSED');
    expect((await adapter.queryPayment(waitingRef)).state).toBe('CLOSED');
    expect(await adapter.closePayment(waitingRef)).toBe('CLOSED');

    const refunded = newRequest();
    const refundedCreated = await adapter.createPayment(refunded);
    const refundedRef = refOf(refunded, refundedCreated.channelPaymentId);
    fake.pay(refundedCreated.payment);
    await adapter.refund({ refundId: 'rf-all', payment: refundedRef, amount: refunded.amount, paid: refunded.amount, reason: 'all' });
    expect((await adapter.queryPayment(refundedRef)).state).toBe('REFUNDED');
    expect(await adapter.closePayment(refundedRef)).toBe('ALREADY_PAID');
  });

  it('refunds once per refund id, refuses more than was paid, and answers refund queries', async () => {
    const request = newRequest();
    const created = await adapter.createPayment(request);
    fake.pay(created.payment);
    const payment = refOf(request, created.channelPaymentId);
    const refund = { refundId: 'rf-1', payment, amount: { currency: 'CNY', value: 250 }, paid: request.amount, reason: 'support' };
    expect(await adapter.refund(refund)).toEqual({ channelRefundId: 'rf-1', state: 'SUCCEEDED' });
    expect(await adapter.refund(refund)).toEqual({ channelRefundId: 'rf-1', state: 'SUCCEEDED' });
    expect(fake.notifications(created.channelPaymentId).filter((n) => n.fields.out_biz_no === 'rf-1')).toHaveLength(1);
    expect(await adapter.queryRefund({ refundId: 'rf-1', payment })).toEqual({
      state: 'SUCCEEDED',
      channelRefundId: 'rf-1',
      amount: { currency: 'CNY', value: 250 },
    });
    expect(await adapter.queryRefund({ refundId: 'rf-unknown', payment })).toEqual({ state: 'NOT_FOUND' });
    const tooMuch = await failure(adapter.refund({ ...refund, refundId: 'rf-2', amount: { currency: 'CNY', value: 351 } }));
    expect(tooMuch).toMatchObject({ kind: 'FINAL', code: 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL' });
    const unknownTrade = await failure(adapter.refund({ ...refund, payment: { ...payment, channelPaymentId: 'f'.repeat(32) } }));
    expect(unknownTrade).toMatchObject({ kind: 'FINAL', code: 'ACQ.TRADE_NOT_EXIST' });
  });

  it("keeps Alipay's transient failures transient and its refusals final", async () => {
    const ref = refOf(newRequest(), 'a'.repeat(32));
    fake.failNext({ kind: 'http', status: 503 });
    expect(await failure(adapter.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'HTTP_503' });
    fake.failNext({ kind: 'refusal', code: '20000', sub_code: 'isp.unknow-error', sub_msg: '服务暂不可用' });
    expect(await failure(adapter.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'isp.unknow-error' });
    fake.failNext({ kind: 'refusal', code: '40004', sub_code: 'ACQ.SYSTEM_ERROR', sub_msg: '系统错误' });
    expect(await failure(adapter.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'ACQ.SYSTEM_ERROR' });
    fake.failNext({ kind: 'refusal', code: '40004', sub_code: 'ACQ.ACCESS_FORBIDDEN', sub_msg: '无权限使用接口' });
    expect(await failure(adapter.queryPayment(ref))).toMatchObject({ kind: 'FINAL', code: 'ACQ.ACCESS_FORBIDDEN' });
  });

  it('acts only on answers Alipay signed, and says so without any key in the message', async () => {
    const ref = refOf(newRequest(), 'b'.repeat(32));
    fake.failNext({ kind: 'bad-signature' });
    expect(await failure(adapter.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'RESPONSE_SIGNATURE_INVALID' });
    // An unsigned "no such trade" is not taken as NOT_FOUND: the refusal surfaces instead.
    fake.failNext({ kind: 'unsigned' });
    expect(await failure(adapter.queryPayment(ref))).toMatchObject({ kind: 'FINAL', code: 'ACQ.TRADE_NOT_EXIST' });
    const wrongAlipayKey = adapterFor(fake, { alipayPublicKey: otherKeys.publicKey });
    expect(await failure(wrongAlipayKey.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'RESPONSE_SIGNATURE_INVALID' });
    const unknownAppKey = adapterFor(fake, { appPrivateKey: otherKeys.privateKey });
    const refused = await failure(unknownAppKey.queryPayment(ref));
    expect(refused).toMatchObject({ kind: 'FINAL', code: 'isv.invalid-signature' });
    const keyBody = otherKeys.privateKey.split('\n')[1]!;
    expect(refused.message).not.toContain(keyBody);
  });

  it('trusts no unsigned success', async () => {
    const request = newRequest();
    const created = await adapter.createPayment(request);
    fake.pay(created.payment);
    fake.failNext({ kind: 'unsigned' });
    expect(await failure(adapter.queryPayment(refOf(request, created.channelPaymentId)))).toMatchObject({
      kind: 'TRANSIENT',
      code: 'RESPONSE_UNSIGNED',
    });
  });
});

describe('alipay statements', () => {
  let fake: AlipayFake;
  let adapter: ChannelAdapter;
  beforeAll(async () => {
    fake = await startFake();
    adapter = adapterFor(fake);
  });
  afterAll(() => fake.stop());

  const fixture = readFileSync(join(__dirname, 'fixtures/alipay/20260314_业务明细.csv'), 'utf8');

  it('reads the 业务明细 file of the day’s bill ZIP (GBK, GBK entry names, tab padding, negative refunds, fees, footer)', async () => {
    fake.setBill('2026-03-14', alipayBillArchive({ account: '20880000000000010156', date: '2026-03-14', details: fixture }));
    expect(await collect(adapter.fetchStatement('2026-03-14'))).toEqual([
      {
        channelTradeNo: '2026031422001412340000000001',
        merchantOrderId: '3f0e9a4c-1b2d-4e6f-8a7b-9c0d1e2f3a4b',
        kind: 'PAYMENT',
        amount: { currency: 'CNY', value: 600 },
        fee: { currency: 'CNY', value: 4 },
        occurredAt: '2026-03-14T02:00:05.000Z',
      },
      {
        channelTradeNo: '2026031422001412340000000002',
        merchantOrderId: 'a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90',
        kind: 'PAYMENT',
        amount: { currency: 'CNY', value: 123456789 },
        fee: { currency: 'CNY', value: 740741 },
        occurredAt: '2026-03-14T15:59:59.000Z',
      },
      {
        channelTradeNo: '2026031422001412340000000001',
        merchantOrderId: '3f0e9a4c-1b2d-4e6f-8a7b-9c0d1e2f3a4b',
        kind: 'REFUND',
        amount: { currency: 'CNY', value: 100 },
        fee: { currency: 'CNY', value: 1 },
        occurredAt: '2026-03-14T10:30:00.000Z',
        refundId: 'rf3f0e9a4c01',
      },
      {
        channelTradeNo: '2026031422001412340000000003',
        kind: 'PAYMENT',
        amount: { currency: 'CNY', value: 1 },
        fee: { currency: 'CNY', value: 0 },
        occurredAt: '2026-03-13T16:00:01.000Z',
      },
      {
        channelTradeNo: '2026031322001412340000000009',
        merchantOrderId: 'b0c1d2e3-f405-1627-3849-5a6b7c8d9e0f',
        kind: 'REFUND',
        amount: { currency: 'CNY', value: 600 },
        fee: { currency: 'CNY', value: 4 },
        occurredAt: '2026-03-14T04:00:00.000Z',
        refundId: 'rf-b0c1d2e3-full',
      },
    ]);
  });

  it('yields no rows for a day without a bill, nor for a bill without business', async () => {
    fake.setBill('2026-03-15', null);
    expect(await collect(adapter.fetchStatement('2026-03-15'))).toEqual([]);
    const empty = businessDetailsCsv('20880000000000010156', '2026-03-16', [], new Date());
    fake.setBill('2026-03-16', alipayBillArchive({ account: '20880000000000010156', date: '2026-03-16', details: empty }));
    expect(await collect(adapter.fetchStatement('2026-03-16'))).toEqual([]);
  });

  it("lists the day's payments and refunds as the gateway's bill has them", async () => {
    const request = newRequest();
    const created = await adapter.createPayment(request);
    const notification = fake.pay(created.payment);
    await adapter.refund({
      refundId: 'rf-bill',
      payment: refOf(request, created.channelPaymentId),
      amount: { currency: 'CNY', value: 200 },
      paid: request.amount,
      reason: 'bill',
    });
    const rows = await collect(adapter.fetchStatement(beijingDate(new Date())));
    const ours = rows.filter((row) => row.channelTradeNo === notification.fields.trade_no);
    expect(ours).toEqual([
      expect.objectContaining({ kind: 'PAYMENT', merchantOrderId: request.orderId, amount: request.amount, fee: { currency: 'CNY', value: 4 } }),
      expect.objectContaining({ kind: 'REFUND', merchantOrderId: request.orderId, amount: { currency: 'CNY', value: 200 }, refundId: 'rf-bill' }),
    ]);
  });

  async function* linesOf(text: string) {
    yield* text.split('\n');
  }

  it('finds the columns by name, in whatever order the bill lists them', async () => {
    const text = [
      '#支付宝业务明细查询',
      '备注,服务费（元）,完成时间,订单金额（元）,业务类型,退款批次号/请求号,商户订单号,支付宝交易号',
      '\t,-0.01\t,2026-03-14 08:00:00\t,2.00\t,交易\t,\t,3f0e9a4c1b2d4e6f8a7b9c0d1e2f3a4b\t,2026031422001412340000000042\t',
      '#-----------------------------------------业务明细列表结束------------------------------------',
    ].join('\n');
    expect(await collect(parseBusinessDetails(linesOf(text)))).toEqual([
      {
        channelTradeNo: '2026031422001412340000000042',
        merchantOrderId: '3f0e9a4c-1b2d-4e6f-8a7b-9c0d1e2f3a4b',
        kind: 'PAYMENT',
        amount: { currency: 'CNY', value: 200 },
        fee: { currency: 'CNY', value: 1 },
        occurredAt: '2026-03-14T00:00:00.000Z',
      },
    ]);
  });

  it('refuses a bill missing a column or holding an amount that is not yuan', async () => {
    const withoutFee = fixture.replace(',服务费（元）', '');
    await expect(collect(parseBusinessDetails(linesOf(withoutFee)))).rejects.toMatchObject({ code: 'BILL_MALFORMED' });
    const badAmount = fixture.replace('\t,6.00\t,6.00', '\t,6.001\t,6.00');
    await expect(collect(parseBusinessDetails(linesOf(badAmount)))).rejects.toMatchObject({
      code: 'BILL_MALFORMED',
      message: expect.stringContaining('line 6'),
    });
    fake.setBill('2026-03-17', Buffer.from('not a zip'));
    expect(await failure(collect(adapter.fetchStatement('2026-03-17')))).toMatchObject({ kind: 'FINAL', code: 'BILL_MALFORMED' });
  });
});

describe('alipay credentials', () => {
  const valid = { appId: APP_ID, appPrivateKey: appKeys.privateKey, alipayPublicKey: otherKeys.publicKey };

  it('take exactly appId, appPrivateKey (PKCS#8), alipayPublicKey, sellerId? and gateway?', () => {
    expect(alipayCredentials.parse({ ...valid, sellerId: SELLER_ID, gateway: 'https://openapi-sandbox.dl.alipaydev.com/gateway.do' })).toEqual({
      ...valid,
      sellerId: SELLER_ID,
      gateway: 'https://openapi-sandbox.dl.alipaydev.com/gateway.do',
    });
    expect(alipayCredentials.safeParse({ ...valid, privateKey: appKeys.privateKey }).success).toBe(false);
    expect(alipayCredentials.safeParse({ ...valid, sellerId: '12345' }).success).toBe(false);
  });

  it('refuse a PKCS#1 private key without echoing it', () => {
    const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const result = alipayCredentials.safeParse({ ...valid, appPrivateKey: pkcs1 });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join('.'))).toEqual(['appPrivateKey']);
    expect(JSON.stringify(result.error)).not.toContain(pkcs1.split('\n')[1]!);
  });
});
