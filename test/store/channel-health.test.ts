import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { openDatabase, type Database } from '../../infra/db';
import { openRedis } from '../../infra/redis';
import { pgChannelHealth, type ChannelCall, type ChannelHealthStore, type HealthSettings } from '../../store/channel-health';
import { redisChannelHealth } from '../../store/channel-health-redis';

/**
 * The shared health of the channel accounts, against both stores (PostgreSQL, and Redis for
 * REDIS_URL deployments): the same contract, proved the same way, with concurrent writers standing
 * in for many API and worker processes. Times are explicit (a fake clock near now).
 */
const SETTINGS: HealthSettings = {
  breaker: { windowMs: 10_000, minCalls: 10, failureRate: 0.5, consecutiveFailures: 5, cooldownMs: 5_000, halfOpenProbes: 2 },
  routingWindow: { attempts: 20, ms: 60_000 },
};

let database: Database;
let redis: Redis;
const redisPrefix = `test:${randomUUID()}:`;

beforeAll(() => {
  database = openDatabase(process.env.DATABASE_URL!, 8);
  redis = openRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
});
afterAll(async () => {
  const stale = await redis.keys(`${redisPrefix}*`);
  if (stale.length) await redis.del(...stale);
  redis.disconnect();
  await database.close();
});

const stores: [string, () => ChannelHealthStore][] = [
  ['PostgreSQL', () => pgChannelHealth(database.sql, SETTINGS)],
  ['Redis', () => redisChannelHealth(redis, SETTINGS, redisPrefix)],
];

describe.each(stores)('the channels health in %s', (_name, open) => {
  let store: ChannelHealthStore;
  let channelId: string;
  const t0 = Date.now();
  const call = (outcome: ChannelCall['outcome'], at: number, operation: ChannelCall['operation'] = 'create', latencyMs = 20): ChannelCall => ({
    channelId,
    operation,
    outcome,
    latencyMs,
    at,
  });

  beforeEach(() => {
    store = open();
    channelId = `acct-${randomUUID().slice(0, 8)}`;
  });

  it('opens the breaker on consecutive failures, once, and reports its window', async () => {
    for (let i = 0; i < 3; i++) expect(await store.record(call('OK', t0 + i))).toBeUndefined();
    const transitions = [];
    for (let i = 0; i < 6; i++) transitions.push(await store.record(call('FAILED', t0 + 10 + i)));
    expect(transitions.filter(Boolean)).toEqual([{ channelId, from: 'CLOSED', to: 'OPEN', at: t0 + 14 }]);

    const report = (await store.report(t0 + 20)).get(channelId)!;
    expect(report.breaker).toMatchObject({ state: 'OPEN', changedAt: t0 + 14 });
    expect(report.window).toEqual({ calls: 9, failures: 6 });
    expect(report.creates).toEqual({ attempts: 9, successes: 3 });
    expect(report.createLatencyP95Ms).toBe(20);
  });

  it('keeps one breaker across concurrent writers: one transition, no lost failure', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => store.record(call('FAILED', t0 + i, 'refund'))));
    expect(results.filter(Boolean)).toHaveLength(1);
    const report = (await store.report(t0 + 100)).get(channelId)!;
    expect(report.breaker.state).toBe('OPEN');
    expect(report.window).toEqual({ calls: 12, failures: 12 });
  });

  it('lets a limited number of probes through across processes, and closes on a success', async () => {
    for (let i = 0; i < 5; i++) await store.record(call('FAILED', t0 + i));
    expect((await store.claimProbe(channelId, t0 + 1_000)).granted).toBe(false); // still cooling down
    const halfOpenAt = t0 + 4 + SETTINGS.breaker.cooldownMs;
    const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimProbe(channelId, halfOpenAt)));
    expect(claims.filter((c) => c.granted)).toHaveLength(SETTINGS.breaker.halfOpenProbes);
    expect(claims.flatMap((c) => (c.transition ? [c.transition] : []))).toEqual([{ channelId, from: 'OPEN', to: 'HALF_OPEN', at: halfOpenAt }]);

    expect(await store.record(call('OK', halfOpenAt + 50))).toEqual({ channelId, from: 'HALF_OPEN', to: 'CLOSED', at: halfOpenAt + 50 });
    const report = (await store.report(halfOpenAt + 60)).get(channelId)!;
    expect(report.breaker.state).toBe('CLOSED');
    // Its windows start afresh when it closes: the breaker's, and the create attempts routing counts.
    expect(report.window).toEqual({ calls: 1, failures: 0 });
    expect(report.creates).toEqual({ attempts: 1, successes: 1 });
  });

  it('reopens on a failed probe', async () => {
    for (let i = 0; i < 5; i++) await store.record(call('FAILED', t0 + i));
    const probeAt = t0 + 4 + SETTINGS.breaker.cooldownMs;
    expect((await store.claimProbe(channelId, probeAt)).granted).toBe(true);
    expect(await store.record(call('FAILED', probeAt + 10))).toEqual({ channelId, from: 'HALF_OPEN', to: 'OPEN', at: probeAt + 10 });
  });

  it('opens on the failure rate over the window; refusals and failures that left the window do not count', async () => {
    for (let i = 0; i < 4; i++) await store.record(call('FAILED', t0 - SETTINGS.breaker.windowMs - 1_000 + i));
    await store.record(call('OK', t0 - 500)); // the four failures in a row are behind a success
    for (let i = 0; i < 10; i++) await store.record(call('REFUSED', t0 + i, 'query')); // the channel answered: it is up
    let at = t0 + 100;
    for (let i = 0; i < 4; i++) {
      await store.record(call('FAILED', at++));
      await store.record(call('OK', at++));
    }
    // Then failure, failure, success: never five in a row, the rate climbs towards two thirds.
    const triple = async () => {
      await store.record(call('FAILED', at++));
      await store.record(call('FAILED', at++));
      await store.record(call('OK', at++));
    };
    for (let k = 1; k <= 9; k++) await triple();
    let report = (await store.report(at)).get(channelId)!;
    expect(report.window).toEqual({ calls: 1 + 10 + 8 + 27, failures: 4 + 18 });
    expect(report.breaker.state).toBe('CLOSED'); // 22 of 46
    expect(await store.record(call('FAILED', at++))).toBeUndefined(); // 23 of 47
    expect(await store.record(call('FAILED', at))).toEqual({ channelId, from: 'CLOSED', to: 'OPEN', at }); // 24 of 48
    report = (await store.report(at + 1)).get(channelId)!;
    expect(report.breaker.consecutiveFailures).toBe(2);
  });

  it('counts the routing window as the last N creates within T, with their p95 latency', async () => {
    const T = SETTINGS.routingWindow.ms;
    for (let i = 0; i < 5; i++) await store.record(call('FAILED', t0 - T - 1_000 + i)); // older than T
    for (let i = 0; i < 30; i++) await store.record(call(i % 10 === 0 ? 'REFUSED' : 'OK', t0 + i, 'create', i < 10 ? 1_000 : 10 + i));
    await store.record(call('OK', t0 + 40, 'query'));
    const report = (await store.report(t0 + 50)).get(channelId)!;
    // The newest 20 creates: i = 10..29, of which i = 10 and 20 were refused.
    expect(report.creates).toEqual({ attempts: 20, successes: 18 });
    expect(report.createLatencyP95Ms).toBe(38);
  });
});
