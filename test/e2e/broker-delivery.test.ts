import { randomBytes, randomUUID } from 'node:crypto';
import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { DELIVERY_STREAM } from '../../domain/fulfillment/modes';
import { signatureMatches } from '../../domain/signature';
import { natsBroker } from '../../infra/brokers/nats';
import { ledgerViolations, orderEntries } from '../../store/journal';
import { TEST_NATS_URL } from '../support/brokers';
import { Harness, sleep, type TestGame } from '../support/harness';

/**
 * A game in NATS mode end to end: the order is paid, the worker publishes the delivery to JetStream,
 * the game's consumer (below, as a game would write it) verifies the signature and acks over REST.
 */

let h: Harness;
let game: TestGame;
let sku: string;
const broker = natsBroker(TEST_NATS_URL);
let messages: ConsumerMessages;
const received: { deliveryId: string; orderId: string; signatureValid: boolean; message: JsMsg }[] = [];

beforeAll(async () => {
  ({ h, game, sku } = await Harness.startWithGame());
  const delivery = { mode: 'NATS', ackTimeoutMs: 60_000 };
  const put = await h.admin('PUT', `/v1/admin/games/${game.gameId}`, { name: 'NATS game', secret: game.secret, deliveryUrl: h.gameServer.deliveryUrl(game.gameId), delivery });
  expect(put.status).toBe(200);
  await broker.ensureStream({ name: DELIVERY_STREAM.name, subjects: [...DELIVERY_STREAM.subjects], maxAgeMs: DELIVERY_STREAM.maxAgeMs });
  const subject = `payments.deliveries.${game.gameId}`;
  const consumer = await (await broker.jetstream()).consumers.get(DELIVERY_STREAM.name, { filter_subjects: subject, deliver_policy: DeliverPolicy.New });
  messages = await consumer.consume();
  void (async () => {
    for await (const message of messages) {
      const header = (name: string) => message.headers?.get(name) ?? '';
      const signatureValid = signatureMatches(
        game.secret,
        { method: 'PUBLISH', pathWithQuery: message.subject, timestamp: header('X-Timestamp'), nonce: header('X-Nonce'), body: Buffer.from(message.data) },
        header('X-Signature'),
      );
      const body = message.json<{ deliveryId: string; orderId: string }>();
      received.push({ deliveryId: body.deliveryId, orderId: body.orderId, signatureValid, message });
    }
  })();
}, 60_000);
afterAll(async () => {
  await messages?.close();
  await broker.close();
  await h?.close();
});

