import { randomUUID } from 'node:crypto';
import { credentialsKeyring } from '../../infra/credentials';
import { watchConfigChanges } from '../../infra/config-changes';
import { CatalogReader } from '../../store/catalog';
import { Harness, sleep, type TestGame } from '../support/harness';

/** The catalog's admin API: prices per channel type and window, sale windows, retirement, listing, audit. */

let h: Harness;
let game: TestGame;

beforeAll(async () => {
  h = await Harness.start();
  game = await h.createGame();
});
afterAll(() => h?.close());

const newSku = () => `cat-${randomUUID().slice(0, 8)}`;
const item = (extra: Record<string, unknown> = {}) => ({
  gameId: game.gameId,
  name: 'Gems',
  grants: [{ itemId: 'gem', quantity: 60 }],
  prices: [{ region: 'CN', currency: 'CNY', amount: 600 }],
  ...extra,
});
const put = (sku: string, body: unknown, operator = 'alice') => h.http.admin('PUT', `/v1/admin/items/${sku}`, body, h.config.ADMIN_TOKEN, { 'X-Operator': operator });
const order = (sku: string, extra: Record<string, unknown> = {}) => h.createOrder(game, { userId: `u-${randomUUID()}`, sku, quantity: 1, region: 'CN', ...extra });

describe('an item with its new terms', () => {
  // Prices come back by region, then plain before channel types, then by start.
  it('stores and answers kind, channel and scheduled prices, sale window, limits, maxPerOrder, bonus and tags', async () => {
    const sku = newSku();
    const body = item({
      kind: 'BUNDLE',
      prices: [
        { region: 'CN', currency: 'CNY', amount: 600 },
        { region: 'CN', currency: 'CNY', amount: 300, startsAt: '2026-12-24T00:00:00.000Z', endsAt: '2026-12-26T00:00:00.000Z' },
        { region: 'CN', currency: 'CNY', amount: 500, channel: 'alipay' },
      ],
      saleWindow: { endsAt: '2099-01-01T00:00:00.000Z' },
      limits: { perUserDaily: 1, perUserLifetime: 3 },
      maxPerOrder: 2,
      firstPurchaseBonus: { grants: [{ itemId: 'gem', quantity: 60 }], group: 'gems' },
      tags: ['event', 'winter'],
    });
    const res = await put(sku, body);
    expect(res.status).toBe(200);
    const { gameId: _g, ...expected } = body;
    expect(res.body).toEqual({ sku, gameId: game.gameId, stock: null, ...expected });
  });

  it('refuses bad terms with 400 VALIDATION_ERROR naming the field, storing nothing', async () => {
    const sku = newSku();
    const cases: [Record<string, unknown>, string][] = [
      [{ kind: 'GIFT' }, 'kind'],
      [{ limits: { perUserDaily: 0 } }, 'limits'],
      [{ saleWindow: { startsAt: '2026-12-10T00:00:00Z', endsAt: '2026-12-10T00:00:00Z' } }, 'saleWindow'],
      [{ prices: [{ region: 'CN', currency: 'CNY', amount: 1, startsAt: '2026-12-10T00:00:00Z', endsAt: '2026-12-09T00:00:00Z' }] }, 'prices'],
      [{ prices: [{ region: 'CN', currency: 'CNY', amount: 1, channel: 'paypal' }] }, 'prices'],
      [{ prices: [{ region: 'CN', currency: 'CNY', amount: 1 }, { region: 'CN', currency: 'CNY', amount: 2 }] }, 'prices'],
      [
        {
          prices: [
            { region: 'CN', currency: 'CNY', amount: 1, startsAt: '2026-12-01T00:00:00Z', endsAt: '2026-12-10T00:00:00Z' },
            { region: 'CN', currency: 'CNY', amount: 2, startsAt: '2026-12-09T00:00:00Z' },
          ],
        },
        'prices',
      ],
    ];
    for (const [extra, field] of cases) {
      const res = await put(sku, item(extra));
      expect({ extra, status: res.status, code: res.body.error?.code }).toEqual({ extra, status: 400, code: 'VALIDATION_ERROR' });
      expect(JSON.stringify(res.body.error.details)).toContain(field);
    }
    expect(await h.db.item.findUnique({ where: { sku } })).toBeNull();
    expect(await h.db.configAudit.count({ where: { entity: 'item', entityId: sku } })).toBe(0);
  });
});

describe('prices per channel type and window, on orders', () => {
  it("prices an order naming an account at its type's price, and others at the plain price", async () => {
    const sku = newSku();
    await put(sku, item({ prices: [{ region: 'CN', currency: 'CNY', amount: 600 }, { region: 'CN', currency: 'CNY', amount: 450, channel: 'sandbox' }] }));
    expect((await order(sku, { channel: 'sandbox' })).body.amount).toEqual({ currency: 'CNY', value: 450 });
    expect((await order(sku)).body.amount).toEqual({ currency: 'CNY', value: 600 });
  });

  it('prices at a scheduled price while its window contains now, and at the windowless price outside it', async () => {
    const sku = newSku();
    const now = Date.now();
    const window = (from: number, to: number) => ({ startsAt: new Date(from).toISOString(), endsAt: new Date(to).toISOString() });
    await put(sku, item({ prices: [{ region: 'CN', currency: 'CNY', amount: 600 }, { region: 'CN', currency: 'CNY', amount: 300, ...window(now - 60_000, now + 60_000) }] }));
    expect((await order(sku)).body.amount.value).toBe(300);
    await put(sku, item({ prices: [{ region: 'CN', currency: 'CNY', amount: 600 }, { region: 'CN', currency: 'CNY', amount: 300, ...window(now + 60_000, now + 120_000) }] }));
    expect((await order(sku)).body.amount.value).toBe(600);
  });
});

