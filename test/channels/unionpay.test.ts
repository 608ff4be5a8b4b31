import { randomUUID } from 'node:crypto';
import iconv from 'iconv-lite';
import { ChannelError, createChannelHttp } from '../../channels/http';
import { merchantOrderNo } from '../../channels/ids';
import type { ChannelAdapter, CreatePaymentRequest, CreatedPayment, InboundCallback, PaymentRef } from '../../channels/types';
import { unionpayChannel, unionpayCredentials, type UnionPayCredentials } from '../../channels/unionpay/adapter';
import { parseGeneralTransactionFile } from '../../channels/unionpay/statement';
import { beijingTime, fromBeijingTime, parseAnswer, refundIdOf, refundOrderIdOf, signingString, withYear } from '../../channels/unionpay/wire';
import {
  UnionPayFake,
  notificationFields,
  notificationOf,
  signAsUnionPay,
  unionpaySettlementDay,
  type Fields,
} from '../../testkit/fakes/unionpay';
import { newMerchantSigningKey, newUnionPayChain, type UnionPaySigner } from '../../testkit/fakes/unionpay-pki';
import { describeChannelConformance } from './conformance';
import { localEgress } from '../support/egress';

const MER_ID = '777290058110048';
const CALLBACK_URL = 'http://127.0.0.1:9/v1/callbacks/unionpay';
const DAY_MS = 86_400_000;

// One PKI for the file: UnionPay's chain and signing certificate, and the wrong ones.
const chain = newUnionPayChain();
const unionpaySigner = chain.signer();
const foreignSigner = newUnionPayChain(new Date(), 'Another').signer();
const expiredSigner = chain.signer({ notBefore: new Date(Date.now() - 400 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) });
const otherCompanySigner = chain.signer({ commonName: '041@Z12400000000000@某某网络科技有限公司@00000001' });
const testEnvironmentSigner = chain.signer({ commonName: '041@Z12@00040000:SIGN@00000062' });
const merchant = newMerchantSigningKey();

type FrontPayment = { formAction: string; formFields: Fields };

async function unionpaySetup(overrides: Partial<UnionPayCredentials> = {}) {
  const fake = await new UnionPayFake({ merId: MER_ID, merchant: { certId: merchant.certId, publicKeyPem: merchant.publicKeyPem }, signer: unionpaySigner }).start();
  const credentials = unionpayCredentials.parse({
    merId: MER_ID,
    signPrivateKey: merchant.privateKeyPem,
    signCertId: merchant.certId,
    rootCertificate: chain.rootPem,
    middleCertificate: chain.middlePem,
    gatewayBaseUrl: fake.url,
    ...overrides,
  });
  const adapter = unionpayChannel().createAdapter(
    { channelId: 'unionpay', type: 'unionpay', credentials },
    { http: createChannelHttp({ timeoutMs: 5_000, egress: localEgress }), callbackUrl: CALLBACK_URL, publicBaseUrl: 'http://127.0.0.1:9' },
  );
  return { fake, adapter };
}

const newRequest = (fields: Partial<CreatePaymentRequest> = {}): CreatePaymentRequest => ({
  orderId: randomUUID(),
  amount: { currency: 'CNY', value: 600 },
  subject: '60 Gems',
  notifyUrl: CALLBACK_URL,
  expiresAt: new Date(Date.now() + 15 * 60_000),
  platform: 'web',
  userId: 'player-1',
  ...fields,
});

/** The same notification with some fields changed and signed again by `signer`. */
const resigned = (callback: InboundCallback, signer: UnionPaySigner, changes: Fields = {}): InboundCallback =>
  notificationOf(signAsUnionPay({ ...notificationFields(callback), ...changes }, signer), CALLBACK_URL);

/** The same notification with some fields changed, the signature kept. */
const altered = (callback: InboundCallback, changes: Fields): InboundCallback =>
  notificationOf({ ...notificationFields(callback), ...changes }, CALLBACK_URL);

async function rejection(adapter: ChannelAdapter, callback: InboundCallback): Promise<string> {
  return adapter.verifyNotification(callback).then(
    () => 'accepted',
    (err: { code?: string }) => err.code ?? String(err),
  );
}

async function channelFailure(promise: Promise<unknown>): Promise<{ kind: string; code: string }> {
  const err = await promise.then(
    () => {
      throw new Error('expected a ChannelError');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof ChannelError)) throw err;
  return { kind: err.kind, code: err.code };
}

