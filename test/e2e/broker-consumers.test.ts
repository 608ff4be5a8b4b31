import { randomUUID } from 'node:crypto';
import { startNatsConsumer } from '../../examples/nats-consumer';
import { startRabbitConsumer } from '../../examples/rabbitmq-consumer';
import { booksInMemory } from '../../examples/shared';
import { DELIVERY_STREAM } from '../../domain/fulfillment/modes';
import { natsBroker } from '../../infra/brokers/nats';
import { ledgerViolations } from '../../store/journal';
import { TEST_AMQP_URL, TEST_NATS_URL } from '../support/brokers';
import { Harness, sleep, type TestGame } from '../support/harness';

/**
 * The reference consumers of examples/ against the machine's NATS and RabbitMQ: a game in each mode
 * takes its deliveries and revocations through its consumer, which grants each id once and acks over REST.
 */

let h: Harness;
const nats = natsBroker(TEST_NATS_URL);
beforeAll(async () => {
  h = await Harness.start();
  // The worker creates the stream on its first publish; the consumer waits for it (a fresh broker has none yet).
  await nats.ensureStream({ name: DELIVERY_STREAM.name, subjects: [...DELIVERY_STREAM.subjects], maxAgeMs: DELIVERY_STREAM.maxAgeMs });
}, 60_000);
afterAll(async () => {
  await nats.close();
  await h?.close();
});

