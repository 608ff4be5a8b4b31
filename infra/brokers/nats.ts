import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';

/**
 * The process's NATS connection (NATS_URL), made on first use so that nothing that never publishes
 * needs a broker. Once connected it reconnects forever; a first connect that fails is tried again on
 * the next use (the caller's attempt fails meanwhile, and is retried like any failed attempt).
 */
export interface NatsBroker {
  jetstream(): Promise<JetStreamClient>;
  manager(): Promise<JetStreamManager>;
  /** Creates the stream, or updates it to this configuration: idempotent, never deletes anything. */
  ensureStream(cfg: { name: string; subjects: string[]; maxAgeMs: number }): Promise<void>;
  close(): Promise<void>;
}

/** How long the first connect may take before the use that asked for it fails. */
const CONNECT_TIMEOUT_MS = 2_000;

export function natsBroker(url: string): NatsBroker {
  let connection: Promise<NatsConnection> | undefined;
  let manager: Promise<JetStreamManager> | undefined;
  const ensured = new Map<string, Promise<void>>();

  const connected = (): Promise<NatsConnection> => {
    connection ??= connect({ servers: url, timeout: CONNECT_TIMEOUT_MS, maxReconnectAttempts: -1, reconnectTimeWait: 500 }).then(
      (nc) => {
        // Closed for good (close() or a fatal error): the next use connects afresh.
        void nc.closed().then(() => {
          connection = undefined;
          manager = undefined;
          ensured.clear();
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

  const jsm = (): Promise<JetStreamManager> => {
    manager ??= connected().then(
      (nc) => jetstreamManager(nc),
      (err: unknown) => {
        manager = undefined;
        throw err;
      },
    );
    return manager;
  };

  return {
    jetstream: async () => jetstream(await connected()),
    manager: jsm,
    ensureStream(cfg) {
      // Once per stream and connection; a failed attempt is tried again on the next call.
      let done = ensured.get(cfg.name);
      if (!done) {
        done = ensureStream(jsm, cfg).catch((err: unknown) => {
          ensured.delete(cfg.name);
          throw err;
        });
        ensured.set(cfg.name, done);
      }
      return done;
    },
    async close() {
      const open = connection;
      connection = undefined;
      manager = undefined;
      ensured.clear();
      if (open) await (await open.catch(() => undefined))?.close();
    },
  };
}

async function ensureStream(jsm: () => Promise<JetStreamManager>, cfg: { name: string; subjects: string[]; maxAgeMs: number }): Promise<void> {
  const manager = await jsm();
  const wanted = { subjects: cfg.subjects, max_age: nanos(cfg.maxAgeMs) };
  try {
    const info = await manager.streams.info(cfg.name);
    const same =
      info.config.max_age === wanted.max_age && info.config.subjects.length === cfg.subjects.length && cfg.subjects.every((s) => info.config.subjects.includes(s));
    if (!same) await manager.streams.update(cfg.name, wanted);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    await manager.streams.add({ name: cfg.name, ...wanted, storage: StorageType.File, retention: RetentionPolicy.Limits });
  }
}

function isStreamNotFound(err: unknown): boolean {
  return err instanceof Error && (err.name === 'StreamNotFoundError' || /stream not found/i.test(err.message));
}
