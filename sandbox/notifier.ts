import type { Logger } from 'pino';
import { Prisma } from '../generated/prisma/client';
import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import { sandboxKeys } from './keys';
import { SANDBOX_ACK_BODY, SANDBOX_SIGNATURE_HEADER, SANDBOX_TIMESTAMP_HEADER, signNotification } from './signing';

export interface SandboxNotifierDeps {
  db: Db;
  config: Pick<
    Config,
    'SANDBOX_PRIVATE_KEY' | 'SANDBOX_PUBLIC_KEY' | 'SANDBOX_NOTIFY_RETRY_MS' | 'SANDBOX_NOTIFY_POLL_MS'
  >;
  log?: Logger;
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

interface ClaimedRow {
  id: bigint;
  notifyUrl: string;
  body: string;
  attempts: number;
}

/**
 * One round of the outbox: claims due rows by pushing next_attempt_at forward as a lease
 * (SKIP LOCKED, so concurrent API processes claim disjoint rows), sends them concurrently and
 * records each outcome. A dispatcher that dies mid-round leaves its rows due again after the lease.
 */
export async function dispatchDueNotifications(
  { db, config, log }: SandboxNotifierDeps,
  options: DispatchOptions = {},
): Promise<DispatchResult> {
  const now = new Date();
  const scope = options.paymentIds
    ? options.paymentIds.length > 0
      ? Prisma.sql`AND payment_id IN (${Prisma.join(options.paymentIds)})`
      : Prisma.sql`AND false`
    : Prisma.empty;
  const rows = await db.$queryRaw<ClaimedRow[]>`
    UPDATE sandbox_notifications
       SET next_attempt_at = ${new Date(now.getTime() + LEASE_MS)}::timestamp
     WHERE id IN (
       SELECT id FROM sandbox_notifications
        WHERE delivered_at IS NULL
          AND attempts < ${MAX_NOTIFY_ATTEMPTS}
          AND next_attempt_at <= ${now}::timestamp
          ${scope}
        ORDER BY next_attempt_at
        LIMIT ${options.limit ?? BATCH_SIZE}
        FOR UPDATE SKIP LOCKED)
    RETURNING id, notify_url AS "notifyUrl", body, attempts`;
  if (rows.length === 0) return { claimed: 0, delivered: 0, failed: 0 };

  const { privateKeyPem } = sandboxKeys(config);
  const outcomes = await Promise.all(
    rows.map(async (row) => {
      const error = await send(row, privateKeyPem);
      const sentAt = new Date();
      if (!error) return true;
      const backoff = Math.min(config.SANDBOX_NOTIFY_RETRY_MS * 2 ** row.attempts, MAX_BACKOFF_MS);
      await db.sandboxNotification.updateMany({
        where: { id: row.id, deliveredAt: null },
        data: {
          attempts: { increment: 1 },
          lastError: error,
          nextAttemptAt: new Date(sentAt.getTime() + backoff),
        },
      });
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
  if (acknowledged.length > 0) {
    await db.sandboxNotification.updateMany({
      where: { id: { in: acknowledged }, deliveredAt: null },
      data: { deliveredAt: new Date(), attempts: { increment: 1 } },
    });
  }
  const delivered = acknowledged.length;
  return { claimed: rows.length, delivered, failed: rows.length - delivered };
}

/** Sends one notification with a fresh timestamp and signature; returns why it failed, if it did. */
async function send(row: ClaimedRow, privateKeyPem: string): Promise<string | undefined> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await fetch(row.notifyUrl, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        [SANDBOX_TIMESTAMP_HEADER]: String(timestamp),
        [SANDBOX_SIGNATURE_HEADER]: signNotification(privateKeyPem, row.body, timestamp),
      },
      body: row.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status === 200 && text === SANDBOX_ACK_BODY) return undefined;
    return `HTTP ${res.status}: ${text.slice(0, 200)}`;
  } catch (err) {
    return describeError(err);
  }
}

/** fetch hides the network reason in `cause`; duck-typed because errors may come from another realm. */
function describeError(err: unknown): string {
  const { message, cause } = (err ?? {}) as { message?: unknown; cause?: { message?: unknown; code?: unknown } };
  const reason = cause?.message || cause?.code;
  return `${typeof message === 'string' ? message : String(err)}${reason ? `: ${String(reason)}` : ''}`;
}

/** Polls the outbox every SANDBOX_NOTIFY_POLL_MS; a full batch is followed by another round at once. */
export function startSandboxNotifier(deps: SandboxNotifierDeps): { stop(): Promise<void> } {
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
