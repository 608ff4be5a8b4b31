import { Client } from 'pg';
import type { Logger } from 'pino';
import { eventBodyOf, eventTopicOf, queuesPerOrder, type OrderEventBody, type OrderEventRecord } from '../domain/orders/events';
import type { NatsBroker } from './brokers/nats';
import type { RabbitBroker } from './brokers/rabbitmq';

/**
 * The order events' relay: publishes the outbox (`order_events`, written by the statements that
 * change orders) to the broker, at least once, in `sequence` order per order. Every worker process
 * runs one; the one holding a PostgreSQL advisory lock on its own connection leads and publishes,
 * the others wait to take over (a crashed leader's connection ends, and its lock with it). Woken by
 * the writing statement's NOTIFY, else every second; rows published but not yet marked when it dies
 * are published again (brokers and consumers drop them by `eventId`).
 */

/** What the relay needs of the outbox (store/outbox.ts `orderOutbox`). */
export interface RelayOutbox {
  claim(limit: number): Promise<(OrderEventRecord & { id: string; ageSeconds: number })[]>;
  markPublished(ids: readonly string[]): Promise<void>;
  markFailed(ids: readonly string[], error: string): Promise<void>;
  prune(hours: number): Promise<number>;
}

export interface EventPublisher {
  readonly broker: 'nats' | 'rabbitmq';
  /** Resolves once the broker confirmed the event (PubAck, publisher confirm). */
  publish(event: OrderEventBody): Promise<void>;
}

export interface RelayMetrics {
  published(broker: string, count: number): void;
  failed(broker: string, count: number): void;
  /** Age of the oldest unpublished event (0 when none waits). */
  lag(seconds: number): void;
}

export interface EventRelayOptions {
  databaseUrl: string;
  outbox: RelayOutbox;
  publisher: EventPublisher;
  retentionHours: number;
  metrics?: RelayMetrics;
  log?: Pick<Logger, 'info' | 'warn'>;
  batchSize?: number;
  pollMs?: number;
  /** Publications in flight at once (distinct orders; one order's events go one after the other). */
  concurrency?: number;
}

export interface EventRelay {
  /** Whether this relay holds the lead now. */
  readonly leading: boolean;
  close(): Promise<void>;
}

/** The advisory lock every relay of one database competes for. */
export const RELAY_LOCK_KEY = 'payments:order-events-relay';
/** The relay connection's application_name, followed by its process id. */
export const RELAY_APPLICATION_NAME = 'order-events-relay';
const NOTIFY_CHANNEL = 'order_events';
const PRUNE_EVERY_MS = 60_000;

