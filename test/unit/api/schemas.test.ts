import { gameIdPath, skuPath } from '../../../api/admin/schemas';
import { createOrderBody, idempotencyKey } from '../../../api/orders/schemas';
import { isStorableText, text } from '../../../api/shared/schemas';

describe('input PostgreSQL can store', () => {
  it('refuses NUL, other control characters and unpaired surrogates, and keeps real text', () => {
    for (const bad of ['a\u0000b', '\u0007', 'x\ud800', '\udfffy', 'tab\there']) expect(isStorableText(bad)).toBe(false);
    for (const good of ['player-10086', '玩家一号', 'emoji 😀 ok', 'ÅÄÖ', '']) expect(isStorableText(good)).toBe(true);
    expect(text(5).safeParse('123456').success).toBe(false);
  });

  it('takes game ids and skus of letters, digits and ._:- that do not start with a dot', () => {
    for (const bad of ['.', '..', '.hidden', 'a/b', 'a b', '', 'x'.repeat(65)]) expect(gameIdPath.safeParse(bad).success).toBe(false);
    for (const good of ['demo-game', 'dq_m.cn', 'g:1']) expect(gameIdPath.safeParse(good).success).toBe(true);
    expect(skuPath.safeParse('..').success).toBe(false);
  });

  it('bounds the create-order body and the idempotency key', () => {
    const body = { userId: 'u', sku: 'gems', region: 'CN' };
    expect(createOrderBody.safeParse(body).success).toBe(true);
    expect(createOrderBody.safeParse({ ...body, userId: 'a\u0000' }).success).toBe(false);
    expect(createOrderBody.safeParse({ ...body, quantity: 10_001 }).success).toBe(false);
    expect(createOrderBody.safeParse({ ...body, deviceId: 'd'.repeat(129) }).success).toBe(false);
    expect(idempotencyKey.safeParse('k'.repeat(129)).success).toBe(false);
    expect(idempotencyKey.safeParse('with space').success).toBe(false);
  });
});
