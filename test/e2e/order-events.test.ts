import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { DeliverPolicy } from '@nats-io/jetstream';
import type { ConsumeMessage } from 'amqplib';
import { orderIdFor } from '../../domain/ids';
import type { OrderEventBody } from '../../domain/orders/events';
import { natsBroker, type NatsBroker } from '../../infra/brokers/nats';
import { rabbitBroker, type RabbitBroker } from '../../infra/brokers/rabbitmq';
import { EVENTS_EXCHANGE, EVENTS_STREAM, natsEventPublisher, startEventRelay, type EventPublisher } from '../../infra/event-relay';
import { openOrder, transitionOrder } from '../../store/orders';
import { orderOutbox } from '../../store/outbox';
import { startOrderEventRelay } from '../../worker';
import { Harness, sleep, workerMetricsUrl, type TestGame } from '../support/harness';

/** Every event of one game in the NATS stream, in stream order (a game of this test's own). */
async function streamedEvents(nats: NatsBroker, gameId: string, atLeast: number, timeoutMs = 20_000): Promise<OrderEventBody[]> {
  const js = await nats.jetstream();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const consumer = await js.consumers.get(EVENTS_STREAM, {
      // One subject as a string: nats-server before 2.10 takes no list.
      filter_subjects: `payments.events.${gameId}.>`,
      deliver_policy: DeliverPolicy.All,
    });
    const events: OrderEventBody[] = [];
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1_000, expires: 1_000 });
      let n = 0;
      for await (const m of batch) {
        events.push(m.json<OrderEventBody>());
        n++;
      }
      if (n === 0) break;
    }
    await consumer.delete().catch(() => undefined);
    if (events.length >= atLeast || Date.now() > deadline) return events;
    await sleep(300);
  }
}

/** Each order's events: sequence 1..n, every one once, in order. */
function expectInOrderOnce(events: OrderEventBody[]) {
  const perOrder = new Map<string, number[]>();
  for (const e of events) perOrder.set(e.orderId, [...(perOrder.get(e.orderId) ?? []), e.sequence]);
  for (const sequences of perOrder.values()) expect(sequences).toEqual(sequences.map((_, i) => i + 1));
  expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
}

async function purchase(h: Harness, game: TestGame, sku: string) {
  const created = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
  expect(created.status).toBe(201);
  await h.pay(created.body.payment.channelPaymentId);
  await h.waitForStatus(created.body.orderId, 'DELIVERED');
  return created.body.orderId as string;
}

