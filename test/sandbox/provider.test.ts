import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createChannelHttp } from '../../channels/http';
import { sandboxChannel } from '../../channels/sandbox/adapter';
import { CallbackRejectedError, type ChannelEvent } from '../../channels/types';
import { loadConfig, type Config } from '../../infra/config';
import { openDatabase, type Database, type Db } from '../../infra/db';
import { dispatchDueNotifications, MAX_NOTIFY_ATTEMPTS, startSandboxNotifier } from '../../sandbox/notifier';
import { SandboxError, SandboxProvider, type SandboxErrorCode } from '../../sandbox/provider';
import { sandboxRouter } from '../../sandbox/routes';
import { SANDBOX_CALLBACK_PATH } from '../../channels/sandbox/wire';
import { localEgress } from '../support/egress';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/payments_test';
/** fetch refuses port 9 outright: for notifications a test never wants delivered. */
const NOWHERE = `http://127.0.0.1:9${SANDBOX_CALLBACK_PATH}`;

let database: Database;
let db: Db;
let provider: SandboxProvider;
const createdPayments: string[] = [];

/** Keys come from the environment when set (shared by parallel suites), else from this process. */
const testConfig = (overrides: Record<string, string> = {}): Config =>
  loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL, EGRESS_ALLOW_PRIVATE_NETWORKS: 'true', EGRESS_ALLOW_HTTP: 'true', ...overrides });

beforeAll(() => {
  database = openDatabase(DATABASE_URL, 5);
  db = database.db;
  provider = new SandboxProvider(database);
});

afterAll(async () => {
  // Retire this file's undelivered notifications so other suites' notifiers do not chase them.
  await db.sandboxNotification.updateMany({
    where: { paymentId: { in: createdPayments }, deliveredAt: null },
    data: { attempts: MAX_NOTIFY_ATTEMPTS },
  });
  await database.close();
});

/** The platform's sandbox adapter, with the provider's API at `baseUrl`. */
function sandboxAdapter(config: Config, baseUrl = `${config.PUBLIC_BASE_URL}/sandbox`) {
  return sandboxChannel({ publicKeyPem: config.SANDBOX_PUBLIC_KEY, adminToken: config.ADMIN_TOKEN }).createAdapter(
    { channelId: 'sandbox', type: 'sandbox', credentials: { baseUrl, apiToken: config.ADMIN_TOKEN } },
    { http: createChannelHttp({ timeoutMs: 5_000, egress: localEgress }), callbackUrl: NOWHERE, publicBaseUrl: config.PUBLIC_BASE_URL },
  );
}

async function newPayment(value = 1234, currency = 'USD', notifyUrl = NOWHERE) {
  const payment = await provider.createPayment({
    merchantOrderId: `order-${randomUUID()}`,
    amount: { currency, value },
    subject: 'A pile of gems',
    notifyUrl,
  });
  createdPayments.push(payment.id);
  return payment;
}

