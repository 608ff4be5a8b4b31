import { randomUUID } from 'node:crypto';
import { purchaseWorkflowId } from '../../domain/ids';
import { Harness, sleep } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start({ DELIVERY_HTTP_TIMEOUT_MS: '1000', WORKFLOW_ANSWER_TIMEOUT_MS: '1500' });
});
afterAll(() => h?.close());

it('completes an order once when the worker stops mid-delivery and starts again', async () => {
  const game = await h.createGame();
  const sku = await h.createItem(game);
  h.gameServer.mode = 'hang';
  const created = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
  expect(created.status).toBe(201);
  const { orderId, payment } = created.body;
  await h.pay(payment.channelPaymentId);
  await h.waitForStatus(orderId, 'DELIVERING');
  while (h.gameServer.attemptsFor(orderId).length < 1) await sleep(20);

  // The worker goes away while the game server still holds the delivery request.
  await h.stopWorker();
  h.gameServer.mode = 'ok';
  h.gameServer.releaseHanging();
  expect(await h.orderStatus(orderId)).toBe('DELIVERING');

  await h.startWorker();
  await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('DELIVERED');
  expect(await h.orderStatus(orderId)).toBe('DELIVERED');
  expect(h.gameServer.grantsFor(orderId)).toHaveLength(1);
  expect(new Set(h.gameServer.attemptsFor(orderId).map((a) => a.deliveryId)).size).toBe(1);
  const history = await h.db.orderHistory.findMany({ where: { orderId } });
  expect(history.filter((e) => e.status === 'DELIVERED')).toHaveLength(1);
});

it('answers 503 while no worker runs, and the retry with the same key gets the order', async () => {
  const game = await h.createGame();
  const sku = await h.createItem(game);
  const key = randomUUID();
  const body = { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' };
  await h.stopWorker();
  const unavailable = await h.createOrder(game, body, key);
  expect(unavailable.status).toBe(503);
  expect(unavailable.body.error.code).toBe('TEMPORARILY_UNAVAILABLE');

  await h.startWorker();
  const retried = await h.createOrder(game, body, key);
  expect(retried.status).toBe(201);
  expect(retried.body.status).toBe('PENDING_PAYMENT');
  expect(await h.db.order.count({ where: { idempotencyKey: key } })).toBe(1);
});