type Consumer = { stop(): Promise<void> };
const BROKERS = {
  NATS: (game: TestGame, books: ReturnType<typeof booksInMemory>) => startNatsConsumer({ natsUrl: TEST_NATS_URL, apiUrl: h.api.url, game, books }),
  RABBITMQ: (game: TestGame, books: ReturnType<typeof booksInMemory>) => startRabbitConsumer({ amqpUrl: TEST_AMQP_URL, apiUrl: h.api.url, game, books }),
} as const;

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) if (await done()) return;
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(Object.keys(BROKERS) as (keyof typeof BROKERS)[])('the reference consumer over %s', (mode) => {
  let game: TestGame;
  let sku: string;
  let consumer: Consumer | undefined;
  const granted: string[] = [];
  const revoked: string[] = [];
  /** The first grant of a delivery takes this long (a slow game). */
  let grantDelayMs = 0;
  const books = booksInMemory(
    async ({ deliveryId }) => {
      await sleep(grantDelayMs);
      granted.push(deliveryId);
      return 'GRANTED';
    },
    async ({ revocationId }) => void revoked.push(revocationId),
  );

  beforeAll(async () => {
    game = await h.createGame(`${mode} consumer game`);
    sku = await h.createItem(game);
    const put = await h.admin('PUT', `/v1/admin/games/${game.gameId}`, {
      name: `${mode} consumer game`,
      secret: game.secret,
      deliveryUrl: h.gameServer.deliveryUrl(game.gameId),
      delivery: { mode, ackTimeoutMs: 1_000 },
    });
    expect(put.status).toBe(200);
    consumer = await BROKERS[mode](game, books);
  });
  afterAll(() => consumer?.stop());

  async function paidOrder() {
    const created = await h.createOrder(game, { userId: `${mode.toLowerCase()}-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
    expect(created.status).toBe(201);
    const { orderId, payment } = created.body as { orderId: string; payment: { channelPaymentId: string } };
    expect((await h.pay(payment.channelPaymentId)).status).toBe(202);
    return orderId;
  }

  it('delivers through the consumer, then takes the goods back by broker on an operator refund', async () => {
    const orderId = await paidOrder();
    await h.waitForStatus(orderId, 'DELIVERED');
    expect(granted.filter((id) => id === `dlv_${orderId}`)).toHaveLength(1);

    const refund = await h.request('POST', `/v1/ops/orders/${orderId}/refund`, JSON.stringify({ reason: 'player asked' }), {
      Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
      'X-Operator': 'alice',
      'Content-Type': 'application/json',
    });
    expect(refund.status).toBe(202);
    await h.waitForStatus(orderId, 'REFUNDED');
    const revocationId = `rv_${orderId}`;
    await until('the revocation acked', async () => (await h.db.revocation.findUnique({ where: { id: revocationId } }))?.status === 'REVOKED');
    expect(await h.db.revocation.findUnique({ where: { id: revocationId } })).toMatchObject({ mode, status: 'REVOKED', acknowledgedAt: expect.any(Date) });
    expect(revoked).toEqual([revocationId]);
    // The reversal's workflow heard the ack and ended.
    await expect(h.waitForWorkflowEnd(`reversal-${orderId}`)).resolves.toBe('REFUNDED');

    // The same ack again answers the same; another game's, or of another order, is unknown; HTTP revocations take none.
    const again = await h.signed(game, 'POST', `/v1/revocations/${revocationId}/ack`, { orderId });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ revocationId, orderId, status: 'REVOKED', acknowledgedAt: expect.any(String) });
    const stranger = await h.createGame('stranger');
    const refusals = [
      [await h.signed(stranger, 'POST', `/v1/revocations/${revocationId}/ack`, { orderId }), 404, 'REVOCATION_NOT_FOUND'],
      [await h.signed(game, 'POST', `/v1/revocations/${revocationId}/ack`, { orderId: randomUUID() }), 404, 'REVOCATION_NOT_FOUND'],
      [await h.signed(game, 'POST', `/v1/revocations/rv_${randomUUID()}/ack`, { orderId }), 404, 'REVOCATION_NOT_FOUND'],
      [await h.signed(game, 'POST', '/v1/revocations/not-one/ack', { orderId }), 404, 'REVOCATION_NOT_FOUND'],
      [await h.signed(game, 'POST', `/v1/revocations/${revocationId}/ack`, { orderId, extra: true }), 400, 'VALIDATION_ERROR'],
      [await h.signed(game, 'POST', `/v1/revocations/${revocationId}/ack`, { orderId: 'not-a-uuid' }), 400, 'VALIDATION_ERROR'],
      [await h.request('POST', `/v1/revocations/${revocationId}/ack`, JSON.stringify({ orderId }), { 'Content-Type': 'application/json' }), 401, 'UNAUTHORIZED'],
    ] as const;
    expect(refusals.map(([res]) => [res.status, res.body.error?.code])).toEqual(refusals.map(([, status, code]) => [status, code]));
    expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);
  });

  it('grants once a delivery republished while the game was slower than its ack timeout', async () => {
    grantDelayMs = 2_500;
    try {
      const orderId = await paidOrder();
      await h.waitForStatus(orderId, 'DELIVERED');
      const row = await h.db.delivery.findUnique({ where: { id: `dlv_${orderId}` } });
      expect(row?.attempts).toBeGreaterThan(1);
      await sleep(500); // the republished copies are read and acked too
      expect(granted.filter((id) => id === `dlv_${orderId}`)).toHaveLength(1);
    } finally {
      grantDelayMs = 0;
    }
  });

  it('refunds at the deadline while the consumer is down; its grant after that gets DELIVERY_CLOSED, once', async () => {
    await consumer!.stop();
    consumer = undefined;
    h.config.DELIVERY_DEADLINE_MS = 3_000;
    let orderId: string;
    try {
      orderId = await paidOrder();
      await h.waitForStatus(orderId, 'REFUNDED');
    } finally {
      h.config.DELIVERY_DEADLINE_MS = 60_000;
    }
    const deliveryId = `dlv_${orderId}`;
    expect(await h.db.delivery.findUnique({ where: { id: deliveryId } })).toMatchObject({ ackResult: null, closedAt: expect.any(Date) });
    // The messages waited for the consumer: it grants (the game cannot know), the center answers 409.
    consumer = await BROKERS[mode](game, books);
    await until('the waiting delivery read', () => granted.includes(deliveryId));
    const ack = await h.signed(game, 'POST', `/v1/deliveries/${deliveryId}/ack`, { orderId, result: 'GRANTED' });
    expect([ack.status, ack.body.error?.code]).toEqual([409, 'DELIVERY_CLOSED']);
    await sleep(500);
    expect(granted.filter((id) => id === deliveryId)).toHaveLength(1);
    expect(await h.orderStatus(orderId)).toBe('REFUNDED');
  });
});

describe('a revocation of an HTTP game', () => {
  it('takes no ack (REVOCATION_NOT_AWAITING_ACK)', async () => {
    const game = await h.createGame('HTTP revocations');
    const sku = await h.createItem(game);
    const created = await h.createOrder(game, { userId: `http-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
    const { orderId, payment } = created.body as { orderId: string; payment: { channelPaymentId: string } };
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'DELIVERED');
    await h.request('POST', `/v1/ops/orders/${orderId}/refund`, JSON.stringify({ reason: 'player asked' }), {
      Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
      'X-Operator': 'alice',
      'Content-Type': 'application/json',
    });
    await until('the revocation opened', async () => (await h.db.revocation.findUnique({ where: { id: `rv_${orderId}` } })) !== null);
    const res = await h.signed(game, 'POST', `/v1/revocations/rv_${orderId}/ack`, { orderId });
    expect([res.status, res.body.error?.code]).toEqual([409, 'REVOCATION_NOT_AWAITING_ACK']);
  });
});
