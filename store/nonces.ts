import type { Db } from '../infra/db';
import { isUniqueViolation } from './sql';

/** Nonces of signed game-server requests: each may be used once. Returns false for a reused one. */
export async function useNonce(db: Db, gameId: string, nonce: string): Promise<boolean> {
  try {
    await db.requestNonce.create({ data: { gameId, nonce } });
    return true;
  } catch (err) {
    if (isUniqueViolation(err)) return false;
    throw err;
  }
}

/**
 * How long past twice the skew a used nonce is kept: for the clocks of the API processes and the
 * database (which stamps `created_at`) to differ, and for the purge's own interval to be late.
 */
export const NONCE_RETENTION_MARGIN_SECONDS = 120;

/**
 * A nonce is needed while a request carrying it could still pass the skew check: its timestamp may
 * lie up to `skew` ahead of the clock when first used, and passes until `skew` after that timestamp,
 * so 2 × skew after first use; kept a margin longer, then purged.
 */
export function nonceRetentionCutoff(now: Date, maxSkewSeconds: number): Date {
  return new Date(now.getTime() - (2 * maxSkewSeconds + NONCE_RETENTION_MARGIN_SECONDS) * 1000);
}

export async function purgeExpiredNonces(db: Db, maxSkewSeconds: number, now = new Date()): Promise<number> {
  const { count } = await db.requestNonce.deleteMany({ where: { createdAt: { lt: nonceRetentionCutoff(now, maxSkewSeconds) } } });
  return count;
}
