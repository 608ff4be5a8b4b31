import { createHash, createPublicKey, createVerify, generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChannelError, createChannelHttp, type ChannelHttp } from '../../channels/http';
import { merchantOrderNo } from '../../channels/ids';
import type { ChannelAdapter, CreatePaymentRequest, InboundCallback, Platform, StatementRow } from '../../channels/types';
import { wechatpayChannel, wechatpayCredentials, type WechatpayCredentials } from '../../channels/wechatpay/adapter';
import { parseTradeBill } from '../../channels/wechatpay/statement';
import { beijingDate, decryptResource, encryptResource, notificationEnvelope } from '../../channels/wechatpay/wire';
import { WechatpayFake } from '../../testkit/fakes/wechatpay';
import { describeChannelConformance } from './conformance';
import { localEgress } from '../support/egress';

/** fetch refuses port 9 outright: notifications here are handed to the adapter, not sent. */
const NOWHERE = 'http://127.0.0.1:9/v1/callbacks/wechatpay';
const FIXTURES = join(__dirname, 'fixtures', 'wechatpay');
const unixNow = () => Math.floor(Date.now() / 1000);
const strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

function adapterFor(credentials: WechatpayCredentials, http: ChannelHttp = createChannelHttp({ timeoutMs: 5_000, egress: localEgress })): ChannelAdapter {
  return wechatpayChannel().createAdapter(
    { channelId: 'wechatpay-test', type: 'wechatpay', credentials: wechatpayCredentials.parse(credentials) },
    { http, callbackUrl: NOWHERE, publicBaseUrl: 'http://127.0.0.1:9' },
  );
}

function request(fields: Partial<CreatePaymentRequest> = {}): CreatePaymentRequest {
  return {
    orderId: randomUUID(),
    amount: { currency: 'CNY', value: 600 },
    subject: '60 Gems',
    notifyUrl: NOWHERE,
    expiresAt: new Date(Date.now() + 15 * 60_000),
    userId: 'player-1',
    ...fields,
  };
}

/** The notification's body with its resource decrypted, changed and encrypted again (signature kept). */
function withResource(callback: InboundCallback, apiV3Key: string, change: (resource: Record<string, unknown>) => Record<string, unknown>): InboundCallback {
  const body = notificationEnvelope.parse(JSON.parse(callback.rawBody.toString()));
  const resource = change(JSON.parse(decryptResource(body.resource, apiV3Key)!) as Record<string, unknown>);
  body.resource.ciphertext = encryptResource(JSON.stringify(resource), apiV3Key, body.resource.nonce, body.resource.associated_data ?? '');
  return { ...callback, rawBody: Buffer.from(JSON.stringify(body)) };
}

const notificationId = (callback: InboundCallback) => (JSON.parse(callback.rawBody.toString()) as { id: string }).id;

async function outcome(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'accepted',
    (err: { code?: string }) => err.code ?? String(err),
  );
}

async function collect(rows: AsyncIterable<StatementRow>): Promise<StatementRow[]> {
  const all: StatementRow[] = [];
  for await (const row of rows) all.push(row);
  return all;
}

async function channelError(promise: Promise<unknown>): Promise<ChannelError> {
  const err = await promise.then(
    () => {
      throw new Error('expected a ChannelError');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof ChannelError)) throw err;
  return err;
}

describeChannelConformance('wechatpay', async () => {
  const fake = await new WechatpayFake().start();
  const adapter = adapterFor(fake.credentials());
  // Phones pay in the app (APP pay), the rest scan a code (Native): the suite runs both.
  const platforms: (Platform | undefined)[] = ['android', 'web', 'ios', undefined];
  let next = 0;
  return {
    adapter,
    newRequest: () => request({ platform: platforms[next++ % platforms.length] }),
    pay: async (created) => fake.pay(created.channelPaymentId),
    signWithWrongKey: (callback) => fake.sign(callback.rawBody, { key: strangerKey }),
    tamper: (callback) =>
      withResource(callback, fake.apiV3Key, (trade) => ({ ...trade, amount: { ...(trade.amount as object), total: 1, payer_total: 1 } })),
    stale: (callback) => fake.sign(callback.rawBody, { timestamp: unixNow() - 305 }),
    statementDate: () => beijingDate(new Date()),
    close: () => fake.stop(),
  };
});

