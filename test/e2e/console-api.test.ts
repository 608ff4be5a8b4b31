import { randomUUID } from 'node:crypto';
import { Harness, type TestGame } from '../support/harness';

let h: Harness;
let game: TestGame;
let sku: string;

beforeAll(async () => ({ h, game, sku } = await Harness.startWithGame({ CONSOLE_LOGIN_TTL: '60' })));
afterAll(() => h?.close());

const OPERATOR = 'alice@studio.example';

async function signIn(token = h.config.ADMIN_TOKEN, operator = OPERATOR, headers: Record<string, string> = {}) {
  const res = await fetch(`${h.api.url}/v1/console/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ token, operator }),
  });
  const cookie = res.headers.get('set-cookie') ?? '';
  return { res, body: (await res.json()) as any, cookie, pair: cookie.split(';')[0]! };
}

const withCookie = (pair: string, path: string, init: RequestInit = {}) =>
  fetch(`${h.api.url}${path}`, { ...init, headers: { Cookie: pair, ...(init.headers as Record<string, string>) } });

const ops = (method: string, path: string, body?: unknown) =>
  h.request(method, path, body === undefined ? undefined : JSON.stringify(body), {
    Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
    'Content-Type': 'application/json',
    'X-Operator': OPERATOR,
  });

async function order(userId = `user-${randomUUID().slice(0, 8)}`) {
  const res = await h.createOrder(game, { userId, sku, region: 'CN' });
  expect(res.status).toBe(201);
  return { userId, orderId: res.body.orderId as string, channelPaymentId: res.body.payment.channelPaymentId as string };
}

describe('console sign-in', () => {
  it('exchanges the admin token once for an HttpOnly, SameSite=Strict cookie that expires', async () => {
    const { res, body, cookie } = await signIn();
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ name: OPERATOR, role: 'admin', permissions: expect.arrayContaining(['orders:act']) });
    expect(cookie).toMatch(/^gpc_console=[A-Za-z0-9_-]{40,}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=60$/);
    expect(cookie).not.toContain(h.config.ADMIN_TOKEN);
    expect(JSON.stringify(body)).not.toContain(h.config.ADMIN_TOKEN);
    const row = await h.db.consoleSession.findFirstOrThrow({ where: { operator: OPERATOR }, orderBy: { createdAt: 'desc' } });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeGreaterThanOrEqual(59_000);
  });

  it('refuses a wrong token (401) and a sign-in posted from another origin (403), setting no cookie', async () => {
    const wrong = await signIn('x'.repeat(h.config.ADMIN_TOKEN.length));
    expect([wrong.res.status, wrong.body.error.code, wrong.cookie]).toEqual([401, 'UNAUTHORIZED', '']);
    const foreign = await signIn(undefined, undefined, { Origin: 'https://evil.example' });
    expect([foreign.res.status, foreign.body.error.code, foreign.cookie]).toEqual([403, 'FORBIDDEN', '']);
    const noOperator = await signIn(undefined, ' ');
    expect(noOperator.res.status).toBe(400);
  });

  it('lets the cookie read the ops API as the signed-in operator, and sign out ends it at once', async () => {
    const { pair } = await signIn();
    expect((await withCookie(pair, '/v1/console/session')).status).toBe(200);
    expect((await withCookie(pair, '/v1/ops/orders?sort=newest&limit=1')).status).toBe(200);
    expect((await fetch(`${h.api.url}/v1/ops/orders?sort=newest&limit=1`, { headers: { 'X-Operator': OPERATOR } })).status).toBe(401);
    const out = await withCookie(pair, '/v1/console/session', { method: 'DELETE' });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await withCookie(pair, '/v1/console/session')).status).toBe(401);
    expect((await withCookie(pair, '/v1/ops/orders?sort=newest&limit=1')).status).toBe(401);
  });

  it('refuses an expired session', async () => {
    const { pair } = await signIn();
    await h.db.consoleSession.updateMany({ where: { endedAt: null }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await withCookie(pair, '/v1/ops/orders?sort=newest&limit=1')).status).toBe(401);
  });

  it("acts as the session's operator from the console's origin and refuses the same call from another origin", async () => {
    const { orderId } = await order();
    const { pair } = await signIn(undefined, 'bob@studio.example');
    const close = (origin: string) =>
      withCookie(pair, `/v1/ops/orders/${orderId}/close`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Origin: origin, 'X-Operator': 'mallory' },
        body: JSON.stringify({ reason: 'player asked to cancel, ticket CS-1' }),
      });
    const foreign = await close('https://evil.example');
    expect(foreign.status).toBe(403);
    expect(await h.db.opsAction.count({ where: { orderId } })).toBe(0);
    const same = await close(h.api.url);
    expect(same.status).toBe(202);
    expect(((await same.json()) as any).order.status).toBe('CLOSED');
    expect(await h.db.opsAction.findMany({ where: { orderId }, select: { operator: true, action: true, outcome: true, reason: true } })).toEqual([
      { operator: 'bob@studio.example', action: 'CLOSE', outcome: 'ACCEPTED', reason: 'player asked to cancel, ticket CS-1' },
    ]);
  });
});

describe('ops order search and order story', () => {
  it('finds orders by order id, user id and channel payment id, newest first, keyset paged', async () => {
    const userId = `user-${randomUUID().slice(0, 8)}`;
    const placed = [await order(userId), await order(userId), await order(userId)];
    const search = async (query: string) => (await ops('GET', `/v1/ops/orders?${query}`)).body;
    const byUser = await search(`q=${userId}&limit=2`);
    expect(byUser.orders.map((o: { orderId: string }) => o.orderId)).toEqual([placed[2]!.orderId, placed[1]!.orderId]);
    const older = await search(`q=${userId}&limit=2&after=${encodeURIComponent(byUser.next)}`);
    expect(older.orders.map((o: { orderId: string }) => o.orderId)).toEqual([placed[0]!.orderId]);
    expect(older.next).toBeUndefined();
    expect((await search(`q=${placed[1]!.channelPaymentId}`)).orders.map((o: { orderId: string }) => o.orderId)).toEqual([placed[1]!.orderId]);
    expect((await search(`q=${placed[0]!.orderId.toUpperCase()}`)).orders.map((o: { orderId: string }) => o.orderId)).toEqual([placed[0]!.orderId]);
    expect((await search(`userId=${userId}&status=DELIVERED`)).orders).toEqual([]);
    expect((await search(`q=${userId}&from=2000-01-01T00:00:00.000Z&to=2000-01-02T00:00:00.000Z`)).orders).toEqual([]);
    expect((await ops('GET', '/v1/ops/orders?after=not-a-cursor')).status).toBe(400);
  });

  it("merges a term that is one order's channel payment id and another's user id, newest first, paged across both", async () => {
    const paidBy = await order();
    const ofUser = await order(paidBy.channelPaymentId); // a user whose id is that payment id: both match
    const ids = async (query: string) => {
      const body = (await ops('GET', `/v1/ops/orders?${query}`)).body;
      return { ids: body.orders.map((o: { orderId: string }) => o.orderId), next: body.next as string | undefined };
    };
    expect((await ids(`q=${paidBy.channelPaymentId}`)).ids).toEqual([ofUser.orderId, paidBy.orderId]);
    const first = await ids(`q=${paidBy.channelPaymentId}&limit=1`);
    expect(first.ids).toEqual([ofUser.orderId]);
    expect((await ids(`q=${paidBy.channelPaymentId}&limit=1&after=${encodeURIComponent(first.next!)}`)).ids).toEqual([paidBy.orderId]);
  });

  it("tells a delivered and refunded order's whole story: timeline in order, operator's action, ledger entries", async () => {
    const { orderId, channelPaymentId } = await order();
    await h.pay(channelPaymentId, { result: 'SUCCESS' });
    await h.waitForStatus(orderId, 'DELIVERED');
    expect((await ops('POST', `/v1/ops/orders/${orderId}/refund`, { reason: 'charged twice, CS-8812', revoke: false })).status).toBe(202);
    await h.waitForStatus(orderId, 'REFUNDED');
    const story = await ops('GET', `/v1/ops/orders/${orderId}`);
    expect(story.status).toBe(200);
    const kinds = story.body.timeline.map((e: { kind: string }) => e.kind);
    expect(kinds[0]).toBe('CREATED');
    for (const kind of ['ROUTING', 'PAYMENT_OPEN', 'NOTIFICATION', 'PAYMENT_RESULT', 'DELIVERY', 'REFUND', 'OPS_ACTION']) expect(kinds).toContain(kind);
    const statuses = story.body.timeline.filter((e: { kind: string }) => e.kind === 'STATUS').map((e: { title: string }) => e.title);
    expect(statuses).toEqual(['PENDING_PAYMENT', 'PAID', 'DELIVERING', 'DELIVERED', 'REFUNDED']);
    const times = story.body.timeline.map((e: { at: string }) => e.at);
    expect([...times].sort()).toEqual(times);
    expect(story.body.timeline.find((e: { kind: string }) => e.kind === 'OPS_ACTION')).toMatchObject({
      title: `${OPERATOR}: REFUND ACCEPTED`,
      detail: 'charged twice, CS-8812',
    });
    expect(story.body.actions).toEqual([]);
    expect(story.body.ledger.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining([expect.any(String)]));
    for (const entry of story.body.ledger) {
      const debit = entry.postings.reduce((s: number, p: { debit: number }) => s + p.debit, 0);
      const credit = entry.postings.reduce((s: number, p: { credit: number }) => s + p.credit, 0);
      expect(debit).toBe(credit);
    }
    expect(story.body.ledger.flatMap((e: { postings: { account: string }[] }) => e.postings.map((p) => p.account))).toContain(`revenue:${game.gameId}`);
  });

  it('offers the actions the status allows and answers 404 for an unknown order', async () => {
    const { orderId } = await order();
    expect((await ops('GET', `/v1/ops/orders/${orderId}`)).body.actions).toEqual(['CLOSE']);
    expect((await ops('GET', `/v1/ops/orders/${randomUUID()}`)).status).toBe(404);
    expect((await ops('GET', '/v1/ops/orders/not-an-id')).status).toBe(404);
  });

  it('refuses to close an order that is no longer unpaid (409), audited', async () => {
    const { orderId, channelPaymentId } = await order();
    await h.pay(channelPaymentId, { result: 'SUCCESS' });
    await h.waitForStatus(orderId, 'DELIVERED');
    const res = await ops('POST', `/v1/ops/orders/${orderId}/close`, { reason: 'too late' });
    expect([res.status, res.body.error.code]).toEqual([409, 'OPS_ACTION_NOT_ALLOWED']);
    expect((await h.db.opsAction.findFirstOrThrow({ where: { orderId } })).outcome).toBe('REFUSED');
  });
});
