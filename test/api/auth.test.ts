import { randomUUID } from 'node:crypto';
import { signedHeaders } from '../../domain/signature';
import { Harness, type TestGame } from '../support/harness';

let h: Harness;
let game: TestGame;
beforeAll(async () => ({ h, game } = await Harness.startWithGame()));
afterAll(() => h?.close());

const now = () => Math.floor(Date.now() / 1000);

/** A signed GET of an order nobody has: a request that passes authentication answers 404. */
function readOrder(headers: (path: string) => Record<string, string>) {
  const path = `/v1/orders/${randomUUID()}`;
  return h.request('GET', path, undefined, headers(path));
}

const signedBy = (secret: string, gameId: string, nonce: string = randomUUID(), at = now()) => (path: string) =>
  signedHeaders(secret, gameId, 'GET', path, '', nonce, at);

async function expectRefused(headers: (path: string) => Record<string, string>, reason: string) {
  const res = await readOrder(headers);
  expect(res.status).toBe(401);
  expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED', details: { reason } });
}

describe('a refused game-server call says why in error.details.reason', () => {
  it('passes a well-signed call (the baseline the refusals differ from)', async () => {
    expect((await readOrder(signedBy(game.secret, game.gameId))).status).toBe(404);
  });

  it('MISSING_HEADERS when X-Game-Id or X-Signature is absent', async () => {
    await expectRefused(() => ({}), 'MISSING_HEADERS');
    await expectRefused((path) => {
      const { 'X-Signature': _dropped, ...unsigned } = signedBy(game.secret, game.gameId)(path);
      return unsigned;
    }, 'MISSING_HEADERS');
  });

  it('UNKNOWN_GAME for a game id nobody registered', async () => {
    await expectRefused(signedBy(game.secret, `no-such-game-${randomUUID()}`), 'UNKNOWN_GAME');
  });

  it('BAD_TIMESTAMP when X-Timestamp is not unix seconds', async () => {
    await expectRefused((path) => ({ ...signedBy(game.secret, game.gameId)(path), 'X-Timestamp': '2026-12-07T10:00:00Z' }), 'BAD_TIMESTAMP');
  });

  it('CLOCK_SKEW when the timestamp is more than SIGNATURE_MAX_SKEW_SECONDS away', async () => {
    await expectRefused(signedBy(game.secret, game.gameId, randomUUID(), now() - h.config.SIGNATURE_MAX_SKEW_SECONDS - 5), 'CLOCK_SKEW');
  });

  it('BAD_NONCE for a nonce shorter than 16 characters', async () => {
    await expectRefused(signedBy(game.secret, game.gameId, 'short'), 'BAD_NONCE');
  });

  it('BAD_SIGNATURE for a call signed with another secret', async () => {
    await expectRefused(signedBy('x'.repeat(40), game.gameId), 'BAD_SIGNATURE');
  });

  it('NONCE_REUSED for a second call with the same nonce', async () => {
    const nonce = randomUUID();
    expect((await readOrder(signedBy(game.secret, game.gameId, nonce))).status).toBe(404);
    await expectRefused(signedBy(game.secret, game.gameId, nonce), 'NONCE_REUSED');
  });
});
