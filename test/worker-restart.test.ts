import { randomUUID } from 'node:crypto';
import { purchaseWorkflowId } from '../domain/ids';
import { Harness, sleep } from './support/harness';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start({ DELIVERY_HTTP_TIMEOUT_MS: '1000' });
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
