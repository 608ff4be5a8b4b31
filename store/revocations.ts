import type { Db, RunSql } from '../infra/db';
import type { SealedGameSecret } from './catalog';
import { NOW_UTC, isoOf, sql, type Sql } from './sql';

/**
 * Revocations: the game is told to take back the goods of a refunded or charged-back order — one
 * revocation per order (its revocationId), never twice. A game without a revokeUrl leaves a record
 * for operations instead.
 */
export const revocationIdFor = (orderId: string) => `rv_${orderId}`;

/** Opens the revocation of the order that moved (CTE `moved`), once. */
export const openRevocation = (revocationId: string, reason: string): Sql => sql`revocation AS (
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
}

/** What a revocation sends, and where. */
export async function revocationTarget(run: RunSql, revocationId: string): Promise<RevocationTarget | undefined> {
  const [row] = await run<RevocationTarget>(sql`
    SELECT r.id, r.status, r.reason, o.id::text AS order_id, o.game_id, o.user_id, o.sku, o.quantity, o.grants, o.currency,
      coalesce(o.paid_amount, o.amount) AS amount, g.revoke_url,
      g.secret, g.secret_ciphertext AS "secretCiphertext", g.secret_key_id AS "secretKeyId", ${isoOf(sql`o.refunded_at`)} AS refunded_at
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

/** Revocations by status, oldest first (operations: NO_REVOKE_URL ones wait for a person). */
export function listRevocations(db: Db, filter: { status?: string; limit: number }) {
  return db.revocation.findMany({ where: { status: filter.status }, orderBy: { createdAt: 'asc' }, take: filter.limit });
}
