import type { Logger } from 'pino';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db';
import { createEgress, describeFailure, egressPolicy, readBounded, type Egress } from '../infra/egress';
import {
  claimDueNotifications,
  notificationFailed,
  notificationsDelivered,
  type ClaimedNotification,
} from '../store/sandbox';
import {
  SANDBOX_ACK_BODY,
  SANDBOX_SIGNATURE_HEADER,
  SANDBOX_TIMESTAMP_HEADER,
  signNotification,
} from '../channels/sandbox/wire';

export interface SandboxNotifierDeps {
  database: Database;
  config: Pick<
    Config,
    | 'SANDBOX_PRIVATE_KEY'
    | 'SANDBOX_NOTIFY_RETRY_MS'
    | 'SANDBOX_NOTIFY_POLL_MS'
    | 'EGRESS_ALLOW_PRIVATE_NETWORKS'
    | 'EGRESS_ALLOW_HTTP'
  >;
  log?: Logger;
  /** The guard notifications go through; built from the settings when absent. */
  egress?: Egress;
}

export interface DispatchOptions {
  /** Rows claimed per round. */
  limit?: number;
  /** Only these payments' notifications (tests sharing a database, tooling). */
  paymentIds?: string[];
}

export interface DispatchResult {
  claimed: number;
  delivered: number;
  failed: number;
}

/** Like real channels, the sandbox stops retrying after this many sends. */
export const MAX_NOTIFY_ATTEMPTS = 15;
const MAX_BACKOFF_MS = 60_000;
const SEND_TIMEOUT_MS = 5_000;
/** A claimed row is hidden from other dispatchers this long: well past the send timeout. */
const LEASE_MS = 30_000;
const BATCH_SIZE = 100;

/**
 * One round of the outbox: claims due rows by pushing next_attempt_at forward as a lease
 * (SKIP LOCKED, so concurrent API processes claim disjoint rows), sends them concurrently and
 * records each outcome. A dispatcher that dies mid-round leaves its rows due again after the lease.
 */
export async function dispatchDueNotifications(
  { database, config, log, egress = createEgress(egressPolicy(config)) }: SandboxNotifierDeps,
  options: DispatchOptions = {},
): Promise<DispatchResult> {
  const now = new Date();
  const rows = await claimDueNotifications(database.sql, {
    now,
    leaseUntil: new Date(now.getTime() + LEASE_MS),
    maxAttempts: MAX_NOTIFY_ATTEMPTS,
    limit: options.limit ?? BATCH_SIZE,
    paymentIds: options.paymentIds,
  });
  if (rows.length === 0) return { claimed: 0, delivered: 0, failed: 0 };

  const privateKeyPem = config.SANDBOX_PRIVATE_KEY;
  if (!privateKeyPem) throw new Error('the sandbox notifier signs with SANDBOX_PRIVATE_KEY, which is not set');
  const outcomes = await Promise.all(
    rows.map(async (row) => {
      const error = await send(egress, row, privateKeyPem);
      const sentAt = new Date();
      if (!error) return true;
      const backoff = Math.min(config.SANDBOX_NOTIFY_RETRY_MS * 2 ** row.attempts, MAX_BACKOFF_MS);
      await notificationFailed(database.db, row.id, error, new Date(sentAt.getTime() + backoff));
      if (row.attempts + 1 >= MAX_NOTIFY_ATTEMPTS) {
        log?.warn({ notification: String(row.id), error }, 'sandbox notification abandoned after max attempts');
      } else {
        log?.debug(
          { notification: String(row.id), error, retryInMs: backoff },
          'sandbox notification not acknowledged',
        );
      }
      return false;
    }),
  );
  // The acknowledged ones are recorded together: one statement per round, not per notification.
  const acknowledged = rows.filter((_, i) => outcomes[i]).map((row) => row.id);
  await notificationsDelivered(database.db, acknowledged, new Date());
  const delivered = acknowledged.length;
  return { claimed: rows.length, delivered, failed: rows.length - delivered };
}

/** Sends one notification with a fresh timestamp and signature; returns why it failed, if it did. */
async function send(egress: Egress, row: ClaimedNotification, privateKeyPem: string): Promise<string | undefined> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await egress.fetch(row.notifyUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        [SANDBOX_TIMESTAMP_HEADER]: String(timestamp),
        [SANDBOX_SIGNATURE_HEADER]: signNotification(privateKeyPem, row.body, timestamp),
      },
      body: row.body,
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    const text = (await readBounded(res)).toString('utf8');
    if (res.status === 200 && text === SANDBOX_ACK_BODY) return undefined;
    // The status only: the receiver's body is not ours to store.
    return res.status === 200 ? 'HTTP 200 without the acknowledgement' : `HTTP ${res.status}`;
  } catch (err) {
    return describeFailure(err);
  }
}

/** Polls the outbox every SANDBOX_NOTIFY_POLL_MS; a full batch is followed by another round at once. */
export function startSandboxNotifier(given: SandboxNotifierDeps): { stop(): Promise<void> } {
  // One guard (and its connection pool) for every round.
  const deps = { ...given, egress: given.egress ?? createEgress(egressPolicy(given.config)) };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;

  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = round();
    }, delayMs);
    // The notifier alone must not keep a process (or a test run) alive.
    timer.unref();
  };

  const round = async () => {
    let full = false;
    try {
      full = (await dispatchDueNotifications(deps)).claimed === BATCH_SIZE;
    } catch (err) {
      deps.log?.error({ err }, 'sandbox notifier round failed');
    }
    schedule(full ? 0 : deps.config.SANDBOX_NOTIFY_POLL_MS);
  };

  schedule(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
    },
  };
}
