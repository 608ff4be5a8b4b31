import { randomBytes, randomUUID } from 'node:crypto';
import { Harness, type TestGame } from '../support/harness';

// Named operator tokens beside the shared ADMIN_TOKEN of the test run.
const tokens = {
  root: `root-${randomBytes(12).toString('hex')}`,
  ops: `ops-${randomBytes(12).toString('hex')}`,
  finance: `fin-${randomBytes(12).toString('hex')}`,
};

let h: Harness;
let game: TestGame;
let sku: string;
beforeAll(async () => {
  ({ h, game, sku } = await Harness.startWithGame({
    ADMIN_TOKENS: `rita:admin:${tokens.root},olga:ops:${tokens.ops},fred:finance:${tokens.finance}`,
  }));
});
afterAll(() => h?.close());

const call = (token: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  h.request(method, path, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), {
    ...(token && { Authorization: `Bearer ${token}` }),
    'Content-Type': 'application/json',
    ...headers,
  });

const gameBody = (secret: string) => ({ name: 'Rotating Game', secret, deliveryUrl: h.gameServer.deliveryUrl(game.gameId) });

describe('operator roles', () => {
  it('answers 401 to a missing or unknown token and 403 to a token of another role', async () => {
    expect((await call(undefined, 'GET', '/v1/ops/orders')).status).toBe(401);
    expect((await call('not-a-token-of-ours-at-all', 'GET', '/v1/finance/ledger/trial-balance')).body.error.code).toBe('UNAUTHORIZED');
    const denied = await call(tokens.ops, 'GET', '/v1/finance/ledger/trial-balance');
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'FORBIDDEN', details: { role: 'ops' } });
    expect((await call(tokens.finance, 'GET', '/v1/ops/orders')).status).toBe(403);
    expect((await call(tokens.ops, 'PUT', `/v1/admin/items/${sku}`, {})).status).toBe(403);
    expect((await call(tokens.finance, 'GET', '/v1/admin/audit')).status).toBe(403);
    expect((await call(tokens.ops, 'GET', '/sandbox/statements/2026-12-01')).status).toBe(403);
  });

  it('lets each role call its own routes, and admin every route', async () => {
    expect((await call(tokens.ops, 'GET', '/v1/ops/orders')).status).toBe(200);
    expect((await call(tokens.finance, 'GET', '/v1/finance/ledger/trial-balance')).status).toBe(200);
    expect((await call(tokens.root, 'GET', '/v1/ops/orders')).status).toBe(200);
    expect((await call(tokens.root, 'GET', '/v1/finance/ledger/trial-balance')).status).toBe(200);
    // The shared ADMIN_TOKEN stays an admin token.
    expect((await call(h.config.ADMIN_TOKEN, 'GET', '/v1/admin/audit')).status).toBe(200);
  });

  it('refuses before reading the body: a wrong role with a malformed body is 403, not 400', async () => {
    expect((await call(tokens.ops, 'PUT', `/v1/admin/games/${game.gameId}`, '{not json')).status).toBe(403);
    expect((await call(undefined, 'PUT', `/v1/admin/games/${game.gameId}`, '{not json')).status).toBe(401);
  });

  it('needs no X-Operator from a named token, and refuses an empty one', async () => {
    expect((await call(tokens.ops, 'GET', '/v1/ops/stuck')).status).toBe(200);
    const empty = await call(tokens.ops, 'GET', '/v1/ops/stuck', undefined, { 'X-Operator': '   ' });
    expect(empty.status).toBe(400);
    expect((await call(tokens.ops, 'GET', '/v1/ops/stuck', undefined, { 'X-Operator': 'x'.repeat(129) })).status).toBe(400);
  });
});

