import { Client } from 'pg';
import type { Logger } from 'pino';

/**
 * Runtime configuration (channel accounts, routing, game policies) changes through the admin API of
 * any process and must reach every API and worker process within a second, without a restart. The
 * writer notifies `config_changed` (PostgreSQL NOTIFY, in the transaction of the change); each
 * process LISTENs on one dedicated connection and reloads what changed. While that connection is
 * down, every listener is called once a second instead, so nothing waits for the reconnection.
 */
export interface ConfigChanges {
  /** Calls `reload` when `topic` changes (and once a second while notifications are unavailable). */
  on(topic: string, reload: () => Promise<void>): void;
  close(): Promise<void>;
}

const CHANNEL = 'config_changed';
const POLL_MS = 1_000;
const RECONNECT_MS = 2_000;

export function watchConfigChanges(databaseUrl: string, log?: Pick<Logger, 'warn' | 'info'>): ConfigChanges {
  const listeners = new Map<string, (() => Promise<void>)[]>();
  let client: Client | undefined;
  let closed = false;
  let poll: NodeJS.Timeout | undefined;
  let reconnect: NodeJS.Timeout | undefined;

  const run = (topics: Iterable<string>) => {
    for (const topic of topics) {
      for (const reload of listeners.get(topic) ?? []) reload().catch((err) => log?.warn({ err, topic }, 'configuration reload failed'));
    }
  };
  const startPolling = () => {
    if (poll || closed) return;
    poll = setInterval(() => run(listeners.keys()), POLL_MS);
    poll.unref();
  };
  const stopPolling = () => {
    clearInterval(poll);
    poll = undefined;
  };

  const connect = async () => {
    if (closed) return;
    const next = new Client({ connectionString: databaseUrl });
    next.on('error', () => undefined);
    next.on('end', () => {
      if (closed || client !== next) return;
      client = undefined;
      startPolling();
      reconnect = setTimeout(() => void connect(), RECONNECT_MS);
      reconnect.unref();
    });
    next.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload) run([n.payload]);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANNEL}`);
      client = next;
      stopPolling();
      // Whatever changed while we were not listening.
      run(listeners.keys());
    } catch (err) {
      await next.end().catch(() => undefined);
      log?.warn({ err: (err as Error).message }, 'configuration notifications unavailable; polling every second');
      startPolling();
      reconnect = setTimeout(() => void connect(), RECONNECT_MS);
      reconnect.unref();
    }
  };
  void connect();

  return {
    on(topic, reload) {
      listeners.set(topic, [...(listeners.get(topic) ?? []), reload]);
    },
    async close() {
      closed = true;
      stopPolling();
      clearTimeout(reconnect);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