describe('wechatpay, beyond the suite', () => {
  let fake: WechatpayFake;
  let adapter: ChannelAdapter;
  beforeAll(async () => {
    fake = await new WechatpayFake().start();
    adapter = adapterFor(fake.credentials());
  });
  afterAll(() => fake.stop());

  const lastRequest = () => fake.requests[fake.requests.length - 1]!;
  const rejection = (callback: InboundCallback) => outcome(adapter.verifyNotification(callback));

  async function paid(fields: Partial<CreatePaymentRequest> = {}) {
    const req = request(fields);
    const created = await adapter.createPayment(req);
    const callback = fake.pay(created.channelPaymentId);
    const [event] = (await adapter.verifyNotification(callback)).events;
    const ref = { orderId: req.orderId, channelPaymentId: created.channelPaymentId, channelTradeNo: event!.channelTradeNo, amount: req.amount };
    return { req, created, callback, event: event!, ref };
  }

  describe('creating payments', () => {
    it('asks for APP pay on phones and hands the client the SDK parameters, signed with the merchant key', async () => {
      const req = request({ platform: 'ios', amount: { currency: 'CNY', value: 1234 }, clientIp: '203.0.113.7' });
      const created = await adapter.createPayment(req);
      const sent = lastRequest();
      expect(sent.pathWithQuery).toBe('/v3/pay/transactions/app');
      expect(sent.body).toMatchObject({
        appid: fake.appId,
        mchid: fake.mchId,
        out_trade_no: merchantOrderNo(req.orderId),
        notify_url: NOWHERE,
        amount: { total: 1234, currency: 'CNY' },
        scene_info: { payer_client_ip: '203.0.113.7' },
      });
      const expire = (sent.body as { time_expire: string }).time_expire;
      expect(expire).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
      expect(new Date(expire).getTime()).toBe(Math.floor(req.expiresAt.getTime() / 1000) * 1000);

      const p = created.payment as Record<string, string>;
      expect(created.channelPaymentId).toBe(merchantOrderNo(req.orderId));
      expect(p).toMatchObject({ tradeType: 'APP', appid: fake.appId, partnerid: fake.mchId, package: 'Sign=WXPay' });
      expect(p.prepayid).toBe(fake.trades.get(created.channelPaymentId)!.prepayId);
      const merchantPublicKey = createPublicKey(fake.merchantPrivateKeyPem);
      const signed = `${p.appid}\n${p.timestamp}\n${p.noncestr}\n${p.prepayid}\n`;
      expect(createVerify('sha256').update(signed).verify(merchantPublicKey, p.sign!, 'base64')).toBe(true);
      expect(createVerify('sha256').update(signed.replace(p.prepayid!, 'wx000')).verify(merchantPublicKey, p.sign!, 'base64')).toBe(false);
    });

    it('asks for Native pay on web and pc, and without a platform: the payer scans codeUrl', async () => {
      for (const platform of ['web', 'pc', undefined] as const) {
        const created = await adapter.createPayment(request({ platform }));
        expect(lastRequest().pathWithQuery).toBe('/v3/pay/transactions/native');
        expect(created.payment).toEqual({ tradeType: 'NATIVE', codeUrl: fake.trades.get(created.channelPaymentId)!.codeUrl });
        expect(created.payment.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
      }
    });

    it('refuses another currency before calling WeChat, and a paid order as WeChat does', async () => {
      const before = fake.requests.length;
      const err = await channelError(adapter.createPayment(request({ amount: { currency: 'USD', value: 100 } })));
      expect(err).toMatchObject({ kind: 'FINAL', code: 'UNSUPPORTED_CURRENCY' });
      expect(fake.requests).toHaveLength(before);
      const { req } = await paid();
      expect(await channelError(adapter.createPayment(req))).toMatchObject({ kind: 'FINAL', code: 'ORDERPAID' });
    });

    it('is refused as final when its signature is not the merchant key WeChat knows, without leaking secrets', async () => {
      const otherPem = strangerKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const impostor = adapterFor({ ...fake.credentials(), merchantPrivateKey: otherPem });
      const err = await channelError(impostor.createPayment(request()));
      expect(err).toMatchObject({ kind: 'FINAL', code: 'SIGN_ERROR' });
      expect(err.message).not.toContain(fake.apiV3Key);
      expect(err.message).not.toContain(otherPem.split('\n')[1]);
    });
  });

  describe('notifications', () => {
    it('accepts TRANSACTION.SUCCESS in the real format, header names in any case, and acknowledges with 204', async () => {
      const req = request({ amount: { currency: 'CNY', value: 4800 } });
      const created = await adapter.createPayment(req);
      const callback = fake.pay(created.channelPaymentId);
      const upper = Object.fromEntries(Object.entries(callback.headers).map(([k, v]) => [k.toUpperCase(), v]));
      const { events } = await adapter.verifyNotification({ ...callback, headers: upper });
      const trade = fake.trades.get(created.channelPaymentId)!;
      expect(events).toEqual([
        {
          kind: 'PAYMENT_SUCCEEDED',
          dedupeKey: `wechatpay:${trade.transactionId}:paid`,
          merchantOrderId: req.orderId,
          channelPaymentId: merchantOrderNo(req.orderId),
          channelTradeNo: trade.transactionId,
          amount: { currency: 'CNY', value: 4800 },
          occurredAt: new Date(Math.floor(trade.successTime!.getTime() / 1000) * 1000).toISOString(),
        },
      ]);
      expect(adapter.acknowledgement()).toEqual({ status: 204, contentType: 'text/plain', body: '' });
    });

    it('verifies with a platform certificate named by its serial (Wechatpay-Serial)', async () => {
      const certified = await new WechatpayFake({ platformCertificate: true }).start();
      try {
        expect(certified.platformPublicPem).toContain('BEGIN CERTIFICATE');
        expect(certified.platformKeyId).toMatch(/^[0-9A-F]{40}$/);
        const certifiedAdapter = adapterFor(certified.credentials());
        const created = await certifiedAdapter.createPayment(request());
        const { events } = await certifiedAdapter.verifyNotification(certified.pay(created.channelPaymentId));
        expect(events[0]).toMatchObject({ kind: 'PAYMENT_SUCCEEDED', amount: { currency: 'CNY', value: 600 } });
      } finally {
        await certified.stop();
      }
    });

    it('accepts a notification signed within ±300 s and rejects one outside, before or after', async () => {
      const { callback } = await paid();
      expect(await rejection(fake.sign(callback.rawBody, { timestamp: unixNow() - 250 }))).toBe('accepted');
      expect(await rejection(fake.sign(callback.rawBody, { timestamp: unixNow() - 301 }))).toBe('STALE_NOTIFICATION');
      expect(await rejection(fake.sign(callback.rawBody, { timestamp: unixNow() + 301 }))).toBe('STALE_NOTIFICATION');
    });

    it('rejects an unknown Wechatpay-Serial, a WECHATPAY/SIGNTEST/ probe, another signature type and missing headers', async () => {
      const { callback } = await paid();
      expect(await rejection(fake.sign(callback.rawBody, { keyId: 'PUB_KEY_ID_0000000000000000000000' }))).toBe('INVALID_SIGNATURE');
      const probe = adapter.verifyNotification(fake.sign(callback.rawBody, { signature: 'WECHATPAY/SIGNTEST/c2lnbmF0dXJl' }));
      await expect(probe).rejects.toMatchObject({ code: 'INVALID_SIGNATURE', message: expect.stringContaining('SIGNTEST') });
      const sm2 = { ...callback, headers: { ...callback.headers, 'wechatpay-signature-type': 'WECHATPAY2-SM2-WITH-SM3' } };
      expect(await rejection(sm2)).toBe('INVALID_SIGNATURE');
      const { ['wechatpay-nonce']: _nonce, ...withoutNonce } = callback.headers;
      expect(await rejection({ ...callback, headers: withoutNonce })).toBe('INVALID_SIGNATURE');
      // The signed bytes are the body as received: the same JSON re-serialised is another message.
      const reformatted = Buffer.from(JSON.stringify(JSON.parse(callback.rawBody.toString()), null, 2));
      expect(await rejection({ ...callback, rawBody: reformatted })).toBe('INVALID_SIGNATURE');
    });

    it('rejects a resource that fails its GCM tag, even in a body WeChat signed', async () => {
      const { callback } = await paid();
      const body = JSON.parse(callback.rawBody.toString());
      const flipped = Buffer.from(body.resource.ciphertext, 'base64');
      flipped[3] ^= 0x01;
      const tamperedCiphertext = { ...body, resource: { ...body.resource, ciphertext: flipped.toString('base64') } };
      expect(await rejection(fake.sign(JSON.stringify(tamperedCiphertext)))).toBe('INVALID_SIGNATURE');
      const otherAad = { ...body, resource: { ...body.resource, associated_data: 'refund' } };
      expect(await rejection(fake.sign(JSON.stringify(otherAad)))).toBe('INVALID_SIGNATURE');
      const resource = JSON.parse(decryptResource(body.resource, fake.apiV3Key)!);
      const underAnotherKey = fake.notification('TRANSACTION.SUCCESS', 'transaction', '支付成功', resource, { apiV3Key: 'A'.repeat(32) });
      expect(await rejection(underAnotherKey)).toBe('INVALID_SIGNATURE');
      expect(await rejection(fake.notification('TRANSACTION.SUCCESS', 'transaction', '支付成功', resource))).toBe('accepted');
    });

    it('rejects an authentic notification for another merchant or app as WRONG_MERCHANT', async () => {
      const { callback } = await paid();
      const trade = JSON.parse(decryptResource(notificationEnvelope.parse(JSON.parse(callback.rawBody.toString())).resource, fake.apiV3Key)!);
      const forMerchant = (fields: Record<string, string>) => fake.notification('TRANSACTION.SUCCESS', 'transaction', '支付成功', { ...trade, ...fields });
      expect(await rejection(forMerchant({ mchid: '1900000999' }))).toBe('WRONG_MERCHANT');
      expect(await rejection(forMerchant({ appid: 'wx0000000000000000' }))).toBe('WRONG_MERCHANT');
      const refund = {
        mchid: '1900000999',
        out_trade_no: trade.out_trade_no,
        transaction_id: trade.transaction_id,
        out_refund_no: 'rf_x',
        refund_id: '50300000000000000000000000001',
        refund_status: 'SUCCESS',
        success_time: trade.success_time,
        amount: { total: 600, refund: 600, payer_total: 600, payer_refund: 600 },
      };
      expect(await rejection(fake.notification('REFUND.SUCCESS', 'refund', '退款成功', refund))).toBe('WRONG_MERCHANT');
    });

    it('rejects signed bodies that are not notifications as MALFORMED_NOTIFICATION', async () => {
      const { callback } = await paid();
      expect(await rejection(fake.sign('{"id":'))).toBe('MALFORMED_NOTIFICATION');
      const body = JSON.parse(callback.rawBody.toString());
      expect(await rejection(fake.sign(JSON.stringify({ ...body, resource: undefined })))).toBe('MALFORMED_NOTIFICATION');
      expect(await rejection(fake.notification('TRANSACTION.SUCCESS', 'transaction', '支付成功', { appid: fake.appId }))).toBe('MALFORMED_NOTIFICATION');
      const unpaid = { appid: fake.appId, mchid: fake.mchId, out_trade_no: merchantOrderNo(randomUUID()), trade_state: 'NOTPAY' };
      expect(await rejection(fake.notification('TRANSACTION.SUCCESS', 'transaction', '支付成功', unpaid))).toBe('MALFORMED_NOTIFICATION');
    });

    it('acknowledges an authentic event it does not act on, reporting no event', async () => {
      const verified = await adapter.verifyNotification(fake.notification('MCHTRANSFER.BILL.FINISHED', 'mch_payment', '转账完成', { mch_id: fake.mchId }));
      expect(verified.events).toEqual([]);
      expect(verified.notice).toContain('MCHTRANSFER.BILL.FINISHED');
    });

    it('gives a resent notification the same dedupe key and distinct events distinct keys, in any order', async () => {
      const { callback, event, ref } = await paid();
      const refundId = `rf_${randomUUID()}`;
      await adapter.refund({ refundId, payment: ref, amount: ref.amount, paid: ref.amount, reason: 'test' });
      const refundCallback = fake.settleRefund(refundId);
      // The refund's notification may arrive first; WeChat resends each with its id, re-signed later.
      const refundFirst = (await adapter.verifyNotification(refundCallback)).events[0]!;
      const resentPayment = (await adapter.verifyNotification(fake.sign(callback.rawBody))).events[0]!;
      const resentRefund = (await adapter.verifyNotification(fake.sign(refundCallback.rawBody))).events[0]!;
      expect(resentPayment.dedupeKey).toBe(event.dedupeKey);
      expect(resentRefund.dedupeKey).toBe(refundFirst.dedupeKey);
      expect(refundFirst.dedupeKey).not.toBe(event.dedupeKey);
      expect(refundFirst.dedupeKey).toBe(notificationId(refundCallback));
    });
  });

  describe('refunds', () => {
    it('refunds asynchronously: PROCESSING, then REFUND.SUCCESS reports our refund id and the amount', async () => {
      const { ref, event } = await paid({ amount: { currency: 'CNY', value: 3000 } });
      const refundId = `rf_${ref.orderId}`;
      const result = await adapter.refund({ refundId, payment: ref, amount: { currency: 'CNY', value: 1000 }, paid: event.amount!, reason: 'customer service' });
      expect(result.state).toBe('PROCESSING');
      expect(lastRequest()).toMatchObject({
        pathWithQuery: '/v3/refund/domestic/refunds',
        body: { out_trade_no: ref.channelPaymentId, out_refund_no: refundId, notify_url: NOWHERE, amount: { refund: 1000, total: 3000, currency: 'CNY' } },
      });
      expect(await adapter.queryRefund({ refundId, payment: ref })).toEqual({ state: 'PROCESSING', channelRefundId: result.channelRefundId, amount: { currency: 'CNY', value: 1000 } });

      const notice = fake.settleRefund(refundId, 'SUCCESS');
      const { events } = await adapter.verifyNotification(notice);
      expect(events).toEqual([
        {
          kind: 'REFUND_SUCCEEDED',
          dedupeKey: notificationId(notice),
          merchantOrderId: ref.orderId,
          channelPaymentId: ref.channelPaymentId,
          channelTradeNo: event.channelTradeNo,
          refundId,
          channelRefundId: result.channelRefundId,
          amount: { currency: 'CNY', value: 1000 },
          occurredAt: expect.stringMatching(/Z$/),
        },
      ]);
      expect((await adapter.queryRefund({ refundId, payment: ref })).state).toBe('SUCCEEDED');
      expect((await adapter.queryPayment(ref)).state).toBe('REFUNDED');
    });

    it('reports REFUND.ABNORMAL and REFUND.CLOSED as failed refunds, and the query agrees', async () => {
      for (const status of ['ABNORMAL', 'CLOSED'] as const) {
        const { ref } = await paid();
        const refundId = `rf_${randomUUID()}`;
        await adapter.refund({ refundId, payment: ref, amount: ref.amount, paid: ref.amount, reason: 'test' });
        const { events } = await adapter.verifyNotification(fake.settleRefund(refundId, status));
        expect(events).toEqual([expect.objectContaining({ kind: 'REFUND_FAILED', refundId, merchantOrderId: ref.orderId })]);
        expect(events[0]!.amount).toBeUndefined();
        expect((await adapter.queryRefund({ refundId, payment: ref })).state).toBe('FAILED');
      }
    });

    it('asks WeChat for one refund per refund id, however often it is asked', async () => {
      const { ref } = await paid();
      const refund = { refundId: `rf_${randomUUID()}`, payment: ref, amount: ref.amount, paid: ref.amount, reason: 'test' };
      const [first, second] = [await adapter.refund(refund), await adapter.refund(refund)];
      expect(second.channelRefundId).toBe(first.channelRefundId);
      expect([...fake.refunds.values()].filter((r) => r.outTradeNo === ref.channelPaymentId)).toHaveLength(1);
      expect((await adapter.queryRefund({ refundId: 'rf_never_asked', payment: ref })).state).toBe('NOT_FOUND');
    });

    it('passes on a refusal as final: more than was paid', async () => {
      const { ref } = await paid();
      const err = await channelError(adapter.refund({ refundId: `rf_${randomUUID()}`, payment: ref, amount: { currency: 'CNY', value: 601 }, paid: ref.amount, reason: 'x' }));
      expect(err).toMatchObject({ kind: 'FINAL', code: 'INVALID_REQUEST' });
    });
  });

  describe('queries and closing', () => {
    it('maps trade states: NOTPAY and USERPAYING pending, PAYERROR failed, CLOSED closed, unknown order not found', async () => {
      const req = request();
      const created = await adapter.createPayment(req);
      const ref = { orderId: req.orderId, channelPaymentId: created.channelPaymentId, amount: req.amount };
      const trade = fake.trades.get(created.channelPaymentId)!;
      const states: [typeof trade.state, string][] = [
        ['NOTPAY', 'PENDING'],
        ['USERPAYING', 'PENDING'],
        ['PAYERROR', 'FAILED'],
        ['CLOSED', 'CLOSED'],
      ];
      for (const [state, expected] of states) {
        trade.state = state;
        expect((await adapter.queryPayment(ref)).state).toBe(expected);
      }
      expect((await adapter.queryPayment({ ...ref, channelPaymentId: merchantOrderNo(randomUUID()) })).state).toBe('NOT_FOUND');
    });

    it('answers a paid query with the event its notification carried, under the same dedupe key (one payment result per transaction)', async () => {
      const { ref, event } = await paid();
      const first = await adapter.queryPayment(ref);
      const again = await adapter.queryPayment(ref);
      expect(first.event).toEqual(event);
      expect(again.event).toEqual(event);
      expect(event.dedupeKey).toBe(`wechatpay:${event.channelTradeNo}:paid`);
    });

    it('reports ALREADY_PAID when the payer pays between its query and the close (WeChat answers ORDERPAID)', async () => {
      const http = createChannelHttp({ timeoutMs: 5_000, egress: localEgress });
      const racing: ChannelHttp = {
        send: async (call) => {
          const close = /out-trade-no\/([^/]+)\/close$/.exec(new URL(call.url).pathname);
          if (close) fake.pay(close[1]!);
          return http.send(call);
        },
      };
      const racingAdapter = adapterFor(fake.credentials(), racing);
      const req = request();
      const created = await racingAdapter.createPayment(req);
      expect(await racingAdapter.closePayment({ orderId: req.orderId, channelPaymentId: created.channelPaymentId, amount: req.amount })).toBe('ALREADY_PAID');
      expect(fake.trades.get(created.channelPaymentId)!.state).toBe('SUCCESS');
    });

    it('never believes an answer WeChat did not sign: another key, outside ±300 s or no signature is a transient error', async () => {
      const { ref } = await paid();
      try {
        for (const signing of ['wrong-key', 'stale', 'unsigned'] as const) {
          fake.responseSigning = signing;
          expect(await channelError(adapter.queryPayment(ref))).toMatchObject({ kind: 'TRANSIENT', code: 'UNVERIFIED_RESPONSE' });
          // An unsigned "not found" is not taken as a state either.
          const missing = await channelError(adapter.queryPayment({ ...ref, channelPaymentId: merchantOrderNo(randomUUID()) }));
          expect(missing.code).toBe(signing === 'unsigned' ? 'ORDER_NOT_EXIST' : 'UNVERIFIED_RESPONSE');
        }
      } finally {
        fake.responseSigning = 'valid';
      }
      expect((await adapter.queryPayment(ref)).state).toBe('SUCCEEDED');
    });

  });

  describe('statements', () => {
    const fixture = (name: string) => readFileSync(join(FIXTURES, name));

    it('parses the ALL trade bill: BOM, backtick cells, commas in names, refunds with their fees, summary ignored', async () => {
      const rows = await collect(parseTradeBill(fixture('tradebill-all-2026-01-15.csv')));
      expect(rows).toEqual([
        {
          channelTradeNo: '4200002613202601150000000001',
          merchantOrderId: '3f0e9a4c-1b2d-4e6f-8a7b-9c0d1e2f3a4b',
          kind: 'PAYMENT',
          amount: { currency: 'CNY', value: 600 },
          fee: { currency: 'CNY', value: 4 },
          occurredAt: '2026-01-14T16:05:00.000Z',
        },
        {
          channelTradeNo: '4200002613202601150000000002',
          merchantOrderId: '7c1d2e3f-4a5b-4c6d-9e7f-8a9b0c1d2e3f',
          kind: 'PAYMENT',
          amount: { currency: 'CNY', value: 3000 },
          fee: { currency: 'CNY', value: 15 },
          occurredAt: '2026-01-15T01:30:12.000Z',
        },
        {
          channelTradeNo: '4200002613202601150000000003',
          kind: 'PAYMENT',
          amount: { currency: 'CNY', value: 1200 },
          fee: { currency: 'CNY', value: 7 },
          occurredAt: '2026-01-15T03:00:00.000Z',
        },
        {
          channelTradeNo: '4200002613202601150000000001',
          merchantOrderId: '3f0e9a4c-1b2d-4e6f-8a7b-9c0d1e2f3a4b',
          kind: 'REFUND',
          amount: { currency: 'CNY', value: 600 },
          fee: { currency: 'CNY', value: 4 },
          occurredAt: '2026-01-15T10:20:00.000Z',
          refundId: 'rf_3f0e9a4c-1b2d-4e6f-8a7b-9c0d1e2f3a4b',
        },
        {
          channelTradeNo: '4200002613202601100000000009',
          merchantOrderId: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
          kind: 'REFUND',
          amount: { currency: 'CNY', value: 300 },
          fee: { currency: 'CNY', value: 2 },
          occurredAt: '2026-01-15T12:45:31.000Z',
          refundId: 'rf_0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
        },
      ]);
    });

    it('reads columns by name: an older bill without 订单金额 reports the settled amount', async () => {
      const rows = await collect(parseTradeBill(fixture('tradebill-all-legacy-columns.csv')));
      expect(rows.map((r) => [r.kind, r.amount.value, r.fee?.value])).toEqual([
        ['PAYMENT', 600, 4],
        ['PAYMENT', 2500, 15],
        ['PAYMENT', 1200, 7],
        ['REFUND', 600, 4],
      ]);
    });

    it('yields no rows for a bill without trades, and refuses a bill without its columns', async () => {
      expect(await collect(parseTradeBill(fixture('tradebill-all-empty.csv')))).toEqual([]);
      const headless = fixture('tradebill-all-2026-01-15.csv').toString().replace('微信订单号', '订单号');
      expect(await channelError(collect(parseTradeBill(headless)))).toMatchObject({ kind: 'FINAL', code: 'MALFORMED_BILL' });
    });

    it("downloads the day's bill (signed request, gzip, SHA-1 checked) with payments, refunds and fees", async () => {
      const { ref, event } = await paid({ amount: { currency: 'CNY', value: 2500 } });
      const refundId = `rf_${ref.orderId}`;
      await adapter.refund({ refundId, payment: ref, amount: { currency: 'CNY', value: 500 }, paid: event.amount!, reason: 'x' });
      fake.settleRefund(refundId);
      const rows = await collect(adapter.fetchStatement(beijingDate(new Date())));
      expect(fake.requests.some((r) => r.pathWithQuery.startsWith('/v3/billdownload/file?token='))).toBe(true);
      expect(rows).toContainEqual({ channelTradeNo: event.channelTradeNo, merchantOrderId: ref.orderId, kind: 'PAYMENT', amount: { currency: 'CNY', value: 2500 }, fee: { currency: 'CNY', value: 15 }, occurredAt: event.occurredAt });
      expect(rows).toContainEqual(
        expect.objectContaining({ channelTradeNo: event.channelTradeNo, kind: 'REFUND', refundId, amount: { currency: 'CNY', value: 500 }, fee: { currency: 'CNY', value: 3 } }),
      );
    });

    it('serves a real-format file through the API as parsed locally', async () => {
      fake.serveBill('2026-01-15', fixture('tradebill-all-2026-01-15.csv'));
      const fetched = await collect(adapter.fetchStatement('2026-01-15'));
      expect(fetched).toEqual(await collect(parseTradeBill(fixture('tradebill-all-2026-01-15.csv'))));
      expect(fetched).toHaveLength(5);
    });

    it('has no rows for a day WeChat has no bill of (NO_STATEMENT_EXIST)', async () => {
      expect(await collect(adapter.fetchStatement('2020-02-29'))).toEqual([]);
    });

    it('rejects a downloaded file whose SHA-1 is not the one WeChat signed', async () => {
      const file = fixture('tradebill-all-2026-01-15.csv');
      fake.serveBill('2026-01-16', file, { hashValue: createHash('sha1').update(Buffer.concat([file, Buffer.from(' ')])).digest('hex') });
      expect(await channelError(collect(adapter.fetchStatement('2026-01-16')))).toMatchObject({ kind: 'TRANSIENT', code: 'BILL_DIGEST_MISMATCH' });
    });
  });

  describe('credentials', () => {
    it('takes exactly the documented fields and names the one that is wrong, never echoing a secret', () => {
      const good = fake.credentials();
      expect(wechatpayCredentials.parse(good)).toEqual(good);
      const { baseUrl: _default, ...withoutBaseUrl } = good;
      expect(wechatpayCredentials.safeParse(withoutBaseUrl).success).toBe(true);
      const cases: [Partial<Record<keyof WechatpayCredentials, unknown>> & Record<string, unknown>, string][] = [
        [{ apiV3Key: good.apiV3Key.slice(1) }, 'apiV3Key'],
        [{ apiV3Key: `${good.apiV3Key.slice(2)}密` }, 'apiV3Key'],
        [{ merchantPrivateKey: good.platformPublicKeys[0]!.pem }, 'merchantPrivateKey'],
        [{ platformPublicKeys: [] }, 'platformPublicKeys'],
        [{ platformPublicKeys: [{ id: 'PUB_KEY_ID_1', pem: 'not a key' }] }, 'platformPublicKeys'],
        [{ mchId: 'merchant' }, 'mchId'],
        [{ apiKey: 'v2 key' }, ''],
      ];
      for (const [change, field] of cases) {
        const result = wechatpayCredentials.safeParse({ ...good, ...change });
        expect(result.success).toBe(false);
        expect(result.error!.issues[0]!.path[0] ?? '').toBe(field);
        expect(JSON.stringify(result.error!.issues)).not.toContain(good.merchantPrivateKey.split('\n')[1]);
      }
    });
  });
});
