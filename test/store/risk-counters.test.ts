import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { createRiskActivities } from '../../activities/risk';
import type { RiskRule } from '../../domain/risk/rules';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database } from '../../infra/db';
import { openRedis } from '../../infra/redis';
import { releaseMinorHold } from '../../store/minor-caps';
import { putRiskRule, type RiskCheck } from '../../store/risk';
import { pgRiskCounters, type RiskCounters } from '../../store/risk-counters';
import { redisRiskCounters } from '../../store/risk-redis';
import { sql } from '../../store/sql';

/**
 * The risk step's counters, one suite for both stores (PostgreSQL, and Redis for REDIS_URL
 * deployments): windows and minors' holds taken atomically under concurrency, once per order, and
 * given back. Redis keys carry this run's own prefix (the machine's Redis is shared).
 */
const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
let database: Database;
let redis: Redis;
const redisPrefix = `test:risk:${randomUUID()}:`;

beforeAll(() => {
  database = openDatabase(config.DATABASE_URL, 12);
  redis = openRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
});
afterAll(async () => {
  const stale = await redis.keys(`${redisPrefix}*`);
  if (stale.length) await redis.del(...stale);
  redis.disconnect();
  await database?.close();
});

interface Store {
  open(): RiskCounters;
  /** The compensation of a closed order, as the store gives a hold back (PostgreSQL: in the closing statement). */
  close(counters: RiskCounters, orderId: string): Promise<void>;
}

const stores: [string, Store][] = [
  [
    'PostgreSQL',
    {
      open: () => pgRiskCounters(database),
      async close(counters, orderId) {
        await database.sql(sql`WITH moved AS (SELECT ${orderId}::uuid AS id), ${releaseMinorHold} SELECT 1`);
        await counters.giveBackMinorHold(orderId);
      },
    },
  ],
  ['Redis', { open: () => redisRiskCounters(redis, database, redisPrefix), close: (counters, orderId) => counters.giveBackMinorHold(orderId) }],
];

const newGame = () => `risk-${randomUUID().slice(0, 8)}`;
const check = (gameId: string, extra: Partial<RiskCheck> & { region?: string; ageBand?: string } = {}): RiskCheck => ({
  orderId: randomUUID(),
  amount: { currency: 'CNY', value: 3000 },
  gameId,
  userId: 'u1',
  ...extra,
});
const addRule = (gameId: string, rule: Omit<RiskRule, 'gameId' | 'enabled' | 'ruleId'>) =>
  putRiskRule(database, { ruleId: `${gameId}-${rule.kind}`, enabled: true, gameId, ...rule } as RiskRule, 'test');