/** A TCP proxy in front of the broker: cut() drops every connection and refuses new ones until restore(). */
async function brokerProxy(target: number) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = tcpConnect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server!.address() as { port: number }).port;
  };
  await listen();
  return {
    url: () => `nats://127.0.0.1:${port}`,
    async cut() {
      // close() calls back once every connection ended: end them after asking.
      const closed = new Promise((resolve) => server!.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
    restore: listen,
    close() {
      for (const s of sockets) s.destroy();
      server?.close();
    },
  };
}

/** Changes made straight on the books (no workflow): `orders` orders, each opened, paid, delivering, delivered. */
async function eventsOnTheBooks(h: Harness, game: TestGame, sku: string, orders: number): Promise<number> {
  await Promise.all(
    Array.from({ length: orders }, async () => {
      const key = randomUUID();
      const orderId = orderIdFor(game.gameId, key);
      await openOrder(
        h.sql,
        {
          orderId, gameId: game.gameId, userId: 'user-bulk', sku, quantity: 1, grants: [], region: 'CN',
          amount: { currency: 'CNY', value: 600 }, channel: 'sandbox', idempotencyKey: key, requestHash: 'h',
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        },
        { events: true },
      );
      for (const to of ['PAID', 'DELIVERING', 'DELIVERED'] as const) await transitionOrder(h.sql, orderId, to, { events: true });
    }),
  );
  return orders * 4;
}

const EXPECTED_PURCHASE = [
  [1, 'order.created', 'PENDING_PAYMENT'],
  [2, 'order.paid', 'PAID'],
  [3, 'order.delivering', 'DELIVERING'],
  [4, 'order.delivered', 'DELIVERED'],
];

describe('EVENTS_BROKER=nats', () => {
  let h: Harness;
  let nats: NatsBroker;
  beforeAll(async () => {
    h = await Harness.start({ EVENTS_BROKER: 'nats' });
    nats = natsBroker(h.config.NATS_URL);
  });
  afterAll(async () => {
    await nats?.close();
    await h?.close();
  });

  it('publishes every change of a purchase once, in order, to payments.events.<gameId>.<type>', async () => {
    const running = startOrderEventRelay(h.config, h.database)!;
    try {
      const game = await h.createGame();
      const sku = await h.createItem(game);
      const orderId = await purchase(h, game, sku);
      const events = await streamedEvents(nats, game.gameId, 4);
      expect(events.map((e) => [e.sequence, e.type, e.status])).toEqual(EXPECTED_PURCHASE);
      expect(events[0]).toMatchObject({
        eventId: `evt_${orderId}_1`, orderId, gameId: game.gameId, sku, amount: { currency: 'CNY', value: 600 }, channel: 'sandbox',
      });
      expect(Date.parse(events[3]!.at)).toBeGreaterThanOrEqual(Date.parse(events[0]!.at));
      expect(await h.db.orderEvent.count({ where: { orderId, publishedAt: null } })).toBe(0);
      const metrics = await (await fetch(workerMetricsUrl)).text();
      expect(metrics).toMatch(/payments_events_published_total\{[^}]*broker="nats"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/payments_outbox_lag_seconds/);
    } finally {
      await running.close();
    }
  });

  it('lets one relay publish while another waits, and hands over when the leader stops', async () => {
    const game = await h.createGame();
    const sku = await h.createItem(game);
    const counted = (publisher: EventPublisher) => {
      const c = { published: 0, publisher: { broker: publisher.broker, publish: async (e: OrderEventBody) => (await publisher.publish(e), void c.published++) } };
      return c;
    };
    const relays = [0, 1].map(() => {
      const c = counted(natsEventPublisher(nats));
      return { c, relay: startEventRelay({ databaseUrl: h.config.DATABASE_URL, outbox: orderOutbox(h.sql), publisher: c.publisher, retentionHours: 72 }) };
    });
    try {
      const total = await eventsOnTheBooks(h, game, sku, 25);
      const first = await streamedEvents(nats, game.gameId, total);
      expect(first).toHaveLength(total);
      expectInOrderOnce(first);
      expect(relays.filter((r) => r.relay.leading)).toHaveLength(1);
      const [leader, standby] = relays[0]!.relay.leading ? [relays[0]!, relays[1]!] : [relays[1]!, relays[0]!];
      expect(leader.c.published).toBe(total);
      expect(standby.c.published).toBe(0);

      await leader.relay.close();
      const more = await eventsOnTheBooks(h, game, sku, 5);
      const all = await streamedEvents(nats, game.gameId, total + more);
      expect(all).toHaveLength(total + more);
      expectInOrderOnce(all);
      expect(standby.relay.leading).toBe(true);
      expect(standby.c.published).toBe(more);
    } finally {
      await Promise.all(relays.map((r) => r.relay.close()));
    }
  });

  it("holds back an order's later events behind one that failed, while other orders go on", async () => {
    const game = await h.createGame();
    const sku = await h.createItem(game);
    await eventsOnTheBooks(h, game, sku, 2);
    const [a, b] = [...new Set((await h.db.orderEvent.findMany({ where: { gameId: game.gameId }, orderBy: { id: 'asc' } })).map((e) => e.orderId))];
    const real = natsEventPublisher(nats);
    const attempts: string[] = [];
    let failuresLeft = 2;
    const publisher: EventPublisher = {
      broker: 'nats',
      async publish(e) {
        attempts.push(`${e.orderId === a ? 'A' : 'B'}${e.sequence}`);
        // The broker refuses A's second event twice (as a PubAck timeout would).
        if (e.orderId === a && e.sequence === 2 && failuresLeft-- > 0) throw new Error('no PubAck');
        await real.publish(e);
      },
    };
    const relay = startEventRelay({ databaseUrl: h.config.DATABASE_URL, outbox: orderOutbox(h.sql), publisher, retentionHours: 72, pollMs: 200 });
    try {
      const events = await streamedEvents(nats, game.gameId, 8);
      expect(events).toHaveLength(8);
      expectInOrderOnce(events);
      const success = attempts.lastIndexOf('A2');
      expect(attempts.filter((x) => x === 'A2')).toHaveLength(3);
      // A3 waits until A2 went through; B, not held back, was all published before.
      expect(attempts.indexOf('A3')).toBeGreaterThan(success);
      expect(Math.max(...['B1', 'B2', 'B3', 'B4'].map((x) => attempts.indexOf(x)))).toBeLessThan(success);
      const row = await h.db.orderEvent.findFirstOrThrow({ where: { orderId: a!, sequence: 2 } });
      expect(row).toMatchObject({ attempts: 3, lastError: null });
      expect(b).toBeDefined();
    } finally {
      await relay.close();
    }
  });

  it('keeps events in the outbox while the broker is unreachable and publishes them in order once it is back', async () => {
    const game = await h.createGame();
    const sku = await h.createItem(game);
    const proxy = await brokerProxy(Number(new URL(h.config.NATS_URL).port || 4222));
    const viaProxy = natsBroker(proxy.url());
    const relay = startEventRelay({
      databaseUrl: h.config.DATABASE_URL, outbox: orderOutbox(h.sql), publisher: natsEventPublisher(viaProxy), retentionHours: 72, pollMs: 200,
    });
    try {
      const before = await eventsOnTheBooks(h, game, sku, 3);
      expect(await streamedEvents(nats, game.gameId, before)).toHaveLength(before);

      await proxy.cut();
      const during = await eventsOnTheBooks(h, game, sku, 3);
      const failed = async () => h.db.orderEvent.count({ where: { gameId: game.gameId, publishedAt: null, attempts: { gt: 0 } } });
      const deadline = Date.now() + 20_000;
      while ((await failed()) === 0 && Date.now() < deadline) await sleep(200);
      expect(await failed()).toBeGreaterThan(0);
      expect(await h.db.orderEvent.count({ where: { gameId: game.gameId, publishedAt: null } })).toBe(during);

      await proxy.restore();
      const all = await streamedEvents(nats, game.gameId, before + during, 30_000);
      expect(all).toHaveLength(before + during);
      expectInOrderOnce(all);
    } finally {
      await relay.close();
      await viaProxy.close();
      proxy.close();
    }
  }, 90_000);

  it('loses and reorders nothing when the relay process is killed mid-batch', async () => {
    const game = await h.createGame();
    const sku = await h.createItem(game);
    const total = await eventsOnTheBooks(h, game, sku, 200);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../support/event-relay-process.ts')], {
      env: { ...process.env, DATABASE_URL: h.config.DATABASE_URL, EVENTS_BROKER: 'nats', NODE_ENV: 'test', LOG_LEVEL: 'error', RELAY_BATCH_SIZE: '100' },
      stdio: 'inherit',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let publishedAtKill = 0;
    try {
      // The child's start (tsx) is slow on a loaded machine.
      const deadline = Date.now() + 90_000;
      while (publishedAtKill === 0 && Date.now() < deadline) {
        await sleep(10);
        publishedAtKill = await h.db.orderEvent.count({ where: { gameId: game.gameId, publishedAt: { not: null } } });
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    expect(publishedAtKill).toBeGreaterThan(0);
    const leftAfterKill = await h.db.orderEvent.count({ where: { gameId: game.gameId, publishedAt: null } });
    expect(leftAfterKill).toBeGreaterThan(0);

    const running = startOrderEventRelay(h.config, h.database)!;
    try {
      const events = await streamedEvents(nats, game.gameId, total, 60_000);
      expect(events).toHaveLength(total);
      expectInOrderOnce(events);
      expect(await h.db.orderEvent.count({ where: { gameId: game.gameId, publishedAt: null } })).toBe(0);
    } finally {
      await running.close();
    }
  }, 180_000);
});

describe('EVENTS_BROKER=rabbitmq', () => {
  let h: Harness;
  let rabbit: RabbitBroker;
  beforeAll(async () => {
    h = await Harness.start({ EVENTS_BROKER: 'rabbitmq' });
    rabbit = rabbitBroker(h.config.AMQP_URL);
  });
  afterAll(async () => {
    await rabbit?.close();
    await h?.close();
  });

  it('publishes every change of a purchase once, in order, to exchange payments.events with routing key <gameId>.<type>', async () => {
    const game = await h.createGame();
    const sku = await h.createItem(game);
    const channel = await rabbit.confirmChannel();
    await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, EVENTS_EXCHANGE, `${game.gameId}.#`);
    const received: { routingKey: string; messageId: string; body: OrderEventBody; persistent: boolean }[] = [];
    await channel.consume(queue, (m: ConsumeMessage | null) => {
      if (!m) return;
      received.push({ routingKey: m.fields.routingKey, messageId: m.properties.messageId as string, body: JSON.parse(m.content.toString()), persistent: m.properties.deliveryMode === 2 });
      channel.ack(m);
    });
    const running = startOrderEventRelay(h.config, h.database)!;
    try {
      const orderId = await purchase(h, game, sku);
      const deadline = Date.now() + 10_000;
      while (received.length < 4 && Date.now() < deadline) await sleep(50);
      await sleep(300);
      expect(received.map((r) => [r.body.sequence, r.body.type, r.body.status])).toEqual(EXPECTED_PURCHASE);
      expect(received.map((r) => r.routingKey)).toEqual(received.map((r) => `${game.gameId}.${r.body.type}`));
      expect(received.every((r) => r.messageId === r.body.eventId && r.persistent && r.body.orderId === orderId)).toBe(true);
    } finally {
      await running.close();
    }
  });
});

describe('EVENTS_BROKER=none', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(() => h?.close());

  it('writes no event and starts no relay', async () => {
    expect(h.config.EVENTS_BROKER).toBe('none');
    expect(startOrderEventRelay(h.config, h.database)).toBeUndefined();
    const game = await h.createGame();
    const orderId = await purchase(h, game, await h.createItem(game));
    expect(await h.db.orderEvent.count({ where: { orderId } })).toBe(0);
    expect((await h.db.order.findUniqueOrThrow({ where: { id: orderId } })).eventSequence).toBe(4);
  });
});

