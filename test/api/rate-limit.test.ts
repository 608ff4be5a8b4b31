import { randomUUID } from 'node:crypto';
import { signedHeaders } from '../../domain/signature';
import { Harness, sleep, type TestGame } from '../support/harness';

// Small buckets so a test can empty them: 5 a second (+5 once per 10 s) per client, 3 (+3) per game.
const limits = { RATE_LIMIT_IP_PER_SECOND: '5', RATE_LIMIT_IP_BURST: '10', RATE_LIMIT_GAME_PER_SECOND: '3', RATE_LIMIT_GAME_BURST: '6' };

describe.each([
  ['in process', {}],
  ['in Redis', { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }],
])('rate limits %s', (_store, store: Record<string, string>) => {
  let h: Harness;
  let game: TestGame;
  beforeAll(async () => ({ h, game } = await Harness.startWithGame({ ...limits, ...store, TRUST_PROXY: '1' })));
  afterAll(() => h?.close());

  /** An admin read from one client address (the proxy's X-Forwarded-For, TRUST_PROXY=1). */
  const fromClient = (ip: string, token = h.config.ADMIN_TOKEN) =>
    h.request('GET', '/v1/ops/orders', undefined, { Authorization: `Bearer ${token}`, 'X-Operator': 'rate test', 'X-Forwarded-For': ip });

  it('answers 429 RATE_LIMITED with Retry-After past a client address\'s burst, before authentication, and not to another address', async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 200) + 1}`;
    // At once, so they meet the same buckets (10 at most pass a second, 5 more if a second turns).
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${h.api.url}/v1/ops/orders`, {
          headers: { Authorization: `Bearer ${i % 2 ? 'wrong-token-of-nobody' : h.config.ADMIN_TOKEN}`, 'X-Operator': 'rate test', 'X-Forwarded-For': ip },
        }),
      ),
    );
    // Unauthenticated calls spend the address's budget too: the limit comes first.
    expect(answers.filter((a) => a.status !== 429).length).toBeLessThanOrEqual(15);
    const refused = answers.find((a) => a.status === 429)!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { error: { code: string; details: { scope: string; retryAfterSeconds: number } } };
    expect(body.error).toMatchObject({ code: 'RATE_LIMITED', details: { scope: 'IP' } });
    expect(body.error.details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Another client is not affected.
    expect((await fromClient(`203.0.113.${Math.floor(Math.random() * 200) + 1}`)).status).toBe(200);
  });

  it('never limits the channels\' callbacks by address', async () => {
    const ip = `192.0.2.${Math.floor(Math.random() * 200) + 1}`;
    for (let i = 0; i < 12; i++) await fromClient(ip);
    const callback = await h.request('POST', '/v1/callbacks/sandbox', '{}', { 'Content-Type': 'application/json', 'X-Forwarded-For': ip });
    expect(callback.status).not.toBe(429);
  });

  it('limits a game after its signature, and a refused call keeps its nonce unspent', async () => {
    // Each call from its own address: only the game's bucket is in play.
    const calls = Array.from({ length: 14 }, (_, i) => {
      const path = `/v1/orders/${randomUUID()}`;
      const headers = { ...signedHeaders(game.secret, game.gameId, 'GET', path, '', randomUUID(), Math.floor(Date.now() / 1000)), 'X-Forwarded-For': `10.9.0.${i + 1}` };
      return { path, headers };
    });
    const answers = await Promise.all(calls.map((c) => h.request('GET', c.path, undefined, c.headers)));
    expect(answers.filter((a) => a.status === 404).length).toBeLessThanOrEqual(9);
    const refusedAt = answers.findIndex((a) => a.status === 429);
    expect(answers[refusedAt]!.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { scope: 'GAME' } });
    await sleep(1100);
    // The same call again, once the bucket refills: the refusal did not spend its nonce.
    const again = calls[refusedAt]!;
    expect((await h.request('GET', again.path, undefined, again.headers)).status).toBe(404);
    // A forged call for the game is refused for its signature before it reaches the game's bucket.
    const forged = await h.signed({ gameId: game.gameId, secret: 'x'.repeat(48) }, 'GET', `/v1/orders/${randomUUID()}`);
    expect(forged.status).toBe(401);
  });
});
