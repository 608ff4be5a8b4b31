import { randomUUID } from 'node:crypto';
import { credentialsKeyring } from '../../infra/credentials';
import { watchConfigChanges } from '../../infra/config-changes';
import { CatalogReader } from '../../store/catalog';
import { ledgerViolations } from '../../store/journal';
import { Harness, sleep, type TestGame } from '../support/harness';

/** The storefront, limited stock under concurrency, and the cap on units held by a user's unpaid orders. */

let h: Harness;
let game: TestGame;

beforeAll(async () => {
  // Hundreds of purchases at once on a shared machine: a channel's payment may take longer to open.
  h = await Harness.start({ CHANNEL_OPEN_BUDGET_MS: '20000' });
  game = await h.createGame();
});
afterAll(() => h?.close());

const newSku = (prefix = 'sf') => `${prefix}-${randomUUID().slice(0, 8)}`;
const newUser = () => `u-${randomUUID()}`;
const putItem = async (sku: string, extra: Record<string, unknown> = {}, forGame = game) => {
  const res = await h.admin('PUT', `/v1/admin/items/${sku}`, {
    gameId: forGame.gameId,
    name: `Item ${sku}`,
    grants: [{ itemId: 'gem', quantity: 60 }],
    prices: [{ region: 'CN', currency: 'CNY', amount: 600 }],
    ...extra,
  });
  expect(res.status).toBe(200);
};
/**
 * An order as a game server makes it: a 503 or a timeout (the machine under load) is retried with the
 * same Idempotency-Key, which answers the same order; the answer is the first final one.
 */
