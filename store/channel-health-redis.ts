import type Redis from 'ioredis';
import { NEW_BREAKER, afterOutcome, closedSince, windowStart, type BreakerRecord } from '../domain/routing/breaker';
import {
  claimBreakerProbe,
  retentionMs,
  transitionOf,
  updateBreaker,
  type BreakerCas,
  type ChannelHealthReport,
  type ChannelHealthStore,
  type HealthSettings,
} from './channel-health';

/**
 * The channels' health in Redis (when REDIS_URL is set), with the PostgreSQL store's contract:
 * per account a hash for the breaker (written by compare-and-set in a script), a sorted set of its
 * calls and one of its technical failures (scored by time: the breaker's window is a ZCOUNT), and a
 * sorted set of its create attempts (the routing window, capped at its N newest).
 */
const CAS_SCRIPT = `
local version = redis.call('HGET', KEYS[1], 'version')
if (version or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'changedAt', ARGV[3], 'consecutiveFailures', ARGV[4], 'probes', ARGV[5], 'version', ARGV[6])
redis.call('SADD', KEYS[2], ARGV[7])
return 1`;

export function redisChannelHealth(redis: Redis, settings: HealthSettings, prefix = 'payments:channel-health:'): ChannelHealthStore {
  const s = settings.breaker;
  const keys = {
    accounts: `${prefix}accounts`,
    breaker: (id: string) => `${prefix}breaker:${id}`,
    calls: (id: string) => `${prefix}calls:${id}`,
    failures: (id: string) => `${prefix}failures:${id}`,
    creates: (id: string) => `${prefix}creates:${id}`,
  };
  let sequence = 0;
  /** Unique members: two calls may end in the same millisecond. */
  const member = (at: number, rest: string) => `${at}:${process.pid}:${++sequence}:${Math.random().toString(36).slice(2, 8)}:${rest}`;

  const parse = (hash: Record<string, string>): BreakerRecord =>
    hash.version === undefined
      ? NEW_BREAKER
      : {
          state: hash.state as BreakerRecord['state'],
          changedAt: Number(hash.changedAt),
          consecutiveFailures: Number(hash.consecutiveFailures),
          probes: Number(hash.probes),
          version: Number(hash.version),
        };

  const cas: BreakerCas = {
    async read(channelId) {
      return parse(await redis.hgetall(keys.breaker(channelId)));
    },
    async write(channelId, expected, b) {
      const written = await redis.eval(
        CAS_SCRIPT,
        2,
        keys.breaker(channelId),
        keys.accounts,
        String(expected),
        b.state,
        String(b.changedAt),
        String(b.consecutiveFailures),
        String(b.probes),
        String(b.version),
        channelId,
      );
      return written === 1;
    },
  };

  const windowOf = async (channelId: string, b: BreakerRecord, now: number) => {
    const since = windowStart(b, now, s);
    const [calls, failures] = await Promise.all([
      redis.zcount(keys.calls(channelId), since, '+inf'),
      redis.zcount(keys.failures(channelId), since, '+inf'),
    ]);
    return { calls, failures };
  };

  return {
    async record(call) {
      const { channelId, at } = call;
      const oldest = at - retentionMs(settings);
      const tx = redis.multi();
      tx.zadd(keys.calls(channelId), at, member(at, call.outcome)).zremrangebyscore(keys.calls(channelId), '-inf', oldest);
      if (call.outcome === 'FAILED') tx.zadd(keys.failures(channelId), at, member(at, call.operation));
      tx.zremrangebyscore(keys.failures(channelId), '-inf', oldest);
      if (call.operation === 'create') {
        tx.zadd(keys.creates(channelId), at, member(at, `${call.outcome}:${call.latencyMs}`))
          // The routing window needs the newest N only.
          .zremrangebyrank(keys.creates(channelId), 0, -(settings.routingWindow.attempts + 1));
      }
      await tx.exec();
      const ok = call.outcome !== 'FAILED';
      const { before, after } = await updateBreaker(cas, channelId, async (current) => {
        const next = afterOutcome(current, ok, await windowOf(channelId, current, at), at, s);
        // A first call creates the account's record, so reports list it.
        return next === current && current.version === 0 ? { ...current, version: 1 } : next;
      });
      return transitionOf(channelId, before, after, at);
    },

    claimProbe: (channelId, now) => claimBreakerProbe(cas, channelId, now, s),

    async report(now) {
      const ids = (await redis.smembers(keys.accounts)).sort();
      const reports = new Map<string, ChannelHealthReport>();
      await Promise.all(
        ids.map(async (channelId) => {
          const breaker = await cas.read(channelId);
          const [window, creates] = await Promise.all([
            windowOf(channelId, breaker, now),
            redis.zrevrangebyscore(
              keys.creates(channelId),
              '+inf',
              Math.max(now - settings.routingWindow.ms, closedSince(breaker)),
              'LIMIT',
              0,
              settings.routingWindow.attempts,
            ),
          ]);
          const attempts = creates.map((m) => {
            const [outcome, latency] = m.split(':').slice(-2);
            return { ok: outcome === 'OK', latencyMs: Number(latency) };
          });
          reports.set(channelId, {
            channelId,
            breaker,
            window,
            creates: { attempts: attempts.length, successes: attempts.filter((a) => a.ok).length },
            ...(attempts.length > 0 && { createLatencyP95Ms: percentile(attempts.map((a) => a.latencyMs), 0.95) }),
          });
        }),
      );
      return new Map([...reports].sort(([a], [b]) => a.localeCompare(b)));
    },

    async close() {},
  };
}

/** The nearest-rank percentile, as PostgreSQL's percentile_disc computes it. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}
