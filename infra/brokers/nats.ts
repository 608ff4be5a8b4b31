import { jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

type NatsConnection = Awaited<ReturnType<typeof connect>>;
/** JetStream durations are nanoseconds. */
const nanos = (ms: number) => ms * 1_000_000;

/**
 * NATS JetStream, connected on first use (`npm run dev` and HTTP-only setups need no broker). Once
 * connected the client reconnects forever; a first connection that fails is tried again on the next use.
 */
export interface NatsBroker {
  jetstream(): Promise<JetStreamClient>;
  manager(): Promise<JetStreamManager>;
  /** Creates the stream, or updates its subjects and age limit; file storage. Idempotent. */
  ensureStream(cfg: { name: string; subjects: string[]; maxAgeMs: number }): Promise<void>;
  close(): Promise<void>;
}

export function natsBroker(url: string): NatsBroker {
  let connection: Promise<NatsConnection> | undefined;
  let closed = false;

  const connected = (): Promise<NatsConnection> => {
    if (closed) return Promise.reject(new Error('NATS broker closed'));
    connection ??= connect({ servers: url, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 500, name: 'payments' }).then(
      (nc) => {
        // Closed for good (not a reconnection): the next use connects afresh.
        void nc.closed().then(() => {
          if (connection && !closed) connection = undefined;
        });
        return nc;
      },
      (err: unknown) => {
        connection = undefined;
        throw err;
      },
    );
    return connection;
  };

  return {
    async jetstream() {
      return jetstream(await connected());
    },
    async manager() {
      return jetstreamManager(await connected());
    },
    async ensureStream({ name, subjects, maxAgeMs }) {
      const jsm = await jetstreamManager(await connected());
      const config = { subjects, max_age: nanos(maxAgeMs) };
      const existing = await jsm.streams.info(name).catch(() => undefined);
      if (!existing) await jsm.streams.add({ name, storage: StorageType.File, ...config });
      else if (existing.config.max_age !== config.max_age || subjects.some((s) => !existing.config.subjects.includes(s))) {
        await jsm.streams.update(name, { ...existing.config, ...config, subjects: [...new Set([...existing.config.subjects, ...subjects])] });
      }
    },
    async close() {
      closed = true;
      const current = connection;
      connection = undefined;
      const nc = await current?.catch(() => undefined);
      await nc?.drain().catch(() => nc.close());
    },
  };
}
