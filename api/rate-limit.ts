import type { RequestHandler, Response } from 'express';
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config } from '../infra/config';
import { openRedis } from '../infra/redis';
import { ApiError } from './errors';

export type RateLimitScope = 'IP' | 'GAME';

/** The burst above the rate is granted once per this window (so the long-run rate stays near the rate). */
const BURST_WINDOW_SECONDS = 10;

/**
 * Requests a second per client and per game: `rate` a second, plus `burst - rate` more once per
 * BURST_WINDOW_SECONDS. A refused request leaves the buckets as they were once their window ends: it
 * never delays the next allowed one. With REDIS_URL every API process shares the buckets; while Redis
 * cannot answer, each process counts on its own (rate-limiter-flexible's insurance limiter).
 */
export interface RateLimits {
  /** Throws 429 RATE_LIMITED when `key` of `scope` is over its rate. */
  take(scope: RateLimitScope, key: string): Promise<void>;
  readonly backend: 'redis' | 'memory';
  close(): Promise<void>;
}

function bucket(name: string, rate: number, burst: number, redis: Redis | undefined): BurstyRateLimiter {
  const limiter = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    return redis ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration, insuranceLimiter: memory }) : memory;
  };
  return new BurstyRateLimiter(
    limiter(`rl:${name}`, rate, 1),
    limiter(`rl:${name}:burst`, Math.max(1, burst - rate), BURST_WINDOW_SECONDS),
  );
}

export function createRateLimits(
  config: Pick<Config, 'REDIS_URL' | 'RATE_LIMIT_IP_PER_SECOND' | 'RATE_LIMIT_IP_BURST' | 'RATE_LIMIT_GAME_PER_SECOND' | 'RATE_LIMIT_GAME_BURST'>,
  log?: Pick<Logger, 'warn'>,
): RateLimits {
  const redis = config.REDIS_URL ? openRedis(config.REDIS_URL) : undefined;
  redis?.on('error', (err) => log?.warn({ err: err.message }, 'redis (rate limits) unavailable'));
  const buckets: Record<RateLimitScope, BurstyRateLimiter> = {
    IP: bucket('ip', config.RATE_LIMIT_IP_PER_SECOND, config.RATE_LIMIT_IP_BURST, redis),
    GAME: bucket('game', config.RATE_LIMIT_GAME_PER_SECOND, config.RATE_LIMIT_GAME_BURST, redis),
  };
  return {
    backend: redis ? 'redis' : 'memory',
    async take(scope, key) {
      try {
        await buckets[scope].consume(key, 1);
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        const retryAfter = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
        throw new ApiError(429, 'RATE_LIMITED', `too many requests for this ${scope === 'IP' ? 'client address' : 'game'}; retry after ${retryAfter} s`, {
          scope,
          retryAfterSeconds: retryAfter,
        }, { 'Retry-After': String(retryAfter) });
      }
    },
    async close() {
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Per client IP on every /v1 route but the channels' callbacks, before authentication. */
export function perClientLimit(limits: RateLimits): RequestHandler {
  return async (req, res, next) => {
    res.locals.rateLimits = limits;
    if (!req.path.startsWith('/v1/') || req.path.startsWith('/v1/callbacks/')) return next();
    await limits.take('IP', req.ip ?? req.socket.remoteAddress ?? 'unknown');
    next();
  };
}

/** Per game, once its signature holds (api/auth.ts signedGameRequest): the game's bucket. */
export async function takeGameLimit(res: Response, gameId: string): Promise<void> {
  await (res.locals.rateLimits as RateLimits | undefined)?.take('GAME', gameId);
}