describe('sale windows and retirement', () => {
  it('refuses an order outside the sale window with 422 NOT_ON_SALE, storing nothing', async () => {
    const sku = newSku();
    await put(sku, item({ saleWindow: { startsAt: new Date(Date.now() + 3_600_000).toISOString() } }));
    const before = await h.db.order.count({ where: { sku } });
    const res = await order(sku);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('NOT_ON_SALE');
    expect(await h.db.order.count({ where: { sku } })).toBe(before);
  });

  it('retires an item (no new orders, orders kept), puts it on sale again with a PUT, and 404s an unknown sku', async () => {
    const sku = newSku();
    await put(sku, item());
    const first = await order(sku);
    expect(first.status).toBe(201);
    expect((await h.http.admin('DELETE', `/v1/admin/items/${sku}`, undefined, h.config.ADMIN_TOKEN, { 'X-Operator': 'bob' })).status).toBe(204);
    expect((await h.admin('DELETE', `/v1/admin/items/${sku}`)).status).toBe(204);
    const refused = await order(sku);
    expect([refused.status, refused.body.error.code]).toEqual([422, 'NOT_ON_SALE']);
    expect(await h.db.order.findUnique({ where: { id: first.body.orderId } })).not.toBeNull();
    const listed = await h.admin('GET', `/v1/admin/items?gameId=${game.gameId}`);
    expect(listed.body.items.find((i: { sku: string }) => i.sku === sku).retiredAt).toEqual(expect.any(String));
    expect((await put(sku, item())).body.retiredAt).toBeUndefined();
    expect((await order(sku)).status).toBe(201);
    const unknown = await h.admin('DELETE', `/v1/admin/items/${newSku()}`);
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'ITEM_NOT_FOUND']);
  });

  it("keeps every write of an item in its audit: who, when, the action, before and after; 404 for an unknown sku", async () => {
    const sku = newSku();
    await put(sku, item(), 'alice');
    await put(sku, item({ name: 'More gems' }), 'carol');
    await h.http.admin('DELETE', `/v1/admin/items/${sku}`, undefined, h.config.ADMIN_TOKEN, { 'X-Operator': 'bob' });
    const audit = await h.admin('GET', `/v1/admin/items/${sku}/audit`);
    expect(audit.status).toBe(200);
    expect(audit.body.entries.map((e: { actor: string; action: string }) => [e.actor, e.action])).toEqual([
      ['alice', 'CREATED'],
      ['carol', 'UPDATED'],
      ['bob', 'RETIRED'],
    ]);
    expect(audit.body.entries[0].before).toBeNull();
    expect([audit.body.entries[1].before.name, audit.body.entries[1].after.name]).toEqual(['Gems', 'More gems']);
    expect((await h.admin('GET', `/v1/admin/items/${newSku()}/audit`)).status).toBe(404);
  });
});

describe('listing items', () => {
  it('filters by game, kind and tag, and pages by sku', async () => {
    const other = await h.createGame('Other');
    const prefix = `list-${randomUUID().slice(0, 6)}`;
    await put(`${prefix}-a`, { ...item({ tags: ['event'] }), gameId: other.gameId });
    await put(`${prefix}-b`, { ...item({ kind: 'NON_CONSUMABLE' }), gameId: other.gameId });
    await put(`${prefix}-c`, { ...item({ tags: ['event', 'winter'] }), gameId: other.gameId });
    const skus = async (query: string) => (await h.admin('GET', `/v1/admin/items?gameId=${other.gameId}${query}`)).body.items.map((i: { sku: string }) => i.sku);
    expect(await skus('')).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
    expect(await skus('&tag=event')).toEqual([`${prefix}-a`, `${prefix}-c`]);
    expect(await skus('&kind=NON_CONSUMABLE')).toEqual([`${prefix}-b`]);
    expect(await skus('&limit=2')).toEqual([`${prefix}-a`, `${prefix}-b`]);
    expect(await skus(`&limit=2&after=${prefix}-b`)).toEqual([`${prefix}-c`]);
    expect((await h.admin('GET', '/v1/admin/items?limit=0')).status).toBe(400);
  });
});

describe('every process sees an item change', () => {
  it("drops the item from another process's catalog cache within a second (NOTIFY config_changed 'items')", async () => {
    const sku = newSku();
    await put(sku, item());
    const changes = watchConfigChanges(h.config.DATABASE_URL);
    const other = new CatalogReader(h.db, credentialsKeyring(h.config), 600_000);
    changes.on('items', async () => other.itemsChanged());
    try {
      await sleep(300);
      expect((await other.item(sku))?.retiredAt).toBeNull();
      await h.admin('DELETE', `/v1/admin/items/${sku}`);
      const deadline = Date.now() + 1_000;
      while ((await other.item(sku))?.retiredAt === null && Date.now() < deadline) await sleep(50);
      expect((await other.item(sku))?.retiredAt).toEqual(expect.any(String));
    } finally {
      await changes.close();
    }
  });
});
