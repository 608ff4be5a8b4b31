import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { orderIdFor } from '../../domain/ids';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database } from '../../infra/db';
import { openOrder, transitionOrder, type NewOrder } from '../../store/orders';
import { claimEvents, markFailed, markPublished, pruneEvents, ORDER_EVENTS_CHANNEL } from '../../store/outbox';

const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
let database: Database;
beforeAll(() => {
  database = openDatabase(config.DATABASE_URL, 3);
});
afterAll(() => database?.close());

async function gameWithItem(stock: number | null = null) {
  const gameId = `outbox-${randomUUID().slice(0, 8)}`;
  const sku = `${gameId}-gems`;
  await database.db.game.create({ data: { id: gameId, name: gameId, secret: 's'.repeat(32), deliveryUrl: 'http://127.0.0.1:9/deliver' } });
  await database.db.item.create({ data: { sku, gameId, name: 'Gems', grants: [], stockAvailable: stock } });
  return { gameId, sku };
}

function newOrder(gameId: string, sku: string): NewOrder {
  const idempotencyKey = randomUUID();
  return {
    orderId: orderIdFor(gameId, idempotencyKey),
    gameId,
    userId: 'user-1',
    sku,
    quantity: 1,
    grants: [],
    region: 'CN',
    amount: { currency: 'CNY', value: 600 },
    channel: 'sandbox',
    idempotencyKey,
    requestHash: 'h',
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
  };
}

const eventsOf = (orderId: string) => database.db.orderEvent.findMany({ where: { orderId }, orderBy: { sequence: 'asc' } });

it('writes no event when events are off, while the order still counts its changes', async () => {
  const { gameId, sku } = await gameWithItem();
  const o = newOrder(gameId, sku);
  await openOrder(database.sql, o);
  await transitionOrder(database.sql, o.orderId, 'PAID', { patch: { paid: { paidAt: new Date().toISOString() } } });
  expect(await eventsOf(o.orderId)).toEqual([]);
  expect((await database.db.order.findUniqueOrThrow({ where: { id: o.orderId } })).eventSequence).toBe(2);
});

it('writes one event per change in the statement that makes it, numbered by the order counter', async () => {
  const { gameId, sku } = await gameWithItem();
  const o = newOrder(gameId, sku);
  const opened = await openOrder(database.sql, o, { events: true });
  // A re-run of the opening finds the order and writes nothing more.
  await openOrder(database.sql, o, { events: true });
  expect(opened.created).toBe(true);
  for (const to of ['PAID', 'DELIVERING', 'DELIVERED'] as const) {
    expect((await transitionOrder(database.sql, o.orderId, to, { events: true })).outcome).toBe('MOVED');
  }
  // A step that ran before changes nothing, and publishes nothing.
  expect((await transitionOrder(database.sql, o.orderId, 'DELIVERING', { events: true })).outcome).toBe('DONE_BEFORE');

  const events = await eventsOf(o.orderId);
  expect(events.map((e) => [e.sequence, e.type, e.status])).toEqual([
    [1, 'order.created', 'PENDING_PAYMENT'],
    [2, 'order.paid', 'PAID'],
    [3, 'order.delivering', 'DELIVERING'],
    [4, 'order.delivered', 'DELIVERED'],
  ]);
  expect(events[0]).toMatchObject({ gameId, userId: 'user-1', sku, currency: 'CNY', amount: 600, channel: 'sandbox', reason: null, publishedAt: null });
  expect((await database.db.order.findUniqueOrThrow({ where: { id: o.orderId } })).eventSequence).toBe(4);
});

it('opens an order refused for lack of stock with an order.rejected event and its reason', async () => {
  const { gameId, sku } = await gameWithItem(0);
  const o = newOrder(gameId, sku);
  expect((await openOrder(database.sql, o, { events: true })).status).toBe('REJECTED');
  const [event] = await eventsOf(o.orderId);
  expect(event).toMatchObject({ sequence: 1, type: 'order.rejected', status: 'REJECTED', reason: 'OUT_OF_STOCK' });
});

it('carries the reason of a change into its event', async () => {
  const { gameId, sku } = await gameWithItem();
  const o = newOrder(gameId, sku);
  await openOrder(database.sql, o, { events: true });
  await transitionOrder(database.sql, o.orderId, 'CLOSED', { reason: 'PAYMENT_TIMEOUT', events: true });
  expect((await eventsOf(o.orderId)).map((e) => [e.type, e.reason])).toEqual([
    ['order.created', null],
    ['order.closed', 'PAYMENT_TIMEOUT'],
  ]);
});

it('notifies the relay when the statement writing an event commits', async () => {
  const listener = new Client({ connectionString: config.DATABASE_URL });
  await listener.connect();
  try {
    await listener.query(`LISTEN ${ORDER_EVENTS_CHANNEL}`);
    const notified = new Promise<string>((resolve) => listener.on('notification', (n) => resolve(n.channel)));
    const { gameId, sku } = await gameWithItem();
    await openOrder(database.sql, newOrder(gameId, sku), { events: true });
    await expect(notified).resolves.toBe(ORDER_EVENTS_CHANNEL);
  } finally {
    await listener.end();
  }
});

it('claims unpublished events oldest first, marks them, and prunes only published ones past retention', async () => {
  const { gameId, sku } = await gameWithItem();
  const o = newOrder(gameId, sku);
  await openOrder(database.sql, o, { events: true });
  await transitionOrder(database.sql, o.orderId, 'PAID', { events: true });
  const mine = async () => (await claimEvents(database.sql, 100_000)).filter((e) => e.orderId === o.orderId);

  const claimed = await mine();
  expect(claimed.map((e) => e.sequence)).toEqual([1, 2]);
  expect(claimed[0]).toMatchObject({ type: 'order.created', amount: { currency: 'CNY', value: 600 }, gameId });
  expect(claimed[0]!.ageSeconds).toBeGreaterThanOrEqual(0);

  await markFailed(database.sql, [claimed[0]!.id], 'broker down');
  expect((await eventsOf(o.orderId))[0]).toMatchObject({ attempts: 1, lastError: 'broker down', publishedAt: null });
  await markPublished(database.sql, [claimed[0]!.id]);
  expect((await mine()).map((e) => e.sequence)).toEqual([2]);

  // Published three days ago: pruned with 72 hours' retention; the unpublished one stays whatever its age.
  await database.db.orderEvent.updateMany({ where: { orderId: o.orderId }, data: { at: new Date(Date.now() - 80 * 3_600_000) } });
  await database.db.orderEvent.updateMany({ where: { id: BigInt(claimed[0]!.id) }, data: { publishedAt: new Date(Date.now() - 73 * 3_600_000) } });
  expect(await pruneEvents(database.sql, 74)).toBe(0);
  expect(await pruneEvents(database.sql, 72)).toBeGreaterThanOrEqual(1);
  expect((await eventsOf(o.orderId)).map((e) => e.sequence)).toEqual([2]);
});
