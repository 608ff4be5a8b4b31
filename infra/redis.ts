import Redis from 'ioredis';

/**
 * The process's Redis connection (REDIS_URL), for state every process shares where Redis is
 * configured: the channels' health. Commands fail fast while Redis is unreachable (the callers
 * decide what an unknown health means) and the client keeps reconnecting.
 */
export function openRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
}