async function sandboxError(promise: Promise<unknown>): Promise<SandboxErrorCode> {
  const err = await promise.then(
    () => {
      throw new Error('expected a SandboxError');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SandboxError);
  return (err as SandboxError).code;
}

const notificationsOf = (paymentId: string) =>
  db.sandboxNotification.findMany({ where: { paymentId }, orderBy: { id: 'asc' } });

async function until(check: () => Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('sandbox provider', () => {
  it('creates one payment per merchant order, even concurrently', async () => {
    const merchantOrderId = `order-${randomUUID()}`;
    const input = { merchantOrderId, amount: { currency: 'EUR', value: 500 }, subject: 'Gems', notifyUrl: NOWHERE };
    const [first, ...others] = await Promise.all([1, 2, 3, 4, 5].map(() => provider.createPayment(input)));
    createdPayments.push(first.id);
    expect(first.id).toMatch(/^sbx_[0-9a-f]{24}$/);
    expect(first.status).toBe('CREATED');
    for (const other of others) expect(other.id).toBe(first.id);
    expect((await provider.createPayment(input)).id).toBe(first.id);
    expect(await db.sandboxPayment.count({ where: { merchantOrderId } })).toBe(1);
    expect(await sandboxError(provider.createPayment({ ...input, amount: { currency: 'EUR', value: 501 } }))).toBe(
      'MERCHANT_ORDER_CONFLICT',
    );
    const free = { ...input, merchantOrderId: `order-${randomUUID()}`, amount: { currency: 'EUR', value: 0 } };
    expect(await sandboxError(provider.createPayment(free))).toBe('INVALID_REQUEST');
  });

  it('pays on SUCCESS and enqueues notifyTimes identical notifications in the same transaction', async () => {
    const payment = await newPayment(1999);
    const paid = await provider.completePayment(payment.id, { result: 'SUCCESS', notifyTimes: 3 });
    expect(paid.status).toBe('PAID');
    expect(paid.txnId).toMatch(/^sbxtxn_/);
    expect(paid.paidAmount).toBe(1999);
    expect(paid.paidAt).toBeInstanceOf(Date);

    const rows = await notificationsOf(payment.id);
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.body)).size).toBe(1);
    expect(rows.every((r) => r.notifyUrl === NOWHERE && r.deliveredAt === null && r.attempts === 0)).toBe(true);
    const body = JSON.parse(rows[0].body);
    expect(body).toEqual({
      notifyId: expect.stringMatching(/^ntf_/),
      event: 'PAYMENT_RESULT',
      paymentId: payment.id,
      merchantOrderId: payment.merchantOrderId,
      result: 'SUCCESS',
      txnId: paid.txnId,
      amount: 1999,
      currency: 'USD',
      paidAt: paid.paidAt!.toISOString(),
    });
  });

  it('keeps a failed payment payable, with a new notifyId per result', async () => {
    const payment = await newPayment();
    expect((await provider.completePayment(payment.id, { result: 'FAILED' })).status).toBe('FAILED');
    expect((await provider.completePayment(payment.id, { result: 'FAILED' })).status).toBe('FAILED');
    const paid = await provider.completePayment(payment.id, { result: 'SUCCESS', paidAmount: 1000 });
    expect(paid.status).toBe('PAID');
    expect(paid.paidAmount).toBe(1000);

    const bodies = (await notificationsOf(payment.id)).map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => b.result)).toEqual(['FAILED', 'FAILED', 'SUCCESS']);
    expect(new Set(bodies.map((b) => b.notifyId)).size).toBe(3);
    expect(bodies[0]).not.toHaveProperty('txnId');
    expect(bodies[0]).not.toHaveProperty('paidAt');
    expect(bodies[0].amount).toBe(1234);
    expect(bodies[2].amount).toBe(1000);
  });

  it('pays once when completes race', async () => {
    const payment = await newPayment();
    const outcomes = await Promise.allSettled(
      [1, 2, 3, 4].map(() => provider.completePayment(payment.id, { result: 'SUCCESS' })),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(3);
    for (const o of lost) expect((o.reason as SandboxError).code).toBe('PAYMENT_NOT_PAYABLE');
    const rows = await notificationsOf(payment.id);
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0].body).txnId).toBe((await provider.getPayment(payment.id))!.txnId);
  });

  it('refuses to complete closed, paid or unknown payments and bad notifyTimes', async () => {
    const closed = await newPayment();
    expect(await provider.closePayment(closed.id)).toBe('CLOSED');
    expect(await provider.closePayment(closed.id)).toBe('CLOSED');
    expect(await sandboxError(provider.completePayment(closed.id, { result: 'SUCCESS' }))).toBe('PAYMENT_NOT_PAYABLE');
    expect(await sandboxError(provider.completePayment(closed.id, { result: 'FAILED' }))).toBe('PAYMENT_NOT_PAYABLE');
    expect(await notificationsOf(closed.id)).toHaveLength(0);

    const paid = await newPayment();
    await provider.completePayment(paid.id, { result: 'SUCCESS' });
    expect(await sandboxError(provider.completePayment(paid.id, { result: 'SUCCESS' }))).toBe('PAYMENT_NOT_PAYABLE');

    const missing = provider.completePayment('sbx_missing', { result: 'SUCCESS' });
    expect(await sandboxError(missing)).toBe('PAYMENT_NOT_FOUND');
    const open = await newPayment();
    expect(await sandboxError(provider.completePayment(open.id, { result: 'SUCCESS', notifyTimes: 21 }))).toBe(
      'INVALID_REQUEST',
    );
    expect(await sandboxError(provider.completePayment(open.id, { result: 'SUCCESS', notifyTimes: 0 }))).toBe(
      'INVALID_REQUEST',
    );
    expect((await provider.getPayment(open.id))!.status).toBe('CREATED');
  });

  it('answers ALREADY_PAID when closing a paid or refunded payment', async () => {
    const payment = await newPayment();
    await provider.completePayment(payment.id, { result: 'SUCCESS' });
    expect(await provider.closePayment(payment.id)).toBe('ALREADY_PAID');
    expect((await provider.getPayment(payment.id))!.status).toBe('PAID');
    const amount = { currency: 'USD', value: 1234 };
    await provider.refund({ refundId: `rf_${randomUUID()}`, paymentId: payment.id, amount });
    expect(await provider.closePayment(payment.id)).toBe('ALREADY_PAID');
    expect(await sandboxError(provider.closePayment('sbx_missing'))).toBe('PAYMENT_NOT_FOUND');
  });

  it('refunds paid payments in full, idempotently by refundId', async () => {
    const payment = await newPayment(800);
    const refundId = `rf_${randomUUID()}`;
    const full = { currency: 'USD', value: 800 };
    expect(await sandboxError(provider.refund({ refundId, paymentId: payment.id, amount: full }))).toBe(
      'REFUND_NOT_ALLOWED',
    );
    await provider.completePayment(payment.id, { result: 'SUCCESS' });
    expect(
      await sandboxError(provider.refund({ refundId, paymentId: payment.id, amount: { currency: 'USD', value: 400 } })),
    ).toBe('REFUND_AMOUNT_MISMATCH');
    expect(
      await sandboxError(provider.refund({ refundId, paymentId: payment.id, amount: { currency: 'EUR', value: 800 } })),
    ).toBe('REFUND_AMOUNT_MISMATCH');

    const [a, b] = await Promise.all([
      provider.refund({ refundId, paymentId: payment.id, amount: full }),
      provider.refund({ refundId, paymentId: payment.id, amount: full }),
    ]);
    expect(a.channelRefundId).toBe(`sbxrf_${refundId}`);
    expect(b).toEqual(a);
    expect(await provider.refund({ refundId, paymentId: payment.id, amount: full })).toEqual(a);
    expect(await db.sandboxRefund.count({ where: { paymentId: payment.id } })).toBe(1);
    expect((await provider.getPayment(payment.id))!.status).toBe('REFUNDED');
    expect(
      await sandboxError(provider.refund({ refundId: `rf_${randomUUID()}`, paymentId: payment.id, amount: full })),
    ).toBe('REFUND_NOT_ALLOWED');
    expect(await sandboxError(provider.refund({ refundId, paymentId: 'sbx_missing', amount: full }))).toBe(
      'PAYMENT_NOT_FOUND',
    );
  });

  it('refunds what was actually paid', async () => {
    const payment = await newPayment(1000);
    await provider.completePayment(payment.id, { result: 'SUCCESS', paidAmount: 600 });
    const refundId = `rf_${randomUUID()}`;
    const ordered = { currency: 'USD', value: 1000 };
    expect(await sandboxError(provider.refund({ refundId, paymentId: payment.id, amount: ordered }))).toBe(
      'REFUND_AMOUNT_MISMATCH',
    );
    await provider.refund({ refundId, paymentId: payment.id, amount: { currency: 'USD', value: 600 } });
    expect((await db.sandboxRefund.findUniqueOrThrow({ where: { id: `sbxrf_${refundId}` } })).amount).toBe(600);
  });
});

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  verified?: ChannelEvent;
  rejected?: string;
}

