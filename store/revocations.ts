import type { Db, RunSql } from '../infra/db';
import type { SealedGameSecret } from './catalog';
import { NOW_UTC, isoOf, sql, type Sql } from './sql';

/**
 * Revocations: the game is told to take back the goods of a refunded or charged-back order — one
 * revocation per order (its revocationId), never twice. A game without a revokeUrl leaves a record
 * for operations instead.
 */
export const revocationIdFor = (orderId: string) => `rv_${orderId}`;

/**
 * Opens the revocation of the order that moved (CTE `moved`), once. With `brokers` (workflows that await
 * revocation acks) the game's mode is fixed on it; otherwise HTTP.
 */
export const openRevocation = (revocationId: string, reason: string, brokers = false): Sql =>
  brokers
    ? sql`revocation AS (
    INSERT INTO revocations (id, order_id, reason, status, mode, updated_at)
    SELECT ${revocationId}::text, m.id, ${reason}::text, 'PENDING', g.delivery_mode, ${NOW_UTC}
    FROM moved m JOIN games g ON g.id = m.game_id
    ON CONFLICT (order_id) DO NOTHING)`
    : sql`revocation AS (
    INSERT INTO revocations (id, order_id, reason, status, updated_at)
    SELECT ${revocationId}::text, id, ${reason}::text, 'PENDING', ${NOW_UTC} FROM moved
    ON CONFLICT (order_id) DO NOTHING)`;

export interface RevocationTarget extends SealedGameSecret {
  id: string;
  status: string;
  reason: string;
  order_id: string;
  game_id: string;
  user_id: string;
  sku: string;
  quantity: number;
  grants: unknown;
  currency: string;
  amount: number;
  revoke_url: string | null;
  refunded_at: string | null;
  /** The game's mode when the revocation opened (HTTP, NATS, RABBITMQ). */
  mode: string;
  attempts: number;
  /** The game's ack timeout now (broker revocations wait this long before a republish). */
  ack_timeout_ms: number | null;
}

/** What a revocation sends, and where. */
export async function revocationTarget(run: RunSql, revocationId: string): Promise<RevocationTarget | undefined> {
  const [row] = await run<RevocationTarget>(sql`
    SELECT r.id, r.status, r.reason, o.id::text AS order_id, o.game_id, o.user_id, o.sku, o.quantity, o.grants, o.currency,
      coalesce(o.paid_amount, o.amount) AS amount, g.revoke_url,
      g.secret, g.secret_ciphertext AS "secretCiphertext", g.secret_key_id AS "secretKeyId", ${isoOf(sql`o.refunded_at`)} AS refunded_at,
      r.mode, r.attempts, g.delivery_ack_timeout_ms AS ack_timeout_ms
    FROM revocations r JOIN orders o ON o.id = r.order_id JOIN games g ON g.id = o.game_id
    WHERE r.id = ${revocationId}::text`);
  return row;
}

export async function recordRevocationAttempt(
  run: RunSql,
  revocationId: string,
  outcome: { status: 'PENDING' | 'REVOKED' | 'NO_REVOKE_URL'; statusCode?: number; error?: string },
) {
  await run(sql`
    UPDATE revocations SET status = ${outcome.status}::text, attempts = attempts + 1,
      last_status_code = ${outcome.statusCode ?? null}::int, last_error = ${outcome.error ?? null}::text,
      revoked_at = CASE WHEN ${outcome.status}::text = 'REVOKED' THEN ${NOW_UTC} ELSE revoked_at END, updated_at = ${NOW_UTC}
    WHERE id = ${revocationId}::text AND status <> 'REVOKED'`);
}

/** A broker revocation handed to the broker: counted, it stays PENDING until the game's ack. */
export async function recordPublishedRevocation(run: RunSql, revocationId: string): Promise<void> {
  await run(sql`UPDATE revocations SET attempts = attempts + 1, last_status_code = NULL, last_error = NULL, updated_at = ${NOW_UTC}
    WHERE id = ${revocationId}::text AND status = 'PENDING'`);
}

export interface RevocationAckRow {
  id: string;
  order_id: string;
  game_id: string;
  mode: string;
  status: string;
  acknowledged_at: string | null;
}

/** The revocation as the ack route sees it (absent: no such revocation). */
export async function revocationAck(run: RunSql, revocationId: string): Promise<RevocationAckRow | undefined> {
  const [row] = await run<RevocationAckRow>(sql`
    SELECT r.id, r.order_id::text AS order_id, o.game_id, r.mode, r.status, ${isoOf(sql`r.acknowledged_at`)} AS acknowledged_at
    FROM revocations r JOIN orders o ON o.id = r.order_id WHERE r.id = ${revocationId}::text`);
  return row;
}

/** Records the game's ack of a broker revocation (REVOKED) unless one is recorded; returns the row as it stands after. */
export async function recordRevocationAck(run: RunSql, revocationId: string): Promise<RevocationAckRow | undefined> {
  await run(sql`UPDATE revocations SET status = 'REVOKED', acknowledged_at = ${NOW_UTC}, revoked_at = ${NOW_UTC}, updated_at = ${NOW_UTC}
    WHERE id = ${revocationId}::text AND mode <> 'HTTP' AND acknowledged_at IS NULL`);
  return revocationAck(run, revocationId);
}

/** Revocations by status, oldest first (operations: NO_REVOKE_URL ones wait for a person). */
export function listRevocations(db: Db, filter: { status?: string; limit: number }) {
  return db.revocation.findMany({ where: { status: filter.status }, orderBy: { createdAt: 'asc' }, take: filter.limit });
}
