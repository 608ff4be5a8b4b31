import { randomBytes, randomUUID } from 'node:crypto';
import { credentialsKeyring } from '../../infra/credentials';
import { sealLegacyGameSecrets } from '../../store/catalog';
import { sql } from '../../store/sql';
import { Harness } from '../support/harness';

/** Game secrets sign every game-server call both ways: kept sealed at rest, never in plaintext. */
describe('game secrets at rest', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start();
  });
  afterAll(() => h.close());

  const rowOf = async (gameId: string) => {
    const [row] = await h.sql<Record<string, unknown>>(sql`SELECT * FROM games WHERE id = ${gameId}`);
    return row!;
  };

  it('stores a new game secret sealed, and the game still signs its calls with it', async () => {
    const game = await h.createGame();
    const row = await rowOf(game.gameId);
    expect(row.secret).toBeNull();
    expect(row.secret_ciphertext).toEqual(expect.any(String));
    expect(JSON.stringify(row)).not.toContain(game.secret);
    const audit = await h.sql<{ after: unknown }>(sql`SELECT after FROM config_audit WHERE entity = 'game' AND entity_id = ${game.gameId}`);
    expect(JSON.stringify(audit)).not.toContain(game.secret);

    const read = await h.signed(game, 'GET', `/v1/orders/${randomUUID()}`);
    expect(read.status).toBe(404); // past the signature check: the order does not exist
  });

  it('seals the plaintext secret of a game written before secrets were sealed, which keeps working meanwhile', async () => {
    const gameId = `legacy-${randomUUID().slice(0, 8)}`;
    const secret = randomBytes(24).toString('hex');
    await h.sql(sql`INSERT INTO games (id, name, secret, delivery_url, updated_at)
      VALUES (${gameId}, 'Legacy', ${secret}, ${h.gameServer.deliveryUrl(gameId)}, now())`);
    const game = { gameId, secret };
    expect((await h.signed(game, 'GET', `/v1/orders/${randomUUID()}`)).status).toBe(404);

    expect(await sealLegacyGameSecrets(h.db, credentialsKeyring(h.config))).toBeGreaterThanOrEqual(1);
    const row = await rowOf(gameId);
    expect(row.secret).toBeNull();
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(await sealLegacyGameSecrets(h.db, credentialsKeyring(h.config))).toBe(0);
    expect((await h.signed(game, 'GET', `/v1/orders/${randomUUID()}`)).status).toBe(404);
    expect((await h.signed({ gameId, secret: 'x'.repeat(48) }, 'GET', `/v1/orders/${randomUUID()}`)).status).toBe(401);
  });

  it('refuses a game row with no secret at all', async () => {
    await expect(
      h.sql(sql`INSERT INTO games (id, name, delivery_url, updated_at) VALUES (${`none-${randomUUID().slice(0, 8)}`}, 'None', 'http://127.0.0.1:1/', now())`),
    ).rejects.toThrow(/games_secret_present/);
  });
});