/** Without dropping fetch's keep-alive connections, close() would wait for them to time out. */
function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Stands in for our callback endpoint: verifies each request through the adapter. */
async function startReceiver(
  answer: (n: number) => { status: number; body: string; delayMs?: number },
  config: () => Config,
) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const entry: Received = { path: req.url ?? '', headers: req.headers, rawBody: Buffer.concat(chunks) };
      received.push(entry);
      try {
        entry.verified = (await sandboxAdapter(config()).verifyNotification(entry)).events[0];
      } catch (err) {
        entry.rejected = err instanceof CallbackRejectedError ? err.code : String(err);
      }
      const { status, body, delayMs = 0 } = answer(received.length);
      setTimeout(() => res.writeHead(status, { 'Content-Type': 'text/plain' }).end(body), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    close: () => stopServer(server),
  };
}

describe('sandbox notifier', () => {
  const ack = { status: 200, body: 'SUCCESS' };

  it('delivers signed notifications and retries until acknowledged with SUCCESS', async () => {
    let config = testConfig();
    const receiver = await startReceiver((n) => (n === 1 ? { status: 500, body: 'oops' } : ack), () => config);
    try {
      config = testConfig({ PUBLIC_BASE_URL: receiver.url, SANDBOX_NOTIFY_RETRY_MS: '300' });
      const orderId = randomUUID();
      const created = await provider.createPayment({
        merchantOrderId: orderId,
        amount: { currency: 'USD', value: 4200 },
        subject: 'Starter pack',
        notifyUrl: `${config.PUBLIC_BASE_URL}${SANDBOX_CALLBACK_PATH}`,
      });
      const paymentId = created.id;
      createdPayments.push(paymentId);
      const paid = await provider.completePayment(paymentId, { result: 'SUCCESS' });

      const deps = { database, config };
      expect(await dispatchDueNotifications(deps, { paymentIds: [paymentId] })).toEqual({
        claimed: 1,
        delivered: 0,
        failed: 1,
      });
      let [row] = await notificationsOf(paymentId);
      expect(row.attempts).toBe(1);
      expect(row.deliveredAt).toBeNull();
      // The status only, never the receiver's body.
      expect(row.lastError).toBe('HTTP 500');
      expect(row.nextAttemptAt.getTime()).toBeGreaterThan(Date.now());
      // Not due again before the backoff has passed.
      expect((await dispatchDueNotifications(deps, { paymentIds: [paymentId] })).claimed).toBe(0);

      await new Promise((resolve) => setTimeout(resolve, row.nextAttemptAt.getTime() - Date.now() + 10));
      expect(await dispatchDueNotifications(deps, { paymentIds: [paymentId] })).toEqual({
        claimed: 1,
        delivered: 1,
        failed: 0,
      });
      [row] = await notificationsOf(paymentId);
      expect(row.deliveredAt).toBeInstanceOf(Date);
      expect(row.attempts).toBe(2);
      expect((await dispatchDueNotifications(deps, { paymentIds: [paymentId] })).claimed).toBe(0);

      expect(receiver.received).toHaveLength(2);
      const [first, second] = receiver.received;
      expect(first.path).toBe(SANDBOX_CALLBACK_PATH);
      expect(first.headers['content-type']).toBe('application/json');
      expect(first.rawBody.equals(second.rawBody)).toBe(true);
      expect(first.rawBody.toString()).toBe(row.body);
      for (const r of receiver.received) {
        expect(r.rejected).toBeUndefined();
        expect(r.verified).toEqual({
          kind: 'PAYMENT_SUCCEEDED',
          dedupeKey: JSON.parse(row.body).notifyId,
          channelPaymentId: paymentId,
          merchantOrderId: orderId,
          channelTradeNo: paid.txnId,
          amount: { currency: 'USD', value: 4200 },
          occurredAt: paid.paidAt!.toISOString(),
        });
      }
    } finally {
      await receiver.close();
    }
  });

  it('gives up after the maximum number of attempts, keeping the last error', async () => {
    const config = testConfig({ SANDBOX_NOTIFY_RETRY_MS: '10' });
    const receiver = await startReceiver(() => ({ status: 200, body: 'OK' }), () => config);
    try {
      const payment = await newPayment(100, 'USD', `${receiver.url}${SANDBOX_CALLBACK_PATH}`);
      await provider.completePayment(payment.id, { result: 'FAILED' });
      await db.sandboxNotification.updateMany({
        where: { paymentId: payment.id },
        data: { attempts: MAX_NOTIFY_ATTEMPTS - 1 },
      });
      expect(await dispatchDueNotifications({ database, config }, { paymentIds: [payment.id] })).toEqual({
        claimed: 1,
        delivered: 0,
        failed: 1,
      });
      await db.sandboxNotification.updateMany({
        where: { paymentId: payment.id },
        data: { nextAttemptAt: new Date(Date.now() - 1000) },
      });
      expect((await dispatchDueNotifications({ database, config }, { paymentIds: [payment.id] })).claimed).toBe(0);
      const [row] = await notificationsOf(payment.id);
      expect(row.attempts).toBe(MAX_NOTIFY_ATTEMPTS);
      expect(row.deliveredAt).toBeNull();
      // A 200 is not enough: the body must be exactly SUCCESS.
      expect(row.lastError).toBe('HTTP 200 without the acknowledgement');
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it('records network errors', async () => {
    const config = testConfig();
    const closed = await startReceiver(() => ack, () => config);
    await closed.close();
    const payment = await newPayment(100, 'USD', `${closed.url}${SANDBOX_CALLBACK_PATH}`);
    await provider.completePayment(payment.id, { result: 'FAILED' });
    await dispatchDueNotifications({ database, config }, { paymentIds: [payment.id] });
    const [row] = await notificationsOf(payment.id);
    expect(row.attempts).toBe(1);
    expect(row.lastError).toMatch(/fetch failed.*ECONNREFUSED/);
  });

  it('polls until stopped, and stop waits for the round in flight', async () => {
    let config = testConfig();
    const receiver = await startReceiver(() => ({ ...ack, delayMs: 300 }), () => config);
    config = testConfig({ SANDBOX_NOTIFY_POLL_MS: '20' });
    const notifier = startSandboxNotifier({ database, config });
    const notifyUrl = `${receiver.url}${SANDBOX_CALLBACK_PATH}`;
    const mine = (paymentId: string) => receiver.received.filter((r) => r.verified?.channelPaymentId === paymentId);
    try {
      const payment = await newPayment(100, 'USD', notifyUrl);
      await provider.completePayment(payment.id, { result: 'SUCCESS', notifyTimes: 2 });
      // Both copies are in flight (answers are delayed) when stop is called.
      await until(async () => mine(payment.id).length === 2);
      await notifier.stop();
      const rows = await notificationsOf(payment.id);
      expect(rows.map((r) => r.deliveredAt !== null)).toEqual([true, true]);
      expect(mine(payment.id)[0].verified).toEqual(mine(payment.id)[1].verified);

      const later = await newPayment(100, 'USD', notifyUrl);
      await provider.completePayment(later.id, { result: 'SUCCESS' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(mine(later.id)).toHaveLength(0);
    } finally {
      await notifier.stop();
      await receiver.close();
    }
  });
});

describe('sandbox routes', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.use('/sandbox', sandboxRouter({ database, config: routesConfig }));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sandbox`;
  });

  afterAll(() => stopServer(server));

  const errorCode = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  const routesConfig = testConfig();
  const admin = { Authorization: `Bearer ${routesConfig.ADMIN_TOKEN}` };
  const complete = (paymentId: string, body: string) =>
    fetch(`${base}/payments/${paymentId}/complete`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...admin },
      body,
    });
  const checkoutPay = (paymentId: string, body: unknown) =>
    fetch(`${base}/checkout/${paymentId}/pay`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('renders an escaped checkout page, and 404 for unknown payments', async () => {
    const payment = await provider.createPayment({
      merchantOrderId: `order-${randomUUID()}`,
      amount: { currency: 'USD', value: 1234 },
      subject: '<script>alert("x")</script> Gems & more',
      notifyUrl: NOWHERE,
    });
    createdPayments.push(payment.id);
    const res = await fetch(`${base}/checkout/${payment.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; Gems &#38; more');
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('$12.34');
    expect(html).toContain('>CREATED<');
    expect(html).toContain(`data-complete-url="${payment.id}/pay"`);
    expect(html).toMatch(/data-result="SUCCESS">Pay</);
    expect(html).toMatch(/data-result="FAILED">Fail</);

    const missing = await fetch(`${base}/checkout/%3Cb%3Enope`);
    expect(missing.status).toBe(404);
    const missingHtml = await missing.text();
    expect(missingHtml).toContain('&#60;b&#62;nope');
    expect(missingHtml).not.toContain('<b>nope');
  });

  it('completes payments and maps errors to JSON', async () => {
    const payment = await newPayment();
    const bad = await complete(payment.id, JSON.stringify({ result: 'MAYBE' }));
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe('VALIDATION_ERROR');
    const tooMany = await complete(payment.id, JSON.stringify({ result: 'SUCCESS', notifyTimes: 21 }));
    expect(tooMany.status).toBe(400);
    const notJson = await complete(payment.id, '{"result":');
    expect(notJson.status).toBe(400);
    expect(await errorCode(notJson)).toBe('VALIDATION_ERROR');
    const unknown = await complete('sbx_missing', JSON.stringify({ result: 'SUCCESS' }));
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe('PAYMENT_NOT_FOUND');

    const failed = await complete(payment.id, JSON.stringify({ result: 'FAILED' }));
    expect(failed.status).toBe(202);
    expect(await failed.json()).toEqual({ paymentId: payment.id, status: 'FAILED' });
    const paid = await complete(payment.id, JSON.stringify({ result: 'SUCCESS', notifyTimes: 2, paidAmount: 1 }));
    expect(paid.status).toBe(202);
    expect(await paid.json()).toEqual({ paymentId: payment.id, status: 'PAID' });
    expect((await provider.getPayment(payment.id))!.paidAmount).toBe(1);
    expect(await notificationsOf(payment.id)).toHaveLength(3);

    const again = await complete(payment.id, JSON.stringify({ result: 'SUCCESS' }));
    expect(again.status).toBe(409);
    expect(await errorCode(again)).toBe('PAYMENT_NOT_PAYABLE');
    const page = await (await fetch(`${base}/checkout/${payment.id}`)).text();
    expect(page).toContain('>PAID<');
    expect(page).toMatch(/data-result="SUCCESS" disabled>Pay</);
  });

  it('refuses every merchant, statement and test route without the admin token', async () => {
    const payment = await newPayment();
    const today = new Date().toISOString().slice(0, 10);
    const json = { 'Content-Type': 'application/json' };
    const open = [
      fetch(`${base}/payments/${payment.id}/complete`, { method: 'POST', headers: json, body: JSON.stringify({ result: 'SUCCESS', paidAmount: 1 }) }),
      fetch(`${base}/api/payments`, { method: 'POST', headers: json, body: JSON.stringify({ merchantOrderId: randomUUID(), amount: { currency: 'USD', value: 1 }, subject: 'x', notifyUrl: NOWHERE }) }),
      fetch(`${base}/api/payments/${payment.id}`),
      fetch(`${base}/api/payments/${payment.id}/close`, { method: 'POST', headers: json, body: '{}' }),
      fetch(`${base}/api/refunds`, { method: 'POST', headers: json, body: JSON.stringify({ refundId: randomUUID(), paymentId: payment.id, amount: { currency: 'USD', value: 1234 } }) }),
      fetch(`${base}/api/refunds/rf_1`),
      fetch(`${base}/statements/${today}`),
      fetch(`${base}/statements/${today}/adjustments`, { method: 'POST', headers: json, body: JSON.stringify({ kind: 'EXTRA', amount: 600 }) }),
      fetch(`${base}/api/payments/${payment.id}`, { headers: { Authorization: 'Bearer not-the-admin-token-at-all' } }),
    ];
    for (const res of await Promise.all(open)) {
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe('UNAUTHORIZED');
    }
    expect((await provider.getPayment(payment.id))!.status).toBe('CREATED');
  });

  it("lets the checkout page pay its own payment the amount asked, never another amount", async () => {
    const payment = await newPayment(1234);
    const override = await checkoutPay(payment.id, { result: 'SUCCESS', paidAmount: 1 });
    expect(override.status).toBe(400);
    expect(await errorCode(override)).toBe('VALIDATION_ERROR');
    const paid = await checkoutPay(payment.id, { result: 'SUCCESS' });
    expect(paid.status).toBe(202);
    expect(await paid.json()).toEqual({ paymentId: payment.id, status: 'PAID' });
    expect((await provider.getPayment(payment.id))!.paidAmount).toBe(1234);
  });

  it("refuses a notifyUrl other than this deployment's callback route", async () => {
    const create = (notifyUrl: string) =>
      fetch(`${base}/api/payments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...admin },
        body: JSON.stringify({ merchantOrderId: `order-${randomUUID()}`, amount: { currency: 'USD', value: 100 }, subject: 'Gems', notifyUrl }),
      });
    const own = routesConfig.PUBLIC_BASE_URL;
    for (const elsewhere of ['http://169.254.169.254/latest/meta-data', `${own}/v1/orders`, `${own}/v1/callbacks/`, `http://user:pw@${new URL(own).host}/v1/callbacks/sandbox`, 'https://attacker.example/v1/callbacks/sandbox']) {
      const refused = await create(elsewhere);
      expect(refused.status).toBe(400);
      expect(await errorCode(refused)).toBe('VALIDATION_ERROR');
    }
    const accepted = await create(`${own}/v1/callbacks/sandbox`);
    expect(accepted.status).toBe(201);
    createdPayments.push(((await accepted.json()) as { paymentId: string }).paymentId);
  });
});