async function order(userId: string, sku: string, quantity = 1): Promise<{ status: number; body: any }> {
  const key = randomUUID();
  for (const deadline = Date.now() + 150_000; ; ) {
    const answer = await h.createOrder(game, { userId, sku, quantity, region: 'CN' }, key).catch(() => undefined);
    // A 502 is final: the order was closed and keeps that answer.
    if (answer && (answer.status < 500 || answer.status === 502)) return answer;
    if (Date.now() > deadline) throw new Error(`no final answer for ${key}: ${answer?.status ?? 'timeout'}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
/** `attempt(i)` for i in [0, count), `inFlight` at a time (all racing for the same rows), answers in order. */
async function concurrently<T>(count: number, inFlight: number, attempt: (i: number) => Promise<T>): Promise<T[]> {
  const answers: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < count; i = next++) answers[i] = await attempt(i);
    }),
  );
  return answers;
}
const codes = (answers: { status: number; body: { error?: { code: string } } }[]) =>
  answers.reduce<Record<string, number>>((n, a) => {
    const key = a.status === 201 ? 'CREATED' : (a.body.error?.code ?? String(a.status));
    return { ...n, [key]: (n[key] ?? 0) + 1 };
  }, {});
const shop = (query: string, forGame = game) => h.signed(forGame, 'GET', `/v1/storefront?${query}`);
const entry = async (query: string, sku: string) => ((await shop(query)).body.items as { sku: string }[]).find((i) => i.sku === sku) as any;

describe('the storefront', () => {
  it("lists the game's items on sale with a price for the region, at the order's price, with the user's figures", async () => {
    const other = await h.createGame();
    const [plain, pack, noAds, retired, later, jpOnly, foreign] = ['plain', 'pack', 'noads', 'retired', 'later', 'jp', 'foreign'].map(newSku);
    await putItem(plain!, { prices: [{ region: 'CN', currency: 'CNY', amount: 600 }, { region: 'CN', currency: 'CNY', amount: 500, channel: 'sandbox' }] });
    const bonus = { grants: [{ itemId: 'gem', quantity: 6 }] };
    await putItem(pack!, { kind: 'BUNDLE', stock: 2, limits: { perUserDaily: 1, perUserLifetime: 2 }, firstPurchaseBonus: bonus, saleWindow: { endsAt: '2099-01-01T00:00:00.000Z' } });
    await putItem(noAds!, { kind: 'NON_CONSUMABLE' });
    await putItem(retired!);
    expect((await h.admin('DELETE', `/v1/admin/items/${retired}`)).status).toBe(204);
    await putItem(later!, { saleWindow: { startsAt: '2099-01-01T00:00:00.000Z' } });
    await putItem(jpOnly!, { prices: [{ region: 'JP', currency: 'JPY', amount: 160 }] });
    await putItem(foreign!, {}, other);

    const user = newUser();
    const query = `userId=${user}&region=CN`;
    const listed = (await shop(query)).body.items as any[];
    expect(listed.map((i) => i.sku)).toEqual([noAds, pack, plain].sort());
    expect(listed.find((i) => i.sku === pack)).toEqual({
      sku: pack,
      name: `Item ${pack}`,
      kind: 'BUNDLE',
      price: { currency: 'CNY', value: 600 },
      grants: [{ itemId: 'gem', quantity: 60 }],
      bonusGrants: bonus.grants,
      stockRemaining: 2,
      userRemaining: { daily: 1, lifetime: 2 },
      saleEndsAt: '2099-01-01T00:00:00.000Z',
    });
    expect(listed.find((i) => i.sku === plain)).toMatchObject({ price: { value: 600 }, stockRemaining: null });
    // The channel decides the price as it decides an order's: an account's type, or a type.
    expect((await entry(`${query}&channel=sandbox`, plain!)).price.value).toBe(500);
    expect((await shop(`userId=${user}&region=JP`)).body.items.map((i: any) => i.sku)).toEqual([jpOnly]);

    // The user buys: the figures follow at once (limits, stock, bonus, ownership).
    const bought = await order(user, pack!);
    expect(bought.status).toBe(201);
    expect(bought.body.amount).toEqual((await entry(`userId=${newUser()}&region=CN`, pack!)).price);
    expect((await order(user, noAds!)).status).toBe(201);
    const after = await entry(query, pack!);
    expect(after).toMatchObject({ stockRemaining: 1, userRemaining: { daily: 0, lifetime: 1 } });
    expect(after).not.toHaveProperty('bonusGrants');
    expect((await entry(query, noAds!)).owned).toBe(true);
    expect(await entry(`userId=${newUser()}&region=CN`, noAds!)).not.toHaveProperty('owned');

    // Sold out: still listed, with nothing left.
    expect((await order(newUser(), pack!)).status).toBe(201);
    expect((await entry(query, pack!)).stockRemaining).toBe(0);
    // Retired: gone at once.
    expect((await h.admin('DELETE', `/v1/admin/items/${plain}`)).status).toBe(204);
    expect(await entry(query, plain!)).toBeUndefined();
    // Another game's storefront is its own.
    expect((await shop(query, other)).body.items.map((i: any) => i.sku)).toEqual([foreign]);
  }, 120_000);

  it('refuses a request without a user, a valid region or a known channel, and an unsigned one', async () => {
    for (const query of ['region=CN', 'userId=u1', 'userId=u1&region=cn', 'userId=u1&region=CHN', 'userId=u1&region=CN&channel=nope', 'userId=u1&region=CN&platform=tv']) {
      const res = await shop(query);
      expect({ query, status: res.status, code: res.body.error?.code }).toEqual({ query, status: 400, code: 'VALIDATION_ERROR' });
    }
    expect((await h.request('GET', '/v1/storefront?userId=u1&region=CN')).status).toBe(401);
  });
});

describe("the storefront's cache of what every player sees", () => {
  it('shows a price changed by the admin API at once, here and (notified) in another process', async () => {
    const sku = newSku('cache');
    await putItem(sku);
    const changes = watchConfigChanges(h.config.DATABASE_URL);
    // Another API process's catalog: its item list kept far longer than the change may take.
    const other = new CatalogReader(h.db, credentialsKeyring(h.config), 600_000);
    changes.on('items', async () => other.itemsChanged());
    const otherPrice = async () => (await other.storefrontOffers(game.gameId, { region: 'CN', at: new Date() })).offers.find((o) => o.entry.sku === sku)?.entry.price.value;
    try {
      const query = `userId=${newUser()}&region=CN`;
      expect((await entry(query, sku)).price.value).toBe(600);
      await sleep(300); // the other process is listening
      expect(await otherPrice()).toBe(600);
      await putItem(sku, { prices: [{ region: 'CN', currency: 'CNY', amount: 450 }] });
      expect((await entry(query, sku)).price.value).toBe(450);
      const deadline = Date.now() + 1_000;
      while ((await otherPrice()) !== 450 && Date.now() < deadline) await sleep(50);
      expect(await otherPrice()).toBe(450);
    } finally {
      await changes.close();
    }
  });

  it('shows a scheduled price once it starts, and the sale ended once it ends, without any write', async () => {
    const sku = newSku('sched');
    const soon = Date.now() + 1_500;
    const iso = (t: number) => new Date(t).toISOString();
    await putItem(sku, {
      prices: [{ region: 'CN', currency: 'CNY', amount: 600 }, { region: 'CN', currency: 'CNY', amount: 300, startsAt: iso(soon) }],
      saleWindow: { endsAt: iso(soon + 1_500) },
    });
    // A process whose item list never expires in this test: only the boundary moves it on.
    const other = new CatalogReader(h.db, credentialsKeyring(h.config), 600_000);
    const otherEntry = async () => (await other.storefrontOffers(game.gameId, { region: 'CN', at: new Date() })).offers.find((o) => o.entry.sku === sku)?.entry;
    const query = `userId=${newUser()}&region=CN`;
    expect((await entry(query, sku)).price.value).toBe(600);
    expect(await otherEntry()).toMatchObject({ price: { value: 600 } });
    await sleep(soon - Date.now() + 50);
    expect((await entry(query, sku)).price.value).toBe(300);
    expect(await otherEntry()).toMatchObject({ price: { value: 300 } });
    await sleep(soon + 1_500 - Date.now() + 50);
    expect(await entry(query, sku)).toBeUndefined();
    expect(await otherEntry()).toBeUndefined();
  });
});

describe('limited stock under concurrency', () => {
  it('creates exactly 50 of 200 concurrent orders for 50 units; after 20 paid and 30 cancelled the stock and reservations are exact', async () => {
    const sku = newSku('stock');
    await putItem(sku, { stock: 50 });
    // 40 in flight at a time: what this shared 2-core machine's worker takes without workflow tasks timing out.
    const answers = await concurrently(200, 40, () => order(newUser(), sku));
    expect(codes(answers)).toEqual({ CREATED: 50, OUT_OF_STOCK: 150 });
    const stock = async () => {
      const [item] = await h.db.$queryRawUnsafe<{ stock_available: number }[]>('SELECT stock_available FROM items WHERE sku = $1', sku);
      const reservations = await h.db.$queryRawUnsafe<{ status: string; units: number }[]>(
        'SELECT status, sum(quantity)::int AS units FROM stock_reservations WHERE sku = $1 GROUP BY status ORDER BY status',
        sku,
      );
      return { available: item!.stock_available, reservations: Object.fromEntries(reservations.map((r) => [r.status, r.units])) };
    };
    expect(await stock()).toEqual({ available: 0, reservations: { RESERVED: 50 } });
    const refused = answers.find((a) => a.status === 409)!;
    expect(await h.orderStatus(refused.body.error.details.orderId)).toBe('REJECTED');

    const created = answers.filter((a) => a.status === 201).map((a) => a.body);
    const [paid, cancelled] = [created.slice(0, 20), created.slice(20)];
    await Promise.all(paid.map((o) => h.pay(o.payment.channelPaymentId)));
    await Promise.all(cancelled.map((o) => h.signed(game, 'POST', `/v1/orders/${o.orderId}/cancel`)));
    await Promise.all(paid.map((o) => h.waitForStatus(o.orderId, 'DELIVERED', 120_000)));
    await Promise.all(cancelled.map((o) => h.waitForStatus(o.orderId, 'CLOSED', 120_000)));
    expect(await stock()).toEqual({ available: 30, reservations: { COMMITTED: 20, RELEASED: 30 } });
    expect((await entry(`userId=${newUser()}&region=CN`, sku)).stockRemaining).toBe(30);
    expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);
    // 200 purchases at once on a shared 2-core machine: retries with the same key take their time.
  }, 300_000);
});

describe("the cap on units a user's unpaid orders hold", () => {
  const pending = async (user: string, sku: string) => {
    const rows = await h.db.$queryRawUnsafe<{ used: number }[]>('SELECT used FROM user_allowances WHERE user_id = $1 AND key = $2', user, `PENDING:${sku}`);
    return rows[0]?.used ?? 0;
  };

  it('lets one user hold 3 units unpaid of 10 concurrent orders (422 QUANTITY_NOT_ALLOWED, nothing taken); paying or closing one frees its units', async () => {
    const sku = newSku('pend');
    await putItem(sku, { stock: 100, limits: { maxPendingPerUser: 3 } });
    const user = newUser();
    const answers = await Promise.all(Array.from({ length: 10 }, () => order(user, sku)));
    expect(codes(answers)).toEqual({ CREATED: 3, QUANTITY_NOT_ALLOWED: 7 });
    const refused = answers.find((a) => a.status === 422)!;
    expect(refused.body.error.details).toEqual({ maxPendingPerUser: 3, pending: 3, quantity: 1, orderId: expect.any(String) });
    expect(await h.orderStatus(refused.body.error.details.orderId)).toBe('REJECTED');
    const [item] = await h.db.$queryRawUnsafe<{ stock_available: number }[]>('SELECT stock_available FROM items WHERE sku = $1', sku);
    expect(item!.stock_available).toBe(97);
    expect(await pending(user, sku)).toBe(3);
    // Another user is not held back.
    expect((await order(newUser(), sku, 3)).status).toBe(201);

    const [first, second] = answers.filter((a) => a.status === 201).map((a) => a.body);
    await h.pay(first.payment.channelPaymentId);
    await h.waitForStatus(first.orderId, 'DELIVERED');
    expect(await pending(user, sku)).toBe(2);
    expect(codes(await Promise.all([order(user, sku), order(user, sku)]))).toEqual({ CREATED: 1, QUANTITY_NOT_ALLOWED: 1 });
    await h.signed(game, 'POST', `/v1/orders/${second.orderId}/cancel`);
    await h.waitForStatus(second.orderId, 'CLOSED');
    expect(await pending(user, sku)).toBe(2);
    expect((await order(user, sku, 2)).status).toBe(422);
    expect((await order(user, sku, 1)).status).toBe(201);
  }, 180_000);

  it('defaults to maxPerOrder for limited stock: one user cannot hold a whole stock through many unpaid orders', async () => {
    const sku = newSku('pend');
    await putItem(sku, { stock: 100, maxPerOrder: 4 });
    const user = newUser();
    expect((await order(user, sku, 4)).status).toBe(201);
    const more = await order(user, sku, 1);
    expect(more.status).toBe(422);
    expect(more.body.error).toMatchObject({ code: 'QUANTITY_NOT_ALLOWED', details: { maxPendingPerUser: 4, pending: 4 } });
    // Unlimited items hold no stock: no cap unless the item sets one.
    const unlimited = newSku('pend');
    await putItem(unlimited, { maxPerOrder: 4 });
    const orders = await Promise.all(Array.from({ length: 3 }, () => order(user, unlimited, 4)));
    expect(codes(orders)).toEqual({ CREATED: 3 });
  }, 120_000);
});