describe('GET /v1/admin/audit', () => {
  it('names the token as the actor and X-Operator only as on whose behalf, newest first', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const put = await call(tokens.root, 'PUT', `/v1/admin/games/${game.gameId}`, gameBody(game.secret), { 'X-Operator': 'ticket OPS-7 for alice' });
    expect(put.status).toBe(200);
    const order = await h.createOrder(game, { userId: `u-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
    expect(order.status).toBe(201);
    const refund = await call(tokens.ops, 'POST', `/v1/ops/orders/${order.body.orderId}/resolve`, { action: 'REFUND', reason: 'audit test' });
    expect([202, 409]).toContain(refund.status);

    const audit = await call(tokens.root, 'GET', `/v1/admin/audit?since=${encodeURIComponent(since)}&limit=10`);
    expect(audit.status).toBe(200);
    const entries = audit.body.entries as { at: string; actor: string; operator?: string; entity: string; entityId: string; action: string }[];
    expect(entries[0]).toMatchObject({ actor: 'olga', entity: 'order', entityId: order.body.orderId, action: 'REFUND' });
    expect(entries).toContainEqual(
      expect.objectContaining({ actor: 'rita', operator: 'ticket OPS-7 for alice', entity: 'game', entityId: game.gameId, action: 'UPDATE' }),
    );
    expect(entries.map((e) => e.at)).toEqual([...entries.map((e) => e.at)].sort().reverse());
    expect(JSON.stringify(entries)).not.toContain(game.secret);
  });

  it('keeps the window: until before the change finds nothing of it, a reversed range is 400', async () => {
    const until = new Date(Date.now() - 3_600_000).toISOString();
    const old = await call(tokens.root, 'GET', `/v1/admin/audit?until=${encodeURIComponent(until)}`);
    expect(old.status).toBe(200);
    expect(old.body.entries.filter((e: { entityId: string }) => e.entityId === game.gameId)).toEqual([]);
    const reversed = await call(tokens.root, 'GET', `/v1/admin/audit?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z`);
    expect(reversed.status).toBe(400);
    expect((await call(tokens.root, 'GET', '/v1/admin/audit?limit=0')).status).toBe(400);
  });
});

describe('unknown fields on money-moving bodies', () => {
  it('refuses an order with a field we do not know, naming it, and keeps nothing', async () => {
    const userId = `u-${randomUUID().slice(0, 8)}`;
    const res = await h.createOrder(game, { userId, sku, region: 'CN', amount: 1 });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { issues: [{ path: 'amount', message: 'unknown field' }] } });
    expect(await h.db.order.count({ where: { userId } })).toBe(0);
  });

  it('refuses an item, a price inside it, and an ops action with unknown fields', async () => {
    const item = await call(tokens.root, 'PUT', `/v1/admin/items/${sku}`, {
      gameId: game.gameId,
      name: 'Gems',
      grants: [{ itemId: 'gems', quantity: 60 }],
      prices: [{ region: 'CN', currency: 'CNY', amount: 1, discount: 599 }],
    });
    expect(item.status).toBe(400);
    expect(item.body.error.details.issues).toEqual([{ path: 'prices.0.discount', message: 'unknown field' }]);
    const priced = await h.db.itemPrice.findMany({ where: { sku } });
    expect(priced.find((p) => p.region === 'CN')?.amount).toBe(600);
    const action = await call(tokens.ops, 'POST', `/v1/ops/orders/${randomUUID()}/retry-delivery`, { reason: 'x', force: true });
    expect(action.status).toBe(400);
    expect(action.body.error.details.issues).toEqual([{ path: 'force', message: 'unknown field' }]);
  });
});

describe('secret rotation', () => {
  it('takes calls signed with either secret while rotating, and signs deliveries with the first', async () => {
    const rotating = await h.createGame('Rotating');
    await h.createItem(rotating);
    const fresh = randomBytes(24).toString('hex');
    const put = await call(tokens.root, 'PUT', `/v1/admin/games/${rotating.gameId}`, {
      name: 'Rotating',
      secrets: [fresh, rotating.secret],
      deliveryUrl: h.gameServer.deliveryUrl(rotating.gameId),
    });
    expect(put.status).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain(fresh);
    const read = (secret: string) => h.signed({ gameId: rotating.gameId, secret }, 'GET', `/v1/orders/${randomUUID()}`);
    expect((await read(rotating.secret)).status).toBe(404); // authenticated, no such order
    expect((await read(fresh)).status).toBe(404);
    expect((await read(randomBytes(24).toString('hex'))).status).toBe(401);

    // Deliveries are signed with the first: the game server, knowing only the new secret, accepts them.
    h.gameServer.setSecret(rotating.gameId, fresh);
    const order = await h.createOrder({ gameId: rotating.gameId, secret: fresh }, { userId: 'rotating-user', sku: `${(await h.db.item.findFirstOrThrow({ where: { gameId: rotating.gameId } })).sku}`, region: 'CN' });
    expect(order.status).toBe(201);
    await h.pay(order.body.payment.channelPaymentId);
    await h.waitForStatus(order.body.orderId, 'DELIVERED');

    // The rotation ends: the old secret no longer signs.
    await call(tokens.root, 'PUT', `/v1/admin/games/${rotating.gameId}`, { name: 'Rotating', secrets: [fresh], deliveryUrl: h.gameServer.deliveryUrl(rotating.gameId) });
    expect((await read(rotating.secret)).status).toBe(401);
    expect((await read(fresh)).status).toBe(404);
  });

  it('refuses both or neither of secret and secrets, and more than two', async () => {
    const base = { name: 'Bad', deliveryUrl: h.gameServer.deliveryUrl(game.gameId) };
    const s = () => randomBytes(24).toString('hex');
    for (const body of [base, { ...base, secret: s(), secrets: [s()] }, { ...base, secrets: [s(), s(), s()] }, { ...base, secrets: [] }]) {
      const res = await call(tokens.root, 'PUT', `/v1/admin/games/bad-${randomUUID().slice(0, 8)}`, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
  });
});
