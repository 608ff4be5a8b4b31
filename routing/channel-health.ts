import type { Logger } from 'pino';
import { pgChannelHealth, type ChannelHealthReport, type ChannelHealthStore, type HealthSettings } from '../store/channel-health';
import { redisChannelHealth } from '../store/channel-health-redis';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db';
import { openRedis } from '../infra/redis';

/**
 * The process's view of the channel accounts' health, shared by every API and worker process through
 * PostgreSQL, or Redis when REDIS_URL is set. Workers record each channel call's outcome (see
 * activities/observed-channels.ts); API processes refresh their copy of every account's breaker and
 * windows a few times a second, so that routing a new order reads memory, never the store.
 */
export interface ChannelHealth {
  store: ChannelHealthStore;
  settings: HealthSettings;
  /** Where the state lives, for the health endpoint. */
  backend: 'postgresql' | 'redis';
  /** The last refresh's report (empty until the first; kept as it was while the store is unreachable). */
  current(): ReadonlyMap<string, ChannelHealthReport>;
  refresh(): Promise<void>;
  /** Told of every refresh (metrics). */
  subscribe(listener: (report: ReadonlyMap<string, ChannelHealthReport>) => void): void;
  close(): Promise<void>;
}

/** API processes see a breaker's change within this long (and routing decisions read no store). */
export const HEALTH_REFRESH_MS = 250;

export function healthSettings(config: Config): HealthSettings {
  return {
    breaker: {
      windowMs: config.CHANNEL_BREAKER_WINDOW_MS,
      minCalls: config.CHANNEL_BREAKER_MIN_CALLS,
      failureRate: config.CHANNEL_BREAKER_FAILURE_RATE,
      consecutiveFailures: config.CHANNEL_BREAKER_CONSECUTIVE_FAILURES,
      cooldownMs: config.CHANNEL_BREAKER_COOLDOWN_MS,
      halfOpenProbes: config.CHANNEL_BREAKER_HALF_OPEN_PROBES,
    },
    routingWindow: { attempts: config.ROUTING_WINDOW_ATTEMPTS, ms: config.ROUTING_WINDOW_MS },
  };
}

export function openChannelHealth(
  config: Config,
  database: Database,
  options: {
    /** Refresh `current()` in the background (API processes). */
    refreshMs?: number;
    log?: Pick<Logger, 'warn'>;
  } = {},
): ChannelHealth {
  const settings = healthSettings(config);
  const redis = config.REDIS_URL ? openRedis(config.REDIS_URL) : undefined;
  redis?.on('error', (err) => options.log?.warn({ err: err.message }, 'redis (channel health) unavailable'));
  const store = redis ? redisChannelHealth(redis, settings) : pgChannelHealth(database.sql, settings);
  let current: ReadonlyMap<string, ChannelHealthReport> = new Map();
  let failing = false;
  const listeners: ((report: ReadonlyMap<string, ChannelHealthReport>) => void)[] = [];

  const refresh = async () => {
    try {
      current = await store.report(Date.now());
      failing = false;
      for (const listener of listeners) listener(current);
    } catch (err) {
      // Routing goes on with what it knew; say so once per outage, not four times a second.
      if (!failing) options.log?.warn({ err: (err as Error).message }, 'channel health could not be read; routing on the last known');
      failing = true;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  if (options.refreshMs) {
    const loop = () => {
      timer = setTimeout(() => void refresh().finally(() => timer && loop()), options.refreshMs);
      timer.unref();
    };
    loop();
  }

  return {
    store,
    settings,
    backend: redis ? 'redis' : 'postgresql',
    current: () => current,
    refresh,
    subscribe: (listener) => void listeners.push(listener),
    async close() {
      clearTimeout(timer);
      timer = undefined;
      await store.close();
      if (redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
