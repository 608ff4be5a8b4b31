import { randomUUID } from 'node:crypto';
import { createOrderActivities } from '../../activities/orders';
import { createChannelRegistry } from '../../channels/registry';
import { orderIdFor, purchaseWorkflowId } from '../../domain/ids';
import { serializeNotification, signNotification } from '../../channels/sandbox/wire';
import { Harness, sleep, type TestGame } from '../support/harness';

let h: Harness;
let game: TestGame;
let sku: string;

beforeAll(async () => ({ h, game, sku } = await Harness.startWithGame()));
afterAll(() => h?.close());

const newUser = () => `user-${randomUUID().slice(0, 8)}`;

async function placeOrder(body: Record<string, unknown> = {}) {
  const res = await h.createOrder(game, { userId: newUser(), sku, region: 'CN', ...body });
  expect(res.status).toBe(201);
  return res.body as {
    orderId: string;
    status: string;
    amount: { currency: string; value: number };
    payment: { channelPaymentId: string; payUrl: string };
  };
}

describe('a purchase through the REST API', () => {
  it('goes from create to a delivered order, signed end to end', async () => {
    const userId = newUser();
    const created = await h.createOrder(game, { userId, sku, region: 'CN', quantity: 2 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'PENDING_PAYMENT',
      amount: { currency: 'CNY', value: 1200 },
      channel: 'sandbox',
      payment: { channelPaymentId: expect.stringMatching(/^sbx_/), payUrl: expect.stringContaining('/sandbox/checkout/') },
    });
    const { orderId, payment } = created.body;

    const checkout = await h.request('GET', new URL(payment.payUrl).pathname);
    expect(checkout.status).toBe(200);
    expect(String(checkout.body)).toContain('Pay');

    expect((await h.pay(payment.channelPaymentId)).status).toBe(202);
    await h.waitForStatus(orderId, 'DELIVERED');

    const grants = h.gameServer.grantsFor(orderId);
    expect(grants).toHaveLength(1);
    expect(grants[0].signatureValid).toBe(true);
    expect(grants[0].body).toMatchObject({
      orderId,
      userId,
      sku,
      quantity: 2,
      grants: [{ itemId: 'gem', quantity: 120 }],
      amount: { currency: 'CNY', value: 1200 },
      paidAt: expect.any(String),
    });

    const view = await h.signed(game, 'GET', `/v1/orders/${orderId}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ orderId, status: 'DELIVERED', userId, sku, quantity: 2 });
    expect(view.body.history.map((e: { status: string }) => e.status)).toEqual([
      'PENDING_PAYMENT',
      'PAID',
      'DELIVERING',
      'DELIVERED',
    ]);
    expect(view.body.paidAt).toBeDefined();
    expect(view.body.deliveredAt).toBeDefined();

    // Operations find the order by its search attributes.
    const handle = h.client.workflow.getHandle(purchaseWorkflowId(orderId));
    await expect(handle.result()).resolves.toBe('DELIVERED');
    const description = await handle.describe();
    expect(description.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(
      expect.arrayContaining([
        ['OrderStatus', 'DELIVERED'],
        ['GameId', game.gameId],
        ['UserId', userId],
        ['PaymentChannel', 'sandbox'],
      ]),
    );
  });

  it('uses the wildcard price for a region without its own', async () => {
    const order = await placeOrder({ region: 'US' });
    expect(order.amount).toEqual({ currency: 'USD', value: 99 });
  });

  it('delivers exactly once for 5 identical success notifications', async () => {
    const { orderId, payment } = await placeOrder();
    expect((await h.pay(payment.channelPaymentId, { result: 'SUCCESS', notifyTimes: 5 })).status).toBe(202);
    await h.waitForStatus(orderId, 'DELIVERED');
    // Let every duplicate land before counting.
    await waitUntil(async () => (await notificationCount(payment.channelPaymentId)) === 5);
    await sleep(300);
    expect(h.gameServer.grantsFor(orderId)).toHaveLength(1);
    expect(new Set(h.gameServer.attemptsFor(orderId).map((a) => a.deliveryId)).size).toBe(1);
    expect(await h.db.paymentAttempt.count({ where: { orderId } })).toBe(1);
  });

  it('stays payable after a failed payment and delivers on the next success', async () => {
    const { orderId, payment } = await placeOrder();
    expect((await h.pay(payment.channelPaymentId, { result: 'FAILED' })).status).toBe(202);
    await waitUntil(async () => (await h.db.paymentAttempt.count({ where: { orderId, result: 'FAILED' } })) === 1);
    expect(await h.orderStatus(orderId)).toBe('PENDING_PAYMENT');
    expect((await h.pay(payment.channelPaymentId, { result: 'SUCCESS' })).status).toBe(202);
    await h.waitForStatus(orderId, 'DELIVERED');
    expect(h.gameServer.grantsFor(orderId)).toHaveLength(1);
  });

  it('never delivers when the paid amount differs from the order', async () => {
    const { orderId, payment } = await placeOrder();
    expect((await h.pay(payment.channelPaymentId, { result: 'SUCCESS', paidAmount: 1 })).status).toBe(202);
    await h.waitForStatus(orderId, 'MANUAL_REVIEW');
    const discrepancy = await h.db.paymentDiscrepancy.findFirstOrThrow({ where: { orderId } });
    expect(discrepancy).toMatchObject({ expectedAmount: 600, expectedCurrency: 'CNY', paidAmount: 1, paidCurrency: 'CNY' });
    await sleep(300);
    expect(h.gameServer.attemptsFor(orderId)).toHaveLength(0);
  });

  it('rejects a forged notification and leaves the order unchanged', async () => {
    const { orderId, payment } = await placeOrder();
    const body = JSON.stringify({
      notifyId: `ntf_forged_${randomUUID()}`,
      event: 'PAYMENT_RESULT',
      paymentId: payment.channelPaymentId,
      merchantOrderId: orderId,
      result: 'SUCCESS',
      txnId: 'sbxtxn_forged',
      amount: 600,
      currency: 'CNY',
      paidAt: new Date().toISOString(),
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const { generateKeyPairSync, createSign } = await import('node:crypto');
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signature = createSign('RSA-SHA256').update(`${timestamp}\n${body}\n`).sign(attacker.privateKey, 'base64');
    const forged = await h.request('POST', '/v1/callbacks/sandbox', body, {
      'Content-Type': 'application/json',
      'Sandbox-Timestamp': timestamp,
      'Sandbox-Signature': signature,
    });
    expect(forged.status).toBe(401);
    expect(forged.body.error.code).toBe('INVALID_SIGNATURE');
    const unsigned = await h.request('POST', '/v1/callbacks/sandbox', body, { 'Content-Type': 'application/json' });
    expect(unsigned.status).toBeGreaterThanOrEqual(400);
    expect(unsigned.status).toBeLessThan(500);

    await sleep(300);
    expect(await h.orderStatus(orderId)).toBe('PENDING_PAYMENT');
    expect(await h.db.channelNotification.count({ where: { channelPaymentId: payment.channelPaymentId } })).toBe(0);
    expect(await h.db.paymentAttempt.count({ where: { orderId } })).toBe(0);
  });

  it('records a genuine notification for an unknown payment instead of dropping it', async () => {
    const paymentId = `sbx_unknown_${randomUUID()}`;
    const body = serializeNotification({
      notifyId: `ntf_${randomUUID()}`,
      event: 'PAYMENT_RESULT',
      paymentId,
      merchantOrderId: randomUUID(),
      result: 'SUCCESS',
      txnId: 'sbxtxn_unknown',
      amount: 600,
      currency: 'CNY',
      paidAt: new Date().toISOString(),
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await h.request('POST', '/v1/callbacks/sandbox', body, {
      'Content-Type': 'application/json',
      'Sandbox-Timestamp': String(timestamp),
      'Sandbox-Signature': signNotification(h.config.SANDBOX_PRIVATE_KEY!, body, timestamp),
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('SUCCESS');
    const recorded = await h.db.channelNotification.findFirstOrThrow({ where: { channelPaymentId: paymentId } });
    expect(recorded).toMatchObject({ channel: 'sandbox', orderId: null, result: 'SUCCESS', amount: 600, rawBody: body });
  });

  it('cancels an unpaid order and refuses to cancel a delivered one', async () => {
    const { orderId } = await placeOrder();
    const cancelled = await h.signed(game, 'POST', `/v1/orders/${orderId}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('CLOSED');
    expect(cancelled.body.history.at(-1)).toMatchObject({ status: 'CLOSED', reason: 'CANCELLED_BY_GAME' });
    expect((await h.signed(game, 'POST', `/v1/orders/${orderId}/cancel`)).status).toBe(200);

    const paid = await placeOrder();
    await h.pay(paid.payment.channelPaymentId);
    await h.waitForStatus(paid.orderId, 'DELIVERED');
    const refused = await h.signed(game, 'POST', `/v1/orders/${paid.orderId}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('ORDER_NOT_CANCELLABLE');
  });

  it("hides another game's orders", async () => {
    const { orderId } = await placeOrder();
    const other = await h.createGame('Other');
    const res = await h.signed(other, 'GET', `/v1/orders/${orderId}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('ORDER_NOT_FOUND');
    expect((await h.signed(other, 'POST', `/v1/orders/${orderId}/cancel`)).status).toBe(404);
  });
});

describe('idempotent order creation', () => {
  it('returns the same order for the same key and body, sequentially', async () => {
    const key = randomUUID();
    const body = { userId: newUser(), sku, region: 'CN' };
    const first = await h.createOrder(game, body, key);
    const second = await h.createOrder(game, body, key);
    expect(first.status).toBe(201);
    expect([200, 201]).toContain(second.status);
    expect(second.body.orderId).toBe(first.body.orderId);
    expect(second.body.payment).toEqual(first.body.payment);
    expect(await h.db.order.count({ where: { idempotencyKey: key } })).toBe(1);
  });

  it('creates one order for 10 concurrent identical requests', async () => {
    const key = randomUUID();
    const body = { userId: newUser(), sku, region: 'CN', quantity: 1 };
    const results = await Promise.all(Array.from({ length: 10 }, () => h.createOrder(game, body, key)));
    for (const r of results) expect([200, 201]).toContain(r.status);
    expect(new Set(results.map((r) => r.body.orderId)).size).toBe(1);
    expect(new Set(results.map((r) => r.body.payment.channelPaymentId)).size).toBe(1);
    expect(await h.db.order.count({ where: { idempotencyKey: key } })).toBe(1);
    expect(await h.db.sandboxPayment.count({ where: { merchantOrderId: results[0].body.orderId } })).toBe(1);
  });

  it('refuses the same key with a different body', async () => {
    const key = randomUUID();
    const userId = newUser();
    expect((await h.createOrder(game, { userId, sku, region: 'CN' }, key)).status).toBe(201);
    const conflict = await h.createOrder(game, { userId, sku, region: 'CN', quantity: 3 }, key);
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('answers a retry after the order finished from the books', async () => {
    const key = randomUUID();
    const body = { userId: newUser(), sku, region: 'CN' };
    const first = await h.createOrder(game, body, key);
    await h.pay(first.body.payment.channelPaymentId);
    await h.waitForStatus(first.body.orderId, 'DELIVERED');
    await h.waitForWorkflowEnd(purchaseWorkflowId(first.body.orderId));
    const retry = await h.createOrder(game, body, key);
    expect([200, 201]).toContain(retry.status);
    expect(retry.body).toMatchObject({ orderId: first.body.orderId, status: 'DELIVERED' });
    const conflict = await h.createOrder(game, { ...body, quantity: 2 }, key);
    expect(conflict.status).toBe(409);
  });
});

describe('a step of the books run again', () => {
  // A local activity whose workflow task timed out after it committed is run again on replay,
  // possibly after the order moved on: it must find its work done, never fail the purchase.
  it('finds its work done when the order has moved past it, and still refuses a real contradiction', async () => {
    const created = await placeOrder();
    await h.pay(created.payment.channelPaymentId);
    await h.waitForStatus(created.orderId, 'DELIVERED');
    const order = await h.db.order.findUniqueOrThrow({ where: { id: created.orderId } });
    const books = createOrderActivities({
      database: h.database,
      channels: createChannelRegistry({ config: h.config }),
      config: h.config,
    });
    const historyBefore = await h.db.orderHistory.count({ where: { orderId: order.id } });

    const reopened = await books.openOrder({
      orderId: order.id,
      gameId: order.gameId,
      userId: order.userId,
      sku: order.sku,
      quantity: order.quantity,
      grants: [],
      region: order.region,
      amount: { currency: order.currency, value: order.amount },
      channel: order.channel,
      idempotencyKey: order.idempotencyKey,
      requestHash: order.requestHash,
      expiresAt: order.expiresAt.toISOString(),
    });
    expect(reopened).toEqual({ status: 'PENDING_PAYMENT' });
    const notification = {
      notificationId: 'replayed',
      channelPaymentId: created.payment.channelPaymentId,
      merchantOrderId: order.id,
      result: 'SUCCESS' as const,
      paid: { currency: order.currency, value: order.amount },
    };
    await expect(books.markPaid({ orderId: order.id, notification })).resolves.toBeUndefined();
    await expect(books.startDelivery({ orderId: order.id })).resolves.toEqual(expect.any(String));
    await expect(books.closeOrder({ orderId: order.id, reason: 'PAYMENT_TIMEOUT' })).rejects.toMatchObject({
      type: 'ILLEGAL_TRANSITION',
      nonRetryable: false,
    });

    const after = await h.db.order.findUniqueOrThrow({ where: { id: order.id } });
    expect(after).toMatchObject({ status: 'DELIVERED', paidAt: order.paidAt, deliveredAt: order.deliveredAt });
    expect(await h.db.orderHistory.count({ where: { orderId: order.id } })).toBe(historyBefore);
  });
});

describe('a payment channel that cannot open the payment', () => {
  it('answers 502 CHANNEL_UNAVAILABLE to the create and its retries, and holds no stock', async () => {
    const limited = await h.createItem(game, { stock: 5 });
    const key = randomUUID();
    const orderId = orderIdFor(game.gameId, key);
    // The sandbox refuses this one payment, as a channel that is down would.
    await h.db.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION refuse_test_payment() RETURNS trigger AS $$
      BEGIN
        IF NEW.merchant_order_id = '${orderId}' THEN RAISE EXCEPTION 'sandbox is down'; END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`);
    await h.db.$executeRawUnsafe(
      'CREATE TRIGGER refuse_test_payment BEFORE INSERT ON sandbox_payments FOR EACH ROW EXECUTE FUNCTION refuse_test_payment()',
    );
    try {
      const body = { userId: newUser(), sku: limited, region: 'CN', quantity: 2 };
      const first = await h.createOrder(game, body, key);
      expect(first.status).toBe(502);
      expect(first.body.error.code).toBe('CHANNEL_UNAVAILABLE');
      await h.waitForWorkflowEnd(purchaseWorkflowId(orderId));
      // The same key gets the same answer from the books: never a 201 without payment parameters.
      const retry = await h.createOrder(game, body, key);
      expect(retry.status).toBe(502);
      expect(retry.body.error.code).toBe('CHANNEL_UNAVAILABLE');
      const order = await h.db.order.findUniqueOrThrow({ where: { id: orderId } });
      expect(order).toMatchObject({ status: 'CLOSED', statusReason: 'CHANNEL_UNAVAILABLE' });
      expect((await h.db.item.findUniqueOrThrow({ where: { sku: limited } })).stockAvailable).toBe(5);
    } finally {
      await h.db.$executeRawUnsafe('DROP TRIGGER refuse_test_payment ON sandbox_payments');
      await h.db.$executeRawUnsafe('DROP FUNCTION refuse_test_payment()');
    }
  });
});

describe('data the database refuses', () => {
  it('rejects the order at once (422 INVALID_ORDER_DATA) instead of retrying its workflow forever', async () => {
    const userId = `refused-${randomUUID().slice(0, 8)}`;
    // PostgreSQL refuses this user's order as it would refuse text it cannot store (class 22).
    await h.db.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION refuse_test_order() RETURNS trigger AS $$
      BEGIN
        IF NEW.user_id = '${userId}' THEN RAISE EXCEPTION 'cannot store this' USING ERRCODE = '22021'; END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`);
    await h.db.$executeRawUnsafe(
      'CREATE TRIGGER refuse_test_order BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION refuse_test_order()',
    );
    try {
      const key = randomUUID();
      const res = await h.createOrder(game, { userId, sku, region: 'CN' }, key);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('INVALID_ORDER_DATA');
      const orderId = orderIdFor(game.gameId, key);
      await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('REJECTED');
      expect(await h.db.order.count({ where: { userId } })).toBe(0);
    } finally {
      await h.db.$executeRawUnsafe('DROP TRIGGER refuse_test_order ON orders');
      await h.db.$executeRawUnsafe('DROP FUNCTION refuse_test_order()');
    }
  });
});

describe('bad requests change nothing', () => {
  it('validates the body and the idempotency key', async () => {
    const before = await h.db.order.count();
    const missingKey = await h.signed(game, 'POST', '/v1/orders', { userId: 'u', sku, region: 'CN' });
    expect(missingKey.status).toBe(400);
    expect(missingKey.body.error.code).toBe('VALIDATION_ERROR');
    for (const bad of [
      { userId: 'u', sku, region: 'china' },
      { userId: 'u', sku, region: 'CN', quantity: 0 },
      { userId: 'u', sku, region: 'CN', quantity: 1.5 },
      { userId: '', sku, region: 'CN' },
      { userId: 'u', sku, region: 'CN', clientIp: 'not-an-ip' },
    ]) {
      const res = await h.createOrder(game, bad);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
    expect(await h.db.order.count()).toBe(before);
  });

  it('reports unknown items, missing regional prices and unknown channels', async () => {
    const unknown = await h.createOrder(game, { userId: 'u', sku: 'no-such-sku', region: 'CN' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ITEM_NOT_FOUND');

    const cnOnly = await h.createItem(game, { prices: [{ region: 'CN', currency: 'CNY', amount: 100 }] });
    const noPrice = await h.createOrder(game, { userId: 'u', sku: cnOnly, region: 'JP' });
    expect(noPrice.status).toBe(422);
    expect(noPrice.body.error.code).toBe('NO_PRICE_FOR_REGION');

    const channel = await h.createOrder(game, { userId: 'u', sku, region: 'CN', channel: 'bitcoin' });
    expect(channel.status).toBe(422);
    expect(channel.body.error.code).toBe('CHANNEL_NOT_AVAILABLE');

    const otherGame = await h.createGame('Other');
    const foreignSku = await h.createOrder(otherGame, { userId: 'u', sku, region: 'CN' });
    expect(foreignSku.status).toBe(404);

    const dear = await h.createItem(game, { prices: [{ region: '*', currency: 'USD', amount: 1_500_000_000 }] });
    const tooMuch = await h.createOrder(game, { userId: 'u', sku: dear, region: 'US', quantity: 2 });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error).toMatchObject({ code: 'AMOUNT_TOO_LARGE', details: { limit: 2_000_000_000 } });
    expect(await h.db.order.count({ where: { sku: dear } })).toBe(0);
  });

  it('refuses non-JSON bodies with 415 and changes nothing', async () => {
    const before = await h.db.order.count();
    const body = JSON.stringify({ userId: 'u', sku, region: 'CN' });
    for (const type of ['image/png', 'application/json; charset=utf-16', 'text/plain']) {
      const res = await h.signed(game, 'POST', '/v1/orders', JSON.parse(body), { 'Content-Type': type, 'Idempotency-Key': randomUUID() });
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    const admin = await h.request('PUT', `/v1/admin/games/${game.gameId}`, '{}', {
      Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
      'Content-Type': 'application/json; charset=utf-16',
    });
    expect(admin.status).toBe(415);
    expect(admin.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await h.db.order.count()).toBe(before);
  });

  it('never lets text PostgreSQL cannot store reach it', async () => {
    const before = await h.db.order.count();
    for (const userId of ['a\u0000b', 'x\ud800', 'ok'.repeat(100)]) {
      const res = await h.createOrder(game, { userId, sku, region: 'CN' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
    expect((await h.admin('PUT', `/v1/admin/risk/blacklist/USER/${encodeURIComponent('a\u0000')}`, {})).status).toBe(400);
    expect((await h.admin('PUT', `/v1/admin/risk/blacklist/USER/${'v'.repeat(6000)}`, {})).status).toBe(400);
    const ops = await h.request('GET', '/v1/ops/orders?gameId=%00&olderThanSeconds=100000000000', undefined, {
      Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
      'X-Operator': 'alice',
    });
    expect(ops.status).toBe(400);
    const longNonce = await h.signed(game, 'GET', `/v1/orders/${randomUUID()}`, undefined, {});
    expect(longNonce.status).toBe(404);
    expect(await h.db.order.count()).toBe(before);
  });

  it('rejects bad signatures, stale timestamps and replayed nonces with 401', async () => {
    const body = JSON.stringify({ userId: 'u', sku, region: 'CN' });
    const { signedHeaders } = await import('../../domain/signature');
    const now = Math.floor(Date.now() / 1000);
    const nonce = randomUUID();
    const good = signedHeaders(game.secret, game.gameId, 'POST', '/v1/orders', body, nonce, now);
    const send = (headers: Record<string, string>) =>
      h.request('POST', '/v1/orders', body, {
        ...headers,
        'Content-Type': 'application/json',
        'Idempotency-Key': randomUUID(),
      });

    const tampered = await send({ ...good, 'X-Signature': good['X-Signature'].replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) });
    expect(tampered.status).toBe(401);
    expect(tampered.body.error.code).toBe('UNAUTHORIZED');
    const wrongSecret = signedHeaders('x'.repeat(40), game.gameId, 'POST', '/v1/orders', body, randomUUID(), now);
    expect((await send(wrongSecret)).status).toBe(401);
    const stale = signedHeaders(game.secret, game.gameId, 'POST', '/v1/orders', body, randomUUID(), now - 301);
    expect((await send(stale)).status).toBe(401);
    const { 'X-Signature': _dropped, ...unsigned } = good;
    expect((await send(unsigned)).status).toBe(401);

    expect((await send(good)).status).toBe(201);
    const replay = await send(good);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('UNAUTHORIZED');
  });

  it("reads an item's omitted stock as unlimited when new and as unchanged when it exists; null is unlimited", async () => {
    const sku = `stock-${randomUUID().slice(0, 8)}`;
    const put = async (stock: Record<string, unknown>) => {
      const item = { gameId: game.gameId, name: 'x', grants: [{ itemId: 'gem', quantity: 1 }], prices: [{ region: 'CN', currency: 'CNY', amount: 600 }] };
      const res = await h.admin('PUT', `/v1/admin/items/${sku}`, { ...item, ...stock });
      expect(res.status).toBe(200);
      return res.body.stock;
    };
    expect(await put({})).toBeNull();
    expect(await put({ stock: 5 })).toBe(5);
    expect(await put({})).toBe(5);
    expect(await put({ stock: null })).toBeNull();
  });

  it('guards the admin API with the bearer token and validates catalogue input', async () => {
    const noToken = await h.admin('PUT', `/v1/admin/games/g-x`, { name: 'x' }, 'wrong-token-wrong-token');
    expect(noToken.status).toBe(401);
    const shortSecret = await h.admin('PUT', '/v1/admin/games/g-x', {
      name: 'x',
      secret: 'short',
      deliveryUrl: 'http://127.0.0.1/x',
    });
    expect(shortSecret.status).toBe(400);
    expect(shortSecret.body.error.code).toBe('VALIDATION_ERROR');
    const floatPrice = await h.admin('PUT', '/v1/admin/items/float-sku', {
      gameId: game.gameId,
      name: 'x',
      grants: [{ itemId: 'gem', quantity: 1 }],
      prices: [{ region: 'CN', currency: 'CNY', amount: 6.5 }],
    });
    expect(floatPrice.status).toBe(400);
    expect(await h.db.game.findUnique({ where: { id: 'g-x' } })).toBeNull();
    expect(await h.db.item.findUnique({ where: { sku: 'float-sku' } })).toBeNull();
  });
});

describe('risk control', () => {
  it('rejects a blacklisted device with 403 and reserves nothing', async () => {
    const deviceId = `dev-${randomUUID()}`;
    expect((await h.admin('PUT', `/v1/admin/risk/blacklist/DEVICE/${deviceId}`, { reason: 'chargebacks' })).status).toBe(200);
    const limited = await h.createItem(game, { stock: 5 });
    const res = await h.createOrder(game, { userId: newUser(), sku: limited, region: 'CN', deviceId });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('RISK_REJECTED');
    const orderId = res.body.error.details.orderId;
    expect(await h.orderStatus(orderId)).toBe('REJECTED');
    expect((await h.db.item.findUniqueOrThrow({ where: { sku: limited } })).stockAvailable).toBe(5);
    expect(await h.db.sandboxPayment.count({ where: { merchantOrderId: orderId } })).toBe(0);
  });

  it('limits how many orders one user places in the window', async () => {
    h.config.RISK_MAX_ORDERS_PER_USER = 2;
    try {
      const userId = newUser();
      expect((await h.createOrder(game, { userId, sku, region: 'CN' })).status).toBe(201);
      expect((await h.createOrder(game, { userId, sku, region: 'CN' })).status).toBe(201);
      const third = await h.createOrder(game, { userId, sku, region: 'CN' });
      expect(third.status).toBe(403);
    } finally {
      h.config.RISK_MAX_ORDERS_PER_USER = 1000;
    }
  });
});

describe('limited stock', () => {
  it('sells no more than the stock and gives back what closed orders held', async () => {
    const limited = await h.createItem(game, { stock: 2 });
    const first = await placeOrder({ sku: limited, quantity: 2 });
    const soldOut = await h.createOrder(game, { userId: newUser(), sku: limited, region: 'CN' });
    expect(soldOut.status).toBe(409);
    expect(soldOut.body.error.code).toBe('OUT_OF_STOCK');
    expect((await h.signed(game, 'POST', `/v1/orders/${first.orderId}/cancel`)).status).toBe(200);
    expect((await h.db.item.findUniqueOrThrow({ where: { sku: limited } })).stockAvailable).toBe(2);
    const second = await placeOrder({ sku: limited, quantity: 1 });
    await h.pay(second.payment.channelPaymentId);
    await h.waitForStatus(second.orderId, 'DELIVERED');
    expect((await h.db.item.findUniqueOrThrow({ where: { sku: limited } })).stockAvailable).toBe(1);
    expect((await h.db.stockReservation.findUniqueOrThrow({ where: { orderId: second.orderId } })).status).toBe('COMMITTED');
  });
});

describe('health', () => {
  it('reports PostgreSQL and Temporal', async () => {
    const res = await h.request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ database: true, temporal: true });
  });
});

async function notificationCount(channelPaymentId: string): Promise<number> {
  const row = await h.db.channelNotification.findFirst({ where: { channelPaymentId } });
  return row?.receivedCount ?? 0;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error('condition not met in time');
}
