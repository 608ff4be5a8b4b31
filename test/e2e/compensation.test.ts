import { randomUUID } from 'node:crypto';
import { purchaseWorkflowId } from '../../domain/ids';
import { Harness, sleep, type TestGame } from '../support/harness';

let h: Harness;
let game: TestGame;
let sku: string;

beforeAll(async () => ({ h, game, sku } = await Harness.startWithGame({}, { stock: 100 })));
afterAll(() => h?.close());
afterEach(() => {
  h.gameServer.mode = 'ok';
  h.config.PAYMENT_TIMEOUT_MS = 60_000;
  h.config.DELIVERY_DEADLINE_MS = 60_000;
  h.config.PAYMENT_QUERY_AFTER_MS = 60_000;
});

async function placeOrder() {
  const res = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
  expect(res.status).toBe(201);
  return res.body as { orderId: string; payment: { channelPaymentId: string } };
}

const stock = async () => (await h.db.item.findUniqueOrThrow({ where: { sku } })).stockAvailable;
const lastHistory = async (orderId: string) =>
  h.db.orderHistory.findFirstOrThrow({ where: { orderId }, orderBy: { id: 'desc' } });

describe('compensation', () => {
  it('closes an order that is not paid in time and releases its stock', async () => {
    h.config.PAYMENT_TIMEOUT_MS = 1500;
    const before = await stock();
    const { orderId, payment } = await placeOrder();
    expect(await stock()).toBe(before! - 1);
    await h.waitForStatus(orderId, 'CLOSED');
    expect(await lastHistory(orderId)).toMatchObject({ status: 'CLOSED', reason: 'PAYMENT_TIMEOUT' });
    expect(await stock()).toBe(before);
    await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('CLOSED');
    // The channel payment is closed too: the payer can no longer pay it.
    const late = await h.pay(payment.channelPaymentId);
    expect(late.status).toBe(409);
  });

  it('asks the channel about a payment whose notification was lost, and delivers it (掉单)', async () => {
    h.config.PAYMENT_QUERY_AFTER_MS = 800;
    const { orderId, payment } = await placeOrder();
    // Paid at the channel; its notification is held back for an hour, as a lost one would be.
    expect((await h.pay(payment.channelPaymentId, { result: 'SUCCESS', notifyDelayMs: 3_600_000 })).status).toBe(202);
    await h.waitForStatus(orderId, 'DELIVERED', 15_000);
    expect(h.gameServer.grantsFor(orderId)).toHaveLength(1);
    const found = await h.db.channelNotification.findMany({ where: { orderId } });
    expect(found.map((n) => JSON.parse(n.rawBody).source)).toEqual(['query']);
    // The lost notification, when it finally comes, has no second effect.
    await h.db.sandboxNotification.updateMany({ where: { paymentId: payment.channelPaymentId }, data: { nextAttemptAt: new Date() } });
    await sleep(1_500);
    expect(h.gameServer.grantsFor(orderId)).toHaveLength(1);
    expect(await h.orderStatus(orderId)).toBe('DELIVERED');
  });

  it('asks the channel once more before closing an order on timeout', async () => {
    h.config.PAYMENT_TIMEOUT_MS = 1_500;
    h.config.PAYMENT_QUERY_AFTER_MS = 60_000;
    const { orderId, payment } = await placeOrder();
    await sleep(500);
    expect((await h.pay(payment.channelPaymentId, { result: 'SUCCESS', notifyDelayMs: 3_600_000 })).status).toBe(202);
    await h.waitForStatus(orderId, 'DELIVERED', 15_000);
    expect(await h.db.orderHistory.count({ where: { orderId, status: 'CLOSED' } })).toBe(0);
  });

  it('refunds a payment that lands while the order is being closed', async () => {
    h.config.PAYMENT_TIMEOUT_MS = 1500;
    // The channel is not asked before the close (its query would find the payment and deliver it).
    h.config.PAYMENT_QUERY_AFTER_MS = 0;
    const { orderId, payment } = await placeOrder();
    // Paid just before the timeout; the channel's notification arrives after the close.
    await sleep(700);
    expect((await h.pay(payment.channelPaymentId, { result: 'SUCCESS', notifyDelayMs: 1500 })).status).toBe(202);
    await h.waitForStatus(orderId, 'REFUNDED');
    expect(await lastHistory(orderId)).toMatchObject({ status: 'REFUNDED', reason: 'LATE_PAYMENT' });
    const refund = await h.db.refund.findUniqueOrThrow({ where: { orderId } });
    expect(refund).toMatchObject({ status: 'SUCCEEDED', amount: 600, currency: 'CNY', reason: 'LATE_PAYMENT' });
    expect((await h.db.sandboxPayment.findUniqueOrThrow({ where: { id: payment.channelPaymentId } })).status).toBe(
      'REFUNDED',
    );
    expect(h.gameServer.attemptsFor(orderId)).toHaveLength(0);
  });

  it('refunds a payment notified after the order workflow ended', async () => {
    h.config.PAYMENT_TIMEOUT_MS = 1000;
    h.config.PAYMENT_QUERY_AFTER_MS = 0;
    const { orderId, payment } = await placeOrder();
    await sleep(500);
    expect((await h.pay(payment.channelPaymentId, { result: 'SUCCESS', notifyDelayMs: 4000 })).status).toBe(202);
    await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('CLOSED');
    expect(await h.orderStatus(orderId)).toBe('CLOSED');
    await h.waitForStatus(orderId, 'REFUNDED');
    expect(await lastHistory(orderId)).toMatchObject({ status: 'REFUNDED', reason: 'LATE_PAYMENT' });
    expect(await h.db.refund.count({ where: { orderId, status: 'SUCCEEDED' } })).toBe(1);
    expect(h.gameServer.attemptsFor(orderId)).toHaveLength(0);
  });

  it('keeps retrying a game server that is down and delivers once it is back', async () => {
    h.gameServer.mode = 'fail';
    const { orderId, payment } = await placeOrder();
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'DELIVERING');
    while (h.gameServer.attemptsFor(orderId).length < 3) await sleep(50);
    h.gameServer.mode = 'ok';
    await h.waitForStatus(orderId, 'DELIVERED');
    const attempts = h.gameServer.attemptsFor(orderId);
    expect(new Set(attempts.map((a) => a.deliveryId)).size).toBe(1);
    expect(h.gameServer.grantsFor(orderId)).toHaveLength(1);
    const delivery = await h.db.delivery.findUniqueOrThrow({ where: { orderId } });
    expect(delivery.status).toBe('DELIVERED');
    expect(delivery.attempts).toBe(attempts.length);
  });

  it('refunds when the game server stays down past the delivery deadline', async () => {
    h.config.DELIVERY_DEADLINE_MS = 2500;
    h.gameServer.mode = 'fail';
    const before = await stock();
    const { orderId, payment } = await placeOrder();
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'REFUNDED', 20_000);
    expect(await lastHistory(orderId)).toMatchObject({ status: 'REFUNDED', reason: 'DELIVERY_FAILED' });
    expect(await h.db.refund.findUniqueOrThrow({ where: { orderId } })).toMatchObject({
      status: 'SUCCEEDED',
      amount: 600,
      reason: 'DELIVERY_FAILED',
    });
    expect((await h.db.sandboxPayment.findUniqueOrThrow({ where: { id: payment.channelPaymentId } })).status).toBe(
      'REFUNDED',
    );
    expect(h.gameServer.grantsFor(orderId)).toHaveLength(0);
    expect(h.gameServer.attemptsFor(orderId).length).toBeGreaterThan(1);
    expect(await stock()).toBe(before);
  });
});