export function startEventRelay(o: EventRelayOptions): EventRelay {
  const { outbox, publisher, log, metrics } = o;
  const pollMs = o.pollMs ?? 1_000;
  const batchSize = o.batchSize ?? 500;
  const concurrency = o.concurrency ?? 32;
  // Every series exists from the start (at 0), so increase() sees the first one.
  metrics?.published(publisher.broker, 0);
  metrics?.failed(publisher.broker, 0);
  let closed = false;
  let client: Client | undefined;
  let leading = false;
  let wake: (() => void) | undefined;
  /** A NOTIFY came while a pass ran: the next pass starts without waiting. */
  let notified = false;
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  /** One pass over the oldest unpublished events: how many were claimed, and whether any failed. */
  async function pass(): Promise<{ claimed: number; failed: boolean }> {
    const batch = await outbox.claim(batchSize);
    metrics?.lag(batch.reduce((oldest, e) => Math.max(oldest, e.ageSeconds), 0));
    const queues = queuesPerOrder(batch);
    const published: string[] = [];
    const failed: string[] = [];
    let error = '';
    const next = () => queues.shift();
    const drain = async () => {
      for (let queue = next(); queue; queue = next()) {
        for (const event of queue) {
          if (!leading) return;
          try {
            await publisher.publish(eventBodyOf(event));
            published.push(event.id);
          } catch (err) {
            // The order's later events wait behind this one.
            failed.push(event.id);
            error = (err as Error).message ?? String(err);
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, queues.length) }, drain));
    await outbox.markPublished(published);
    await outbox.markFailed(failed, error);
    if (published.length) metrics?.published(publisher.broker, published.length);
    if (failed.length) {
      metrics?.failed(publisher.broker, failed.length);
      log?.warn({ failed: failed.length, err: error }, 'order events not published; retrying');
    }
    return { claimed: batch.length, failed: failed.length > 0 };
  }

  async function publishWhileLeading() {
    let lastPrune = 0;
    while (leading && !closed) {
      if (Date.now() - lastPrune >= PRUNE_EVERY_MS) {
        lastPrune = Date.now();
        const pruned = await outbox.prune(o.retentionHours);
        if (pruned) log?.info({ pruned }, 'published order events pruned');
      }
      notified = false;
      const { claimed, failed } = await pass();
      // More wait (a full batch, a NOTIFY meanwhile): go on at once, unless the broker is failing.
      if (failed || (claimed < batchSize && !notified)) await nap(pollMs);
    }
  }

  /** Connects, and holds the connection until it takes the lead (or the relay closes). */
  async function lead(): Promise<boolean> {
    // Named with the process's pid: which process leads shows in pg_stat_activity beside the lock.
    const next = new Client({ connectionString: o.databaseUrl, application_name: `${RELAY_APPLICATION_NAME} ${process.pid}` });
    next.on('error', () => undefined);
    next.on('end', () => {
      if (client !== next) return;
      client = undefined;
      if (leading) log?.warn('order events relay lost its database connection; lead released');
      leading = false;
      wake?.();
    });
    next.on('notification', (n) => {
      if (n.channel !== NOTIFY_CHANNEL) return;
      notified = true;
      wake?.();
    });
    client = next;
    await next.connect();
    while (!closed && client === next) {
      const [row] = (await next.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [RELAY_LOCK_KEY])).rows;
      if (row?.locked) {
        await next.query(`LISTEN ${NOTIFY_CHANNEL}`);
        leading = true;
        log?.info({ broker: publisher.broker }, 'order events relay leads');
        return true;
      }
      await nap(pollMs);
    }
    return false;
  }

  async function run() {
    while (!closed) {
      try {
        if (await lead()) await publishWhileLeading();
      } catch (err) {
        if (!closed) log?.warn({ err: (err as Error).message }, 'order events relay failed; starting again');
      }
      leading = false;
      const current = client;
      client = undefined;
      // Ending the connection gives the lead back at once.
      await current?.end().catch(() => undefined);
      if (!closed) await nap(pollMs);
    }
  }
  const running = run();

  return {
    get leading() {
      return leading;
    },
    async close() {
      closed = true;
      leading = false;
      wake?.();
      await running;
    },
  };
}

// ---- Publishers -------------------------------------------------------------------------------

/** Streams and exchanges keep events a week for consumers that were away. */
const EVENTS_MAX_AGE_MS = 7 * 24 * 3_600_000;
const PUBLISH_TIMEOUT_MS = 5_000;
export const EVENTS_STREAM = 'PAYMENT_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'payments.events';
export const EVENTS_EXCHANGE = 'payments.events';

/** NATS JetStream: stream PAYMENT_EVENTS, subject `payments.events.<gameId>.<type>`, `Nats-Msg-Id` = eventId. */
export function natsEventPublisher(nats: NatsBroker): EventPublisher {
  let ready: Promise<void> | undefined;
  const prepare = () =>
    (ready ??= nats.ensureStream({ name: EVENTS_STREAM, subjects: [`${EVENTS_SUBJECT_PREFIX}.>`], maxAgeMs: EVENTS_MAX_AGE_MS }).catch((err: unknown) => {
      ready = undefined;
      throw err;
    }));
  return {
    broker: 'nats',
    async publish(event) {
      await prepare();
      const js = await nats.jetstream();
      await js.publish(`${EVENTS_SUBJECT_PREFIX}.${eventTopicOf(event)}`, JSON.stringify(event), {
        msgID: event.eventId,
        timeout: PUBLISH_TIMEOUT_MS,
      });
    },
  };
}

/** RabbitMQ: durable topic exchange payments.events, routing key `<gameId>.<type>`, persistent, confirmed. */
export function rabbitEventPublisher(rabbit: RabbitBroker): EventPublisher {
  let prepared: unknown;
  return {
    broker: 'rabbitmq',
    async publish(event) {
      const channel = await rabbit.confirmChannel();
      // Declared once per channel: a new channel after a broker restart declares it again.
      if (prepared !== channel) {
        await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
        prepared = channel;
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('RabbitMQ publisher confirm timed out')), PUBLISH_TIMEOUT_MS);
        channel.publish(
          EVENTS_EXCHANGE,
          eventTopicOf(event),
          Buffer.from(JSON.stringify(event)),
          { persistent: true, messageId: event.eventId, contentType: 'application/json', type: event.type },
          (err: unknown) => {
            clearTimeout(timer);
            if (err) reject(err instanceof Error ? err : new Error('RabbitMQ refused the event'));
            else resolve();
          },
        );
      });
    },
  };
}
