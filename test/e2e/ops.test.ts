import { randomUUID } from 'node:crypto';
import { purchaseWorkflowId } from '../../domain/ids';
import { Harness, sleep, type TestGame } from '../support/harness';

let h: Harness;
let game: TestGame;
let sku: string;

beforeAll(async () => ({ h, game, sku } = await Harness.startWithGame()));
afterAll(() => h?.close());
afterEach(() => {
  h.gameServer.mode = 'ok';
  h.config.DELIVERY_RETRY_INITIAL_MS = 200;
  h.config.DELIVERY_RETRY_MAX_MS = 500;
});

const OPERATOR = 'alice@studio.example';
const ops = (method: string, path: string, body?: unknown, operator: string | null = OPERATOR) =>
  h.request(method, path, body === undefined ? undefined : JSON.stringify(body), {
    Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
    'Content-Type': 'application/json',
    ...(operator ? { 'X-Operator': operator } : {}),
  });

async function paidOrder(payment: Record<string, unknown> = { result: 'SUCCESS' }) {
  const res = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
  expect(res.status).toBe(201);
  await h.pay(res.body.payment.channelPaymentId, payment);
  return res.body as { orderId: string; payment: { channelPaymentId: string } };
}

/** A delivery that failed once and now waits 20 s (of its 60 s deadline) for its next attempt. */
async function stuckDelivery() {
  h.config.DELIVERY_RETRY_INITIAL_MS = 20_000;
  h.config.DELIVERY_RETRY_MAX_MS = 20_000;
  h.gameServer.mode = 'fail';
  const order = await paidOrder();
  await h.waitForStatus(order.orderId, 'DELIVERING');
  while (h.gameServer.attemptsFor(order.orderId).length < 1) await sleep(20);
  return order;
}

const auditOf = (orderId: string) => h.db.opsAction.findMany({ where: { orderId }, orderBy: { id: 'asc' } });