describe.each(stores)('the risk counters in %s', (_name, store) => {
  let counters: RiskCounters;
  let checkRisk: ReturnType<typeof createRiskActivities>['checkRisk'];
  /** The risk step of a fresh process, once a test's rules are in place (a process reads them at most a second late). */
  const start = async () => {
    counters = store.open();
    ({ checkRisk } = createRiskActivities({ database, config, riskCounters: counters } as never));
    await checkRisk(check(newGame())); // warm: the pools' connections, the rules
  };

  it('lets exactly max orders through a VELOCITY window when ten arrive at once', async () => {
    const gameId = newGame();
    await addRule(gameId, { kind: 'VELOCITY', action: 'DENY', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 3 } });
    await start();
    const decisions = await Promise.all(Array.from({ length: 10 }, () => checkRisk(check(gameId))));
    expect(decisions.filter((d) => d.decision === 'ALLOW')).toHaveLength(3);
    expect(decisions.filter((d) => d.decision === 'DENY')).toHaveLength(7);
    expect(decisions.find((d) => d.decision === 'DENY')!.hits).toEqual([
      { ruleId: `${gameId}-VELOCITY`, kind: 'VELOCITY', action: 'DENY', figures: expect.objectContaining({ max: 3 }) },
    ]);
    // Only the three let through stay counted: the next order sees exactly them.
    expect((await checkRisk(check(gameId))).hits).toEqual([expect.objectContaining({ figures: { orders: 4, max: 3 } })]);
  });

  it('decides an order once: a re-run returns the kept decision and counts nothing twice', async () => {
    const gameId = newGame();
    await addRule(gameId, { kind: 'VELOCITY', action: 'REVIEW', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 1 } });
    const first = check(gameId);
    await start();
    expect((await checkRisk(first)).decision).toBe('ALLOW');
    expect((await checkRisk(first)).decision).toBe('ALLOW');
    expect(await checkRisk(check(gameId))).toMatchObject({ decision: 'REVIEW', hits: [expect.objectContaining({ figures: { orders: 2, max: 1 } })] });
  });

  it('counts amounts of the orders let through only, distinct users of a device, and the subnet of the IP', async () => {
    const gameId = newGame();
    await addRule(gameId, { kind: 'SHARED_DEVICE', action: 'REVIEW', params: { windowSeconds: 600, maxUsers: 2 } });
    await addRule(gameId, { kind: 'VELOCITY', action: 'DENY', params: { subject: 'SUBNET', metric: 'AMOUNT', windowSeconds: 600, max: 8000, currency: 'CNY' } });
    await start();
    const at = (userId: string, clientIp: string, value = 3000) => checkRisk(check(gameId, { userId, deviceId: 'dev-1', clientIp, amount: { currency: 'CNY', value } }));
    expect((await at('a', '198.51.100.1')).decision).toBe('ALLOW');
    expect((await at('b', '198.51.100.2')).decision).toBe('ALLOW');
    const third = await at('c', '198.51.101.3'); // another subnet: only the device is shared too much
    expect(third).toMatchObject({ decision: 'REVIEW', reasons: ['SHARED_DEVICE'], hits: [expect.objectContaining({ figures: { users: 3, maxUsers: 2 } })] });
    expect((await at('d', '198.51.100.4')).reasons).toEqual(['SHARED_DEVICE', 'VELOCITY']); // 9000 > 8000: denied, not counted
    expect((await at('e', '198.51.100.5', 2000)).reasons).toEqual(['SHARED_DEVICE']); // 8000 is not over 8000
  });

  it("sums the user's day for AML_DAILY and knows a device it saw before", async () => {
    const gameId = newGame();
    await database.db.game.create({ data: { id: gameId, name: gameId, secret: 's'.repeat(32), deliveryUrl: 'http://127.0.0.1:9/deliveries' } }); // its day's clock
    await addRule(gameId, { kind: 'AML_DAILY', action: 'REVIEW', params: { amount: { currency: 'CNY', value: 8000 } } });
    await addRule(gameId, { kind: 'NEW_DEVICE_HIGH_VALUE', action: 'REVIEW', params: { amount: { currency: 'CNY', value: 3000 }, deviceAgeSeconds: 3600 } });
    await start();
    expect(await checkRisk(check(gameId, { deviceId: 'dev-2', amount: { currency: 'CNY', value: 5000 } }))).toMatchObject({
      reasons: ['NEW_DEVICE_HIGH_VALUE'],
      hits: [expect.objectContaining({ figures: { amount: 5000, deviceAgeSeconds: 0 } })],
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = await checkRisk(check(gameId, { deviceId: 'dev-2' }));
    expect(second.reasons).toEqual(['AML_DAILY', 'NEW_DEVICE_HIGH_VALUE']);
    expect(second.hits).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'AML_DAILY', figures: { dayTotal: 8000, threshold: 8000 } }),
        expect.objectContaining({ kind: 'NEW_DEVICE_HIGH_VALUE', figures: { amount: 3000, deviceAgeSeconds: 1 } }),
      ]),
    );
  });

  describe.each([
    ['no rule applies', false],
    ['a rule applies', true],
  ])("minors' monthly holds when %s", (_when, withRule) => {
    it('holds exactly 6 of 20 concurrent 30 CNY orders of one 8-15 user in CN; a closed one frees 30, once', async () => {
      const gameId = newGame();
      if (withRule) await addRule(gameId, { kind: 'VELOCITY', action: 'REVIEW', params: { subject: 'DEVICE', metric: 'ORDERS', windowSeconds: 600, max: 100 } });
      const minorOrder = () => check(gameId, { userId: 'kid', region: 'CN', ageBand: '8_TO_15' });
      await start();
      const orders = Array.from({ length: 20 }, minorOrder);
      const decisions = await Promise.all(orders.map((o) => checkRisk(o)));
      const allowed = orders.filter((_, i) => decisions[i]!.decision === 'ALLOW');
      expect(allowed).toHaveLength(6);
      const refused = decisions.filter((d) => d.decision === 'DENY');
      expect(refused).toHaveLength(14);
      expect(refused[0]).toMatchObject({ reasons: ['MINOR_SPENDING_LIMIT'], details: { cap: 'MONTHLY', limit: 20_000 } });
      expect((await checkRisk(allowed[0]!)).decision).toBe('ALLOW'); // a re-run keeps its hold, and takes no second one

      await store.close(counters, allowed[0]!.orderId!);
      await store.close(counters, allowed[0]!.orderId!);
      expect((await checkRisk(minorOrder())).decision).toBe('ALLOW');
      expect(await checkRisk(minorOrder())).toMatchObject({ decision: 'DENY', details: { cap: 'MONTHLY', used: 18_000 } });
    });
  });

  it('refuses what no month can take: over the purchase cap, and any order of an under-8', async () => {
    const gameId = newGame();
    await start();
    const big = check(gameId, { amount: { currency: 'CNY', value: 5_001 }, region: 'CN', ageBand: '8_TO_15' });
    expect(await checkRisk(big)).toMatchObject({ decision: 'DENY', details: { cap: 'PER_PURCHASE', limit: 5_000, used: 0 } });
    const small = check(gameId, { amount: { currency: 'CNY', value: 1 }, userId: 'tiny', region: 'CN', ageBand: 'UNDER_8' });
    expect(await checkRisk(small)).toMatchObject({ decision: 'DENY', details: { cap: 'NO_PURCHASES', limit: 0 } });
    const adult = check(gameId, { amount: { currency: 'CNY', value: 500_000 }, region: 'CN', ageBand: 'ADULT' });
    expect((await checkRisk(adult)).decision).toBe('ALLOW');
  });
});
