import { randomUUID } from 'node:crypto';
import { openRedis } from '../../infra/redis';
import { Harness, sleep, type TestGame } from '../support/harness';

/**
 * Minors' monthly caps through the API with the risk counters in each store (REDIS_URL moves them to
 * Redis): the month holds pending orders, refuses the one over the cap with its figures, and a
 * cancelled order's compensation gives its share back (in Redis, the closing activity does).
 */
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe.each([
  ['PostgreSQL', {}],
  ['Redis', { REDIS_URL }],
] as const)("a minor's monthly cap with the counters in %s", (_store, overrides) => {
  let h: Harness;
  let game: TestGame;
  let sku: string;
  const redis = openRedis(REDIS_URL); // to clean up after: the machine's Redis is shared
  beforeAll(async () => {
    ({ h, game, sku } = await Harness.startWithGame(overrides));
    // Two orders of the item (600 CNY) a month for an 8-15 year old in CN.
    const caps = { currency: 'CNY', bands: { '8_TO_15': { perPurchase: 600, monthly: 1200 } } };
    expect((await h.admin('PUT', '/v1/admin/risk/minor-caps/CN', caps)).status).toBe(200);
  });
  afterAll(async () => {
    if ('REDIS_URL' in overrides) {
      // This game's counters only.
      const keys = [...(await redis.keys(`payments:risk:{${game.gameId}}:*`)), ...(await redis.keys('payments:risk:hold:*'))];
      const ours = await Promise.all(keys.map(async (k) => (k.includes(game.gameId) || (await redis.get(k))?.includes(game.gameId) ? k : undefined)));
      const stale = ours.filter((k): k is string => k !== undefined);
      if (stale.length) await redis.del(...stale);
    }
    redis.disconnect();
    await h?.close();
  });

  it('holds pending orders to the cap, refuses the next with its figures, and a cancelled order frees its share', async () => {
    const userId = `kid-${randomUUID().slice(0, 8)}`;
    const order = () => h.createOrder(game, { userId, sku, region: 'CN', ageBand: '8_TO_15' });
    const first = await order();
    expect(first.status).toBe(201);
    expect((await order()).status).toBe(201);
    const over = await order();
    expect([over.status, over.body.error.code]).toEqual([403, 'MINOR_SPENDING_LIMIT']);
    expect(over.body.error.details).toEqual({ cap: 'MONTHLY', limit: 1200, used: 1200, orderId: expect.any(String) });
    expect(await h.orderStatus(over.body.error.details.orderId)).toBe('REJECTED');

    expect((await h.signed(game, 'POST', `/v1/orders/${first.body.orderId}/cancel`)).status).toBe(200);
    await h.waitForStatus(first.body.orderId, 'CLOSED');
    // The share goes back as the close's activity ends (in Redis, just after its statement).
    let again = await order();
    for (let tries = 0; again.status !== 201 && tries < 20; tries++) {
      await sleep(100);
      again = await order();
    }
    expect(again.status).toBe(201);
    const full = await order();
    expect(full.body.error.details).toMatchObject({ cap: 'MONTHLY', used: 1200 });
  });
});