describe('operations API', () => {
  it('lists stuck orders by status, age and game', async () => {
    const { orderId } = await stuckDelivery();
    const listed = await ops('GET', `/v1/ops/orders?status=DELIVERING&gameId=${game.gameId}`);
    expect(listed.status).toBe(200);
    expect(listed.body.orders).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ orderId, status: 'DELIVERING', workflowId: purchaseWorkflowId(orderId) }),
      ]),
    );
    const old = await ops('GET', `/v1/ops/orders?status=DELIVERING&gameId=${game.gameId}&olderThanSeconds=3600`);
    expect(old.body.orders.map((o: { orderId: string }) => o.orderId)).not.toContain(orderId);
    expect((await ops('GET', '/v1/ops/orders?status=STUCK')).status).toBe(400);
    h.gameServer.mode = 'ok';
    await ops('POST', `/v1/ops/orders/${orderId}/retry-delivery`, { reason: 'clean up' });
    await h.waitForStatus(orderId, 'DELIVERED');
  });

  it('lists workflows whose activities keep failing, with the last error, until they succeed', async () => {
    const { orderId } = await stuckDelivery();
    const workflowId = purchaseWorkflowId(orderId);
    const listed = async () =>
      ((await ops('GET', '/v1/ops/stuck?olderThanSeconds=0&limit=500')).body.stuck as { workflowId: string }[]).find(
        (s) => s.workflowId === workflowId,
      );
    await sleep(300); // the failed attempt is recorded as the activity reports it
    expect(await listed()).toMatchObject({
      orderId,
      activity: 'deliverOrder',
      attempts: 1,
      lastError: expect.stringContaining('game server answered 500'),
    });
    // Not yet failing for an hour.
    const older = (await ops('GET', '/v1/ops/stuck?olderThanSeconds=3600&limit=500')).body.stuck as { workflowId: string }[];
    expect(older.find((s) => s.workflowId === workflowId)).toBeUndefined();

    h.gameServer.mode = 'ok';
    await ops('POST', `/v1/ops/orders/${orderId}/retry-delivery`, { reason: 'game server is back' });
    await h.waitForStatus(orderId, 'DELIVERED', 10_000);
    await sleep(300);
    expect(await listed()).toBeUndefined();
  });

  it('requires the admin token and the operator identity', async () => {
    expect((await ops('GET', '/v1/ops/orders', undefined, null)).status).toBe(400);
    const noToken = await h.request('GET', '/v1/ops/orders', undefined, { 'X-Operator': OPERATOR });
    expect(noToken.status).toBe(401);
  });

  it('retries a delivery at once instead of waiting for the backoff', async () => {
    const { orderId } = await stuckDelivery();
    h.gameServer.mode = 'ok';
    const started = Date.now();
    const res = await ops('POST', `/v1/ops/orders/${orderId}/retry-delivery`, { reason: 'game server is back' });
    expect(res.status).toBe(202);
    expect(res.body.order.orderId).toBe(orderId);
    await h.waitForStatus(orderId, 'DELIVERED', 10_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(h.gameServer.grantsFor(orderId)).toHaveLength(1);
    expect(await auditOf(orderId)).toEqual([
      expect.objectContaining({ operator: OPERATOR, action: 'RETRY_DELIVERY', reason: 'game server is back', outcome: 'ACCEPTED' }),
    ]);
  });

  it('refunds an order whose delivery is stuck', async () => {
    const { orderId, payment } = await stuckDelivery();
    const res = await ops('POST', `/v1/ops/orders/${orderId}/refund`, { reason: 'player asked' });
    expect(res.status).toBe(202);
    await h.waitForStatus(orderId, 'REFUNDED');
    const last = await h.db.orderHistory.findFirstOrThrow({ where: { orderId }, orderBy: { id: 'desc' } });
    expect(last.reason).toBe('OPS_REFUND');
    expect((await h.db.sandboxPayment.findUniqueOrThrow({ where: { id: payment.channelPaymentId } })).status).toBe(
      'REFUNDED',
    );
    expect(h.gameServer.grantsFor(orderId)).toHaveLength(0);
  });

  it('resolves a manual review by delivering or by refunding what was paid', async () => {
    const toDeliver = await paidOrder({ result: 'SUCCESS', paidAmount: 700 });
    const toRefund = await paidOrder({ result: 'SUCCESS', paidAmount: 5 });
    await h.waitForStatus(toDeliver.orderId, 'MANUAL_REVIEW');
    await h.waitForStatus(toRefund.orderId, 'MANUAL_REVIEW');

    const missingAction = await ops('POST', `/v1/ops/orders/${toDeliver.orderId}/resolve`, { reason: 'x' });
    expect(missingAction.status).toBe(400);
    expect(missingAction.body.error.code).toBe('VALIDATION_ERROR');

    expect(
      (await ops('POST', `/v1/ops/orders/${toDeliver.orderId}/resolve`, { action: 'DELIVER', reason: 'overpaid, keep' }))
        .status,
    ).toBe(202);
    expect(
      (await ops('POST', `/v1/ops/orders/${toRefund.orderId}/resolve`, { action: 'REFUND', reason: 'underpaid' })).status,
    ).toBe(202);
    await expect(h.waitForWorkflowEnd(purchaseWorkflowId(toDeliver.orderId))).resolves.toBe('DELIVERED');
    await expect(h.waitForWorkflowEnd(purchaseWorkflowId(toRefund.orderId))).resolves.toBe('REFUNDED');
    expect(h.gameServer.grantsFor(toDeliver.orderId)).toHaveLength(1);
    expect(await h.db.refund.findUniqueOrThrow({ where: { orderId: toRefund.orderId } })).toMatchObject({
      amount: 5,
      currency: 'CNY',
      reason: 'OPS_REFUND',
      status: 'SUCCEEDED',
    });
  });

  it('refuses actions the order state does not allow, and audits the refusal', async () => {
    const res = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
    const pending = res.body.orderId as string;
    const refused = await ops('POST', `/v1/ops/orders/${pending}/retry-delivery`, { reason: 'try' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('OPS_ACTION_NOT_ALLOWED');
    expect(await h.orderStatus(pending)).toBe('PENDING_PAYMENT');

    const delivered = await paidOrder();
    await h.waitForWorkflowEnd(purchaseWorkflowId(delivered.orderId));
    // Delivered and ended: nothing to deliver again (a refund of it is customer service's reversal, see channels tests).
    const afterEnd = await ops('POST', `/v1/ops/orders/${delivered.orderId}/retry-delivery`, { reason: 'too late' });
    expect(afterEnd.status).toBe(409);
    expect(await h.orderStatus(delivered.orderId)).toBe('DELIVERED');

    expect((await ops('POST', `/v1/ops/orders/${randomUUID()}/refund`, { reason: 'x' })).status).toBe(404);
    expect(await auditOf(pending)).toEqual([
      expect.objectContaining({ action: 'RETRY_DELIVERY', outcome: 'REFUSED', operator: OPERATOR }),
    ]);
    expect(await auditOf(delivered.orderId)).toEqual([expect.objectContaining({ action: 'RETRY_DELIVERY', outcome: 'REFUSED' })]);
  });

  it('reports readiness separately from health', async () => {
    const res = await h.request('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ready: true, draining: false, database: true, temporal: true, worker: true });
  });
});