const refOf = (request: CreatePaymentRequest, created: CreatedPayment, channelTradeNo?: string): PaymentRef => ({
  orderId: request.orderId,
  channelPaymentId: created.channelPaymentId,
  amount: request.amount,
  ...(channelTradeNo && { channelTradeNo }),
});

describeChannelConformance('unionpay', async () => {
  const { fake, adapter } = await unionpaySetup();
  return {
    adapter,
    newRequest: () => newRequest(),
    pay: (created) => fake.pay(created.payment as FrontPayment),
    signWithWrongKey: (callback) => resigned(callback, foreignSigner),
    tamper: (callback) => altered(callback, { txnAmt: '1' }),
    statementDate: () => unionpaySettlementDay(new Date()),
    close: () => fake.stop(),
  };
});

describe('unionpay adapter, beyond the suite', () => {
  let fake: UnionPayFake;
  let adapter: ChannelAdapter;
  beforeAll(async () => ({ fake, adapter } = await unionpaySetup()));
  afterAll(() => fake.stop());

  async function paidOrder(fields: Partial<CreatePaymentRequest> = {}, respCode = '00') {
    const request = newRequest(fields);
    const created = await adapter.createPayment(request);
    const callback = await fake.pay(created.payment as FrontPayment, respCode);
    const [event] = (await adapter.verifyNotification(callback)).events;
    return { request, created, callback, event: event! };
  }

  it('makes the front consume form: 5.1.0 fields, fen, Beijing times, the channel type by platform, signed so UnionPay takes it', async () => {
    const expiresAt = new Date(Date.now() + 15 * 60_000);
    const request = newRequest({ amount: { currency: 'CNY', value: 1234 }, expiresAt });
    const created = await adapter.createPayment(request);
    const { formAction, formFields } = created.payment as FrontPayment;
    expect(formAction).toBe(`${fake.url}/gateway/api/frontTransReq.do`);
    expect(formFields).toMatchObject({
      version: '5.1.0',
      encoding: 'UTF-8',
      signMethod: '01',
      certId: merchant.certId,
      merId: MER_ID,
      accessType: '0',
      txnType: '01',
      txnSubType: '01',
      bizType: '000201',
      channelType: '07',
      orderId: merchantOrderNo(request.orderId),
      txnAmt: '1234',
      currencyCode: '156',
      backUrl: CALLBACK_URL,
      payTimeout: beijingTime(expiresAt),
    });
    expect(formFields.txnTime).toMatch(/^\d{14}$/);
    expect(created.channelPaymentId).toBe(`${formFields.orderId}:${formFields.txnTime}`);
    expect(((await adapter.createPayment(newRequest({ platform: 'ios' }))).payment as FrontPayment).formFields.channelType).toBe('08');

    // The front gateway checks the merchant's signature: a form changed after signing is refused.
    await expect(fake.pay({ formAction, formFields: { ...formFields, txnAmt: '1' } })).rejects.toThrow(/验证签名失败/);
    await expect(fake.pay({ formAction, formFields })).resolves.toMatchObject({ url: CALLBACK_URL });
  });

  it('takes CNY only, and never an order already expired', async () => {
    expect(await channelFailure(adapter.createPayment(newRequest({ amount: { currency: 'USD', value: 100 } })))).toEqual({ kind: 'FINAL', code: 'UNSUPPORTED_CURRENCY' });
    expect(await channelFailure(adapter.createPayment(newRequest({ expiresAt: new Date(Date.now() - 1000) })))).toEqual({ kind: 'FINAL', code: 'PAYMENT_EXPIRED' });
  });

  it("reports a notification in fen, with UnionPay's queryId, the payment's id and when it happened", async () => {
    const { request, created, callback, event } = await paidOrder({ amount: { currency: 'CNY', value: 1 } });
    const fields = notificationFields(callback);
    expect(event).toEqual({
      kind: 'PAYMENT_SUCCEEDED',
      dedupeKey: `unionpay:01:${fields.queryId}:PAYMENT_SUCCEEDED`,
      merchantOrderId: request.orderId,
      channelPaymentId: created.channelPaymentId,
      channelTradeNo: fields.queryId,
      amount: { currency: 'CNY', value: 1 },
      occurredAt: expect.any(String),
    });
    expect(Math.abs(Date.parse(event.occurredAt!) - Date.now())).toBeLessThan(60_000);
    expect(adapter.acknowledgement()).toEqual({ status: 200, contentType: 'text/plain', body: 'ok' });
  });

  it("rejects a signPubKeyCert from another CA, an expired one, another company's, and a signature by another key", async () => {
    const { callback } = await paidOrder();
    expect(await rejection(adapter, callback)).toBe('accepted');
    expect(await rejection(adapter, resigned(callback, foreignSigner))).toBe('INVALID_SIGNATURE');
    expect(await rejection(adapter, resigned(callback, expiredSigner))).toBe('INVALID_SIGNATURE');
    expect(await rejection(adapter, resigned(callback, otherCompanySigner))).toBe('INVALID_SIGNATURE');
    // UnionPay's genuine certificate in the body, the signature made with someone else's key.
    const forged = signAsUnionPay({ ...notificationFields(callback), txnAmt: '1' }, { ...unionpaySigner, privateKeyPem: foreignSigner.privateKeyPem });
    expect(await rejection(adapter, notificationOf(forged, CALLBACK_URL))).toBe('INVALID_SIGNATURE');
    expect(await rejection(adapter, altered(callback, { txnAmt: '1' }))).toBe('INVALID_SIGNATURE');
    const { signature: _dropped, ...unsigned } = notificationFields(callback);
    expect(await rejection(adapter, notificationOf(unsigned, CALLBACK_URL))).toBe('INVALID_SIGNATURE');
  });

  it("accepts UnionPay's test-environment signing name only for an account on UnionPay's test gateway", async () => {
    const { callback } = await paidOrder();
    const fromTestEnvironment = resigned(callback, testEnvironmentSigner);
    expect(await rejection(adapter, fromTestEnvironment)).toBe('INVALID_SIGNATURE');
    const onTestGateway = await unionpaySetup({ gatewayBaseUrl: 'https://gateway.test.95516.com' });
    try {
      expect(await rejection(onTestGateway.adapter, fromTestEnvironment)).toBe('accepted');
    } finally {
      await onTestGateway.fake.stop();
    }
  });

  it("rejects another merchant's notification, genuinely signed, as WRONG_MERCHANT; ignores orders that are not ours", async () => {
    const { callback } = await paidOrder();
    expect(await rejection(adapter, resigned(callback, unionpaySigner, { merId: '898111111111111' }))).toBe('WRONG_MERCHANT');
    const foreignOrder = await adapter.verifyNotification(resigned(callback, unionpaySigner, { orderId: '20260101120000001' }));
    expect(foreignOrder.events).toEqual([]);
    expect(foreignOrder.notice).toMatch(/not one of our orders/);
    expect(await rejection(adapter, resigned(callback, unionpaySigner, { txnAmt: '6.00' }))).toBe('MALFORMED_NOTIFICATION');
  });

  it('reports a declined payment as PAYMENT_FAILED without an amount (and queries it as still pending); A6 pays', async () => {
    const declined = await paidOrder({}, '51');
    expect(declined.event).toMatchObject({ kind: 'PAYMENT_FAILED', merchantOrderId: declined.request.orderId });
    expect(declined.event.amount).toBeUndefined();
    expect((await adapter.queryPayment(refOf(declined.request, declined.created))).state).toBe('PENDING');
    expect(await adapter.closePayment(refOf(declined.request, declined.created))).toBe('CLOSED');

    const withDefects = await paidOrder({}, 'A6');
    expect(withDefects.event).toMatchObject({ kind: 'PAYMENT_SUCCEEDED', amount: withDefects.request.amount });
  });

  it('recovers a lost notification by query (orderId + txnTime): the same event, the same dedupe key', async () => {
    const request = newRequest();
    const created = await adapter.createPayment(request);
    const lost = await fake.pay(created.payment as FrontPayment);
    const queried = await adapter.queryPayment(refOf(request, created));
    expect(queried.state).toBe('SUCCEEDED');
    const [notified] = (await adapter.verifyNotification(lost)).events;
    expect(queried.event).toEqual(notified);
    const query = fake.requests.filter((r) => r.path === '/gateway/api/queryTrans.do').at(-1)!.fields;
    const { formFields } = created.payment as FrontPayment;
    expect(query).toMatchObject({ txnType: '00', txnSubType: '00', orderId: formFields.orderId, txnTime: formFields.txnTime });
  });

  it("refunds under an orderId mapped from our refund id, reports UnionPay's refund notification, and queries the refund at each step", async () => {
    const { request, created, event } = await paidOrder({ amount: { currency: 'CNY', value: 990 } });
    const refund = { refundId: `rf_${randomUUID()}`, payment: refOf(request, created, event.channelTradeNo), amount: { currency: 'CNY', value: 500 }, paid: event.amount!, reason: 'test' };
    expect(await adapter.queryRefund(refund)).toEqual({ state: 'NOT_FOUND' });

    const first = await adapter.refund(refund);
    expect(first.state).toBe('PROCESSING');
    const asked = fake.requests.filter((r) => r.path === '/gateway/api/backTransReq.do').at(-1)!.fields;
    const refundOrderId = refundOrderIdOf(refund.refundId)!;
    expect(asked).toMatchObject({
      txnType: '04',
      txnSubType: '00',
      orderId: refundOrderId,
      txnTime: (created.payment as FrontPayment).formFields.txnTime,
      txnAmt: '500',
      origQryId: event.channelTradeNo,
      backUrl: CALLBACK_URL,
    });
    expect(await adapter.queryRefund(refund)).toEqual({ state: 'PROCESSING', channelRefundId: first.channelRefundId });
    // Asked again: UnionPay refuses the orderId as a duplicate; the refund's record answers.
    expect(await adapter.refund(refund)).toEqual(first);
    expect(fake.requests.filter((r) => r.fields.orderId === refundOrderId && r.path === '/gateway/api/backTransReq.do')).toHaveLength(2);

    const [refunded] = (await adapter.verifyNotification(fake.completeRefund(refundOrderId))).events;
    expect(refunded).toEqual({
      kind: 'REFUND_SUCCEEDED',
      dedupeKey: `unionpay:04:${first.channelRefundId}:REFUND_SUCCEEDED`,
      channelTradeNo: event.channelTradeNo,
      refundId: refund.refundId,
      channelRefundId: first.channelRefundId,
      amount: { currency: 'CNY', value: 500 },
      occurredAt: expect.any(String),
    });
    expect(await adapter.queryRefund(refund)).toEqual({ state: 'SUCCEEDED', channelRefundId: first.channelRefundId, amount: { currency: 'CNY', value: 500 } });
    expect(await adapter.refund(refund)).toEqual({ channelRefundId: first.channelRefundId, state: 'SUCCEEDED' });
  });

  it('reports a refund UnionPay declined as REFUND_FAILED; one made in the merchant portal still returns the money', async () => {
    const { request, created, event } = await paidOrder();
    const refund = { refundId: `rf_${randomUUID()}`, payment: refOf(request, created, event.channelTradeNo), amount: request.amount, paid: request.amount, reason: 'test' };
    await adapter.refund(refund);
    const [declined] = (await adapter.verifyNotification(fake.completeRefund(refundOrderIdOf(refund.refundId)!, '01'))).events;
    expect(declined).toMatchObject({ kind: 'REFUND_FAILED', refundId: refund.refundId, channelTradeNo: event.channelTradeNo });
    expect(declined!.amount).toBeUndefined();
    expect((await adapter.queryRefund(refund)).state).toBe('FAILED');
    expect(await channelFailure(adapter.refund(refund))).toEqual({ kind: 'FINAL', code: 'UNIONPAY_01' });

    const [portal] = (await adapter.verifyNotification(fake.refundFromPortal(event.channelTradeNo!, '200'))).events;
    expect(portal).toMatchObject({ kind: 'REFUND_SUCCEEDED', channelTradeNo: event.channelTradeNo, amount: { currency: 'CNY', value: 200 } });
    expect(portal!.refundId).toBeUndefined();
  });

  it("refunds a payment whose queryId it has not seen by querying the payment first", async () => {
    const { request, created, callback } = await paidOrder();
    const before = fake.requests.length;
    const result = await adapter.refund({ refundId: `rf_${randomUUID()}`, payment: refOf(request, created), amount: request.amount, paid: request.amount, reason: 'test' });
    expect(result.state).toBe('PROCESSING');
    const calls = fake.requests.slice(before);
    expect(calls.map((c) => c.path)).toEqual(['/gateway/api/queryTrans.do', '/gateway/api/backTransReq.do']);
    expect(calls[1]!.fields.origQryId).toBe(notificationFields(callback).queryId);
  });

  it('refuses a signed refund answer about another orderId, txnTime or merId, as the query does', async () => {
    const { request, created, event } = await paidOrder();
    const refund = () =>
      adapter.refund({ refundId: `rf_${randomUUID()}`, payment: refOf(request, created, event.channelTradeNo), amount: { currency: 'CNY', value: 100 }, paid: request.amount, reason: 'test' });
    const mixUps: Record<string, string>[] = [{ orderId: '0000000000000000000000000000abcd' }, { txnTime: '20260101000000' }, { merId: '777290058110097' }];
    for (const changes of mixUps) {
      fake.alterNextAnswer('/gateway/api/backTransReq.do', changes);
      expect(await channelFailure(refund())).toEqual({ kind: 'TRANSIENT', code: 'BAD_RESPONSE' });
      fake.alterNextAnswer('/gateway/api/queryTrans.do', changes);
      expect(await channelFailure(adapter.queryPayment(refOf(request, created)))).toEqual({ kind: 'TRANSIENT', code: 'BAD_RESPONSE' });
    }
    expect((await refund()).state).toBe('PROCESSING');
  });

  it("sorts UnionPay's answers: a refund beyond the payment is final, a busy gateway transient, an answer not signed by UnionPay transient", async () => {
    const { request, created, event } = await paidOrder();
    const refund = (amount: number) =>
      adapter.refund({ refundId: `rf_${randomUUID()}`, payment: refOf(request, created, event.channelTradeNo), amount: { currency: 'CNY', value: amount }, paid: request.amount, reason: 'test' });
    expect(await channelFailure(refund(601))).toEqual({ kind: 'FINAL', code: 'UNIONPAY_36' });
    fake.refuseNext('/gateway/api/backTransReq.do', '06');
    expect(await channelFailure(refund(100))).toEqual({ kind: 'TRANSIENT', code: 'UNIONPAY_06' });
    fake.signer = foreignSigner;
    try {
      expect(await channelFailure(adapter.queryPayment(refOf(request, created)))).toEqual({ kind: 'TRANSIENT', code: 'INVALID_RESPONSE_SIGNATURE' });
    } finally {
      fake.signer = unionpaySigner;
    }
    expect(await channelFailure(adapter.refund({ refundId: 'rf_not-a-uuid', payment: refOf(request, created), amount: request.amount, paid: request.amount, reason: 'test' }))).toEqual({
      kind: 'FINAL',
      code: 'INVALID_REFUND_ID',
    });
  });

  it('reads the settlement file: payments and refunds in fen with fees, refunds named by their payment and refund id; a day without a file is empty', async () => {
    const first = await paidOrder({ amount: { currency: 'CNY', value: 1000 } });
    const second = await paidOrder({ amount: { currency: 'CNY', value: 250 } });
    const refundId = `rf_${randomUUID()}`;
    await adapter.refund({ refundId, payment: refOf(first.request, first.created, first.event.channelTradeNo), amount: { currency: 'CNY', value: 400 }, paid: first.event.amount!, reason: 'test' });
    const refunded = (await adapter.verifyNotification(fake.completeRefund(refundOrderIdOf(refundId)!))).events[0]!;

    const rows: unknown[] = [];
    for await (const row of adapter.fetchStatement(unionpaySettlementDay(new Date()))) rows.push(row);
    expect(rows).toContainEqual({
      kind: 'PAYMENT',
      channelTradeNo: first.event.channelTradeNo,
      merchantOrderId: first.request.orderId,
      amount: { currency: 'CNY', value: 1000 },
      fee: { currency: 'CNY', value: 6 },
      occurredAt: expect.any(String),
    });
    expect(rows).toContainEqual(expect.objectContaining({ kind: 'PAYMENT', channelTradeNo: second.event.channelTradeNo, amount: { currency: 'CNY', value: 250 } }));
    expect(rows).toContainEqual({
      kind: 'REFUND',
      channelTradeNo: first.event.channelTradeNo,
      merchantOrderId: first.request.orderId,
      refundId,
      amount: { currency: 'CNY', value: 400 },
      fee: { currency: 'CNY', value: 2 },
      occurredAt: refunded.occurredAt,
    });

    const empty: unknown[] = [];
    for await (const row of adapter.fetchStatement('2020-01-01')) empty.push(row);
    expect(empty).toEqual([]);
    expect(fake.requests.at(-1)!.fields).toMatchObject({ txnType: '76', txnSubType: '01', fileType: '00', settleDate: '0101' });
  });
});

