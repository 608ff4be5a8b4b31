import { randomUUID } from 'node:crypto';
import { Harness, type TestGame } from '../support/harness';

/** Per-user allowances under concurrency: lifetime limits, non-consumable ownership, the first-purchase bonus. */

let h: Harness;
let game: TestGame;

beforeAll(async () => {
  h = await Harness.start();
  game = await h.createGame();
});
afterAll(() => h?.close());

const newSku = () => `alw-${randomUUID().slice(0, 8)}`;
const putItem = async (sku: string, extra: Record<string, unknown>) => {
  const res = await h.admin('PUT', `/v1/admin/items/${sku}`, {
    gameId: game.gameId,
    name: 'Gems',
    grants: [{ itemId: 'gem', quantity: 60 }],
    prices: [{ region: 'CN', currency: 'CNY', amount: 600 }],
    ...extra,
  });
  expect(res.status).toBe(200);
};
const order = (userId: string, sku: string) => h.createOrder(game, { userId, sku, quantity: 1, region: 'CN' });
const codes = (answers: { status: number; body: { error?: { code: string } } }[]) =>
  answers.reduce<Record<string, number>>((n, a) => {
    const key = a.status === 201 ? 'CREATED' : (a.body.error?.code ?? String(a.status));
    return { ...n, [key]: (n[key] ?? 0) + 1 };
  }, {});

describe('a lifetime limit', () => {
  it('lets one user make exactly 3 of 25 concurrent orders, refuses the rest with their figures, and a closed order frees one', async () => {
    const sku = newSku();
    const user = `u-${randomUUID()}`;
    await putItem(sku, { limits: { perUserLifetime: 3 } });
    const answers = await Promise.all(Array.from({ length: 25 }, () => order(user, sku)));
    expect(codes(answers)).toEqual({ CREATED: 3, PURCHASE_LIMIT_REACHED: 22 });
    const refused = answers.find((a) => a.status === 409)!;
    expect(refused.body.error.details).toEqual({ limit: 'LIFETIME', allowed: 3, used: 3, orderId: expect.any(String) });
    expect(await h.orderStatus(refused.body.error.details.orderId)).toBe('REJECTED');
    // The same key answers the same refusal.
    const [{ used }] = await h.db.$queryRawUnsafe<{ used: number }[]>(`SELECT used FROM user_allowances WHERE user_id = $1`, user);
    expect(used).toBe(3);

    const created = answers.find((a) => a.status === 201)!;
    expect((await h.signed(game, 'POST', `/v1/orders/${created.body.orderId}/cancel`)).status).toBe(200);
    await h.waitForStatus(created.body.orderId, 'CLOSED');
    const again = await Promise.all(Array.from({ length: 5 }, () => order(user, sku)));
    expect(codes(again)).toEqual({ CREATED: 1, PURCHASE_LIMIT_REACHED: 4 });
  });
});

describe('a non-consumable', () => {
  it('is held by one of 5 concurrent orders; the others are refused 409 ALREADY_OWNED naming the owner', async () => {
    const sku = newSku();
    const user = `u-${randomUUID()}`;
    await putItem(sku, { kind: 'NON_CONSUMABLE' });
    const answers = await Promise.all(Array.from({ length: 5 }, () => order(user, sku)));
    expect(codes(answers)).toEqual({ CREATED: 1, ALREADY_OWNED: 4 });
    const owner = answers.find((a) => a.status === 201)!.body.orderId;
    expect(answers.find((a) => a.status === 409)!.body.error.details.ownedBy).toBe(owner);
    expect((await order(`u-${randomUUID()}`, sku)).status).toBe(201);
  });
});

describe('the first-purchase bonus', () => {
  it('goes to exactly one of 10 concurrent first orders, shared by the skus of a group, in the answer, the order and the delivery', async () => {
    const [a, b] = [newSku(), newSku()];
    const group = `grp-${randomUUID().slice(0, 6)}`;
    const bonus = { grants: [{ itemId: 'gem', quantity: 6 }], group };
    await putItem(a, { firstPurchaseBonus: bonus });
    await putItem(b, { firstPurchaseBonus: bonus });
    const user = `u-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => order(user, i % 2 ? a : b)));
    expect(codes(answers)).toEqual({ CREATED: 10 });
    const withBonus = answers.filter((x) => x.body.bonusGrants);
    expect(withBonus).toHaveLength(1);
    expect(withBonus[0]!.body.bonusGrants).toEqual(bonus.grants);
    const orderId = withBonus[0]!.body.orderId;
    const view = await h.signed(game, 'GET', `/v1/orders/${orderId}`);
    expect(view.body.bonusGrants).toEqual(bonus.grants);

    await h.pay(withBonus[0]!.body.payment.channelPaymentId);
    await h.waitForStatus(orderId, 'DELIVERED');
    const delivered = [...h.gameServer.grants.values()].find((d) => d.orderId === orderId)!.body;
    expect(delivered.grants).toEqual([{ itemId: 'gem', quantity: 60 }, ...bonus.grants]);
    expect(delivered.bonusGrants).toEqual(bonus.grants);
  });

  it('is given back when the order that claimed it is closed unpaid', async () => {
    const sku = newSku();
    await putItem(sku, { firstPurchaseBonus: { grants: [{ itemId: 'gem', quantity: 6 }] } });
    const user = `u-${randomUUID()}`;
    const first = await order(user, sku);
    expect(first.body.bonusGrants).toBeDefined();
    expect((await order(user, sku)).body.bonusGrants).toBeUndefined();
    await h.signed(game, 'POST', `/v1/orders/${first.body.orderId}/cancel`);
    await h.waitForStatus(first.body.orderId, 'CLOSED');
    expect((await order(user, sku)).body.bonusGrants).toEqual([{ itemId: 'gem', quantity: 6 }]);
  });
});
