import { randomUUID } from 'node:crypto';
import { checkSignedRequest, signRequest } from '../../domain/signature';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database } from '../../infra/db';
import { NONCE_RETENTION_MARGIN_SECONDS, purgeExpiredNonces, useNonce } from '../../store/nonces';

const SKEW = 300;
const secret = 's'.repeat(32);
let database: Database;
beforeAll(() => {
  database = openDatabase(loadConfig({ ...process.env, NODE_ENV: 'test' }).DATABASE_URL, 2);
});
afterAll(() => database?.close());

/** A request first used at `firstUsed` whose timestamp lies the whole skew ahead of the clock. */
async function nonceFromTheFuture(firstUsed: Date) {
  const gameId = `nonce-${randomUUID().slice(0, 8)}`;
  const nonce = randomUUID();
  await database.db.requestNonce.create({ data: { gameId, nonce, createdAt: firstUsed } });
  const parts = { method: 'POST', pathWithQuery: '/v1/orders', timestamp: String(firstUsed.getTime() / 1000 + SKEW), nonce, body: '{}' };
  return {
    /** Would a replay at `seconds` after first use pass the signature and skew check? */
    passesSkewAt: (seconds: number) => checkSignedRequest(secret, parts, signRequest(secret, parts), firstUsed.getTime() / 1000 + seconds, SKEW).ok,
    /** Does the store still refuse it as used, after a purge at `seconds` after first use? */
    refusedAfterPurgeAt: async (seconds: number) => {
      await purgeExpiredNonces(database.db, SKEW, new Date(firstUsed.getTime() + seconds * 1000));
      return !(await useNonce(database.db, gameId, nonce));
    },
  };
}

it('keeps a nonce for as long as a replay with a timestamp from the future still passes the skew check, plus a margin', async () => {
  const firstUsed = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
  const lastChance = 2 * SKEW; // the timestamp (first use + skew) passes until skew after it
  const request = await nonceFromTheFuture(firstUsed);
  expect(request.passesSkewAt(lastChance)).toBe(true);
  expect(await request.refusedAfterPurgeAt(lastChance + NONCE_RETENTION_MARGIN_SECONDS - 1)).toBe(true);
});

it('purges a nonce once the skew check refuses its timestamp in every direction', async () => {
  const firstUsed = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
  const request = await nonceFromTheFuture(firstUsed);
  const purgedAt = 2 * SKEW + NONCE_RETENTION_MARGIN_SECONDS + 1;
  expect(request.passesSkewAt(2 * SKEW + 1)).toBe(false); // beyond the skew after its timestamp
  expect(request.passesSkewAt(-1)).toBe(false); // beyond the skew before it
  expect(await request.refusedAfterPurgeAt(purgedAt)).toBe(false); // gone: the store takes it again
});