describe('unionpay wire formats', () => {
  it('reads a ZM line by bytes (GBK text before the fields read) and dates a December transaction in a January file', () => {
    // Built field by field from the layout, independently of the fake: widths, one space between fields.
    const widths = [3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98];
    const orderId = merchantOrderNo(randomUUID());
    const values: Record<number, string> = { 0: 'S22', 4: '1231235930', 6: '000000012345', 9: '202612312359300123456', 11: orderId, 15: 'D000000000074', 19: '01', 27: MER_ID, 30: '银联测试商户' };
    const line = Buffer.concat(
      widths.flatMap((width, i) => {
        const bytes = iconv.encode(values[i] ?? '', 'gbk');
        return [bytes, Buffer.alloc(width - bytes.length, ' '), Buffer.from(i < widths.length - 1 ? ' ' : '')];
      }),
    );
    const [row] = parseGeneralTransactionFile(Buffer.concat([line, Buffer.from('\r\n')]), '2027-01-01');
    expect(row).toEqual({
      kind: 'PAYMENT',
      channelTradeNo: '202612312359300123456',
      merchantOrderId: `${orderId.slice(0, 8)}-${orderId.slice(8, 12)}-${orderId.slice(12, 16)}-${orderId.slice(16, 20)}-${orderId.slice(20)}`,
      amount: { currency: 'CNY', value: 12345 },
      fee: { currency: 'CNY', value: 74 },
      occurredAt: '2026-12-31T15:59:30.000Z',
    });
    expect(() => parseGeneralTransactionFile(line.subarray(0, 200), '2027-01-01')).toThrow(/line 1/);
  });

  it("reads a synchronous answer as UnionPay's SDKs do: raw values, the first '=' ends the key, '&' inside braces is data", () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB+/a==\n-----END CERTIFICATE-----';
    expect(parseAnswer(`respCode=00&signPubKeyCert=${pem}&reserved={a=1&b=2}&respMsg=成功[0000000]`)).toEqual({
      respCode: '00',
      signPubKeyCert: pem,
      reserved: '{a=1&b=2}',
      respMsg: '成功[0000000]',
    });
    expect(() => parseAnswer('respCode=00&respCode=11')).toThrow(/twice/);
  });

  it("dates UnionPay's year-less times in the year nearest their reference, both ways across New Year", () => {
    expect(withYear('0101000130', fromBeijingTime('20261231235900')).toISOString()).toBe('2026-12-31T16:01:30.000Z');
    expect(withYear('1231235930', fromBeijingTime('20270101000000')).toISOString()).toBe('2026-12-31T15:59:30.000Z');
    expect(withYear('0615120000', fromBeijingTime('20270615000000')).toISOString()).toBe('2027-06-15T04:00:00.000Z');
  });

  it('signs every field but the signature, keys in code-unit order', () => {
    expect(signingString({ txnType: '01', signature: 'x', Zeta: '', accessType: '0', signPubKeyCert: 'a=b' })).toBe('Zeta=&accessType=0&signPubKeyCert=a=b&txnType=01');
  });

  it('maps refund ids to UnionPay orderIds and back, within 8-40 letters and digits', () => {
    for (const refundId of [`rf_${randomUUID()}`, `rf${randomUUID().replace(/-/g, '')}`, 'refund42']) {
      const orderId = refundOrderIdOf(refundId)!;
      expect(orderId).toMatch(/^[0-9A-Za-z]{8,40}$/);
      expect(refundIdOf(orderId)).toBe(refundId);
    }
    expect(refundOrderIdOf('rf_not-a-uuid')).toBeUndefined();
    expect(refundOrderIdOf('x'.repeat(39))).toBeUndefined();
    expect(refundIdOf(merchantOrderNo(randomUUID()))).toBeUndefined();
  });

  it('validates credentials by their exact field names, without echoing a key', () => {
    const valid = { merId: MER_ID, signPrivateKey: merchant.privateKeyPem, signCertId: merchant.certId, rootCertificate: chain.rootPem, middleCertificate: chain.middlePem };
    expect(unionpayCredentials.safeParse(valid).success).toBe(true);
    expect(unionpayCredentials.safeParse({ ...valid, encryptCertificate: chain.rootPem }).success).toBe(false);
    const badKey = unionpayCredentials.safeParse({ ...valid, signPrivateKey: 'secret-material-not-a-key' });
    expect(badKey.success).toBe(false);
    expect(JSON.stringify(badKey.error)).not.toContain('secret-material');
    expect(unionpayCredentials.safeParse({ ...valid, rootCertificate: merchant.publicKeyPem }).success).toBe(false);
  });
});