/** Pays an order of the NATS game and returns the delivery message its consumer read. */
async function paidAndPublished() {
  const created = await h.createOrder(game, { userId: `nats-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
  expect(created.status).toBe(201);
  const { orderId, payment } = created.body as { orderId: string; payment: { channelPaymentId: string } };
  expect((await h.pay(payment.channelPaymentId)).status).toBe(202);
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await sleep(50)) {
    const message = received.find((m) => m.orderId === orderId);
    if (message) return message;
  }
  throw new Error(`no delivery message for ${orderId}`);
}

const ack = (deliveryId: string, body: unknown, by: TestGame = game) => h.signed(by, 'POST', `/v1/deliveries/${deliveryId}/ack`, body);

describe('a delivery over NATS JetStream, acknowledged over REST', () => {
  it('GRANTED: the order is DELIVERED with its ledger entry; the same ack again answers the same', async () => {
    const { orderId, deliveryId, signatureValid, message } = await paidAndPublished();
    expect(signatureValid).toBe(true);
    expect(deliveryId).toBe(`dlv_${orderId}`);
    expect(await h.orderStatus(orderId)).toBe('DELIVERING');

    const first = await ack(deliveryId, { orderId, result: 'GRANTED' });
    message.ack();
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ deliveryId, orderId, result: 'GRANTED', acknowledgedAt: expect.any(String) });
    await h.waitForStatus(orderId, 'DELIVERED');
    const entries = await orderEntries(h.sql, orderId);
    expect(entries.filter((e) => e.kind === 'GOODS_DELIVERED')).toHaveLength(1);

    const again = await ack(deliveryId, { orderId, result: 'GRANTED' });
    expect({ status: again.status, body: again.body }).toEqual({ status: 200, body: first.body });
    const other = await ack(deliveryId, { orderId, result: 'REJECTED' });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'DELIVERY_ALREADY_ACKNOWLEDGED', details: { result: 'GRANTED' } });
    expect(await h.orderStatus(orderId)).toBe('DELIVERED');
    expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);
  });

  it('REJECTED: the order is refunded at once (DELIVERY_REJECTED)', async () => {
    const { orderId, deliveryId, message } = await paidAndPublished();
    const res = await ack(deliveryId, { orderId, result: 'REJECTED', reason: 'the player account was deleted' });
    message.ack();
    expect(res.status).toBe(200);
    expect(res.body.result).toBe('REJECTED');
    await h.waitForStatus(orderId, 'REFUNDED');
    const order = await h.db.order.findUnique({ where: { id: orderId }, select: { statusReason: true } });
    expect(order?.statusReason).toBe('DELIVERY_REJECTED');
    expect((await orderEntries(h.sql, orderId)).map((e) => e.kind)).toContain('REFUND');
    expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);
  });

  it('refuses, changing nothing: another game, another order, an unknown delivery, a bad body, no signature', async () => {
    const { orderId, deliveryId, message } = await paidAndPublished();
    const stranger = await h.createGame('Another game');
    const refusals = [
      [await ack(deliveryId, { orderId, result: 'GRANTED' }, stranger), 404, 'DELIVERY_NOT_FOUND'],
      [await ack(deliveryId, { orderId: randomUUID(), result: 'GRANTED' }), 404, 'DELIVERY_NOT_FOUND'],
      [await ack(`dlv_${randomUUID()}`, { orderId, result: 'GRANTED' }), 404, 'DELIVERY_NOT_FOUND'],
      [await ack('not-a-delivery', { orderId, result: 'GRANTED' }), 404, 'DELIVERY_NOT_FOUND'],
      [await ack(deliveryId, { orderId, result: 'MAYBE' }), 400, 'VALIDATION_ERROR'],
      [await ack(deliveryId, { orderId, result: 'GRANTED', extra: 1 }), 400, 'VALIDATION_ERROR'],
      [await ack(deliveryId, { orderId, result: 'GRANTED', reason: 'x'.repeat(501) }), 400, 'VALIDATION_ERROR'],
      [await h.request('POST', `/v1/deliveries/${deliveryId}/ack`, JSON.stringify({ orderId, result: 'GRANTED' }), { 'Content-Type': 'application/json', 'X-Nonce': randomBytes(16).toString('hex') }), 401, 'UNAUTHORIZED'],
    ] as const;
    expect(refusals.map(([res]) => [res.status, res.body.error?.code])).toEqual(refusals.map(([, status, code]) => [status, code]));
    const row = await h.db.delivery.findUnique({ where: { id: deliveryId } });
    expect(row).toMatchObject({ ackResult: null, acknowledgedAt: null });
    expect(await h.orderStatus(orderId)).toBe('DELIVERING');

    // The game itself still can.
    expect((await ack(deliveryId, { orderId, result: 'GRANTED' })).status).toBe(200);
    message.ack();
    await h.waitForStatus(orderId, 'DELIVERED');
  });

  it('refuses an ack of a delivery an operator refunded first (DELIVERY_CLOSED)', async () => {
    const { orderId, deliveryId, message } = await paidAndPublished();
    const refund = await h.request('POST', `/v1/ops/orders/${orderId}/refund`, JSON.stringify({ reason: 'player asked' }), {
      Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
      'X-Operator': 'alice',
      'Content-Type': 'application/json',
    });
    expect(refund.status).toBe(202);
    await h.waitForStatus(orderId, 'REFUNDED');
    const res = await ack(deliveryId, { orderId, result: 'GRANTED' });
    message.ack();
    expect([res.status, res.body.error?.code]).toEqual([409, 'DELIVERY_CLOSED']);
    expect(await h.db.delivery.findUnique({ where: { id: deliveryId } })).toMatchObject({ ackResult: null, closedAt: expect.any(Date) });
  });

  it('refuses an ack of an HTTP delivery (DELIVERY_NOT_AWAITING_ACK)', async () => {
    const httpGame = await h.createGame('HTTP game');
    const httpSku = await h.createItem(httpGame);
    const created = await h.createOrder(httpGame, { userId: `http-${randomUUID().slice(0, 8)}`, sku: httpSku, region: 'CN' });
    const { orderId, payment } = created.body as { orderId: string; payment: { channelPaymentId: string } };
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'DELIVERED');
    const res = await ack(`dlv_${orderId}`, { orderId, result: 'GRANTED' }, httpGame);
    expect([res.status, res.body.error?.code]).toEqual([409, 'DELIVERY_NOT_AWAITING_ACK']);
  });
});
