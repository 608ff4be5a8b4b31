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

/** Nonces only need keeping while their timestamp could still pass the skew check. */
export async function purgeNoncesBefore(db: Db, cutoff: Date): Promise<number> {
  const { count } = await db.requestNonce.deleteMany({ where: { createdAt: { lt: cutoff } } });
  return count;
}
