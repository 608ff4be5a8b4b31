import { randomUUID } from 'node:crypto';
import { ledgerViolations, orderEntries } from '../../store/journal';
import { Harness, sleep, type TestGame } from '../support/harness';

/** Risk administration over HTTP (rules as data, the blacklist) and its effect on the next orders. */
let h: Harness;
let game: TestGame;
let sku: string;

beforeAll(async () => {
  ({ h, game, sku } = await Harness.startWithGame());
});
afterAll(() => h?.close());

const newUser = () => `user-${randomUUID().slice(0, 8)}`;
const velocity = (max: number, extra: Record<string, unknown> = {}) => ({
  kind: 'VELOCITY',
  params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max },
  action: 'DENY',
  enabled: true,
  gameId: game.gameId,
  ...extra,
});

describe('risk rules as data', () => {
  it('keeps, lists, audits and removes a rule', async () => {
    const ruleId = `r-${randomUUID().slice(0, 8)}`;
    const put = await h.admin('PUT', `/v1/admin/risk/rules/${ruleId}`, velocity(5, { enabled: false }));
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ ruleId, ...velocity(5, { enabled: false }) });
    const listed = await h.admin('GET', '/v1/admin/risk/rules');
    expect(listed.body.rules).toContainEqual(put.body);
    expect(await h.db.configAudit.count({ where: { entity: 'risk_rule', entityId: ruleId } })).toBe(1);
    expect((await h.admin('DELETE', `/v1/admin/risk/rules/${ruleId}`)).status).toBe(204);
    const again = await h.admin('DELETE', `/v1/admin/risk/rules/${ruleId}`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('RULE_NOT_FOUND');
    expect(await h.db.configAudit.count({ where: { entity: 'risk_rule', entityId: ruleId } })).toBe(2);
  });

  it('refuses params not of their kind, an unknown kind and an unknown game, keeping nothing', async () => {
    const ruleId = `bad-${randomUUID().slice(0, 8)}`;
    const refusals = [
      [{ ...velocity(3), params: { windowSeconds: 600, maxUsers: 2 } }, 400, 'VALIDATION_ERROR'],
      [{ ...velocity(3), params: { subject: 'PLANET', metric: 'ORDERS', windowSeconds: 600, max: 3 } }, 400, 'VALIDATION_ERROR'],
      [{ ...velocity(3), params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 2.5 } }, 400, 'VALIDATION_ERROR'],
      [{ ...velocity(3), kind: 'HUNCH' }, 400, 'VALIDATION_ERROR'],
      [{ ...velocity(3), action: 'ALLOW' }, 400, 'VALIDATION_ERROR'],
      [{ kind: 'AML_SINGLE', params: { amount: { currency: 'CNY', value: 1.5 } }, action: 'REVIEW', enabled: true }, 400, 'VALIDATION_ERROR'],
      [{ ...velocity(3), gameId: 'no-such-game' }, 404, 'GAME_NOT_FOUND'],
    ] as const;
    for (const [body, status, code] of refusals) {
      const res = await h.admin('PUT', `/v1/admin/risk/rules/${ruleId}`, body);
      expect([res.status, res.body.error?.code]).toEqual([status, code]);
    }
    expect(await h.db.riskRule.findUnique({ where: { id: ruleId } })).toBeNull();
  });

  it("applies a new rule to the game's next orders, naming no rule in the game's view", async () => {
    const ruleId = `vel-${randomUUID().slice(0, 8)}`;
    expect((await h.admin('PUT', `/v1/admin/risk/rules/${ruleId}`, velocity(1))).status).toBe(200);
    try {
      const userId = newUser();
      expect((await h.createOrder(game, { userId, sku, region: 'CN' })).status).toBe(201);
      const second = await h.createOrder(game, { userId, sku, region: 'CN' });
      expect([second.status, second.body.error.code]).toEqual([403, 'RISK_REJECTED']);
      const orderId = second.body.error.details.orderId as string;
      const view = await h.signed(game, 'GET', `/v1/orders/${orderId}`);
      expect(view.body.history).toEqual([expect.objectContaining({ status: 'REJECTED', reason: 'RISK_RULE' })]);
      expect(JSON.stringify(view.body)).not.toContain(ruleId);
      const opsView = await h.http.admin('GET', `/v1/ops/orders/${orderId}`, undefined, undefined, { 'X-Operator': 'alice@studio.example' });
      expect(opsView.body.risk).toMatchObject({ decision: 'DENY', hits: [{ ruleId, kind: 'VELOCITY', action: 'DENY', figures: { orders: 2, max: 1 } }] });
      const kept = await h.db.riskDecision.findUniqueOrThrow({ where: { orderId } });
      expect(kept).toMatchObject({ decision: 'DENY', reasons: ['VELOCITY'], hits: [{ ruleId, kind: 'VELOCITY', action: 'DENY', figures: { orders: 2, max: 1 } }] });
    } finally {
      await h.admin('DELETE', `/v1/admin/risk/rules/${ruleId}`);
    }
  });
});

describe('review holds', () => {
  const operator = { 'X-Operator': 'alice@studio.example' };
  /** Each entry of the order as `KIND debit>credit amount`. */
  const entries = async (orderId: string) =>
    (await orderEntries(h.sql, orderId)).map((e) => {
      const short = (account: string) => account.split(':')[0];
      return `${e.kind} ${short(e.postings.find((p) => p.amount > 0)!.account)}>${short(e.postings.find((p) => p.amount < 0)!.account)} ${e.amount}`;
    });
  const heldOrder = async () => {
    const res = await h.createOrder(game, { userId: newUser(), sku, region: 'CN' });
    expect(res.status).toBe(201);
    const { orderId, payment } = res.body as { orderId: string; payment: { channelPaymentId: string } };
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'RISK_REVIEW');
    expect(await entries(orderId)).toEqual(['PAYMENT_HELD channel_clearing>suspense 600']);
    return orderId;
  };
  const decide = (orderId: string, decision: string) =>
    h.http.admin('POST', `/v1/ops/orders/${orderId}/risk-decision`, { decision, reason: 'checked with the player' }, undefined, operator);

  it('holds a paid order a REVIEW rule hit in suspense, then delivers, refunds or times out as decided', async () => {
    const ruleId = `aml-${randomUUID().slice(0, 8)}`;
    const rule = { kind: 'AML_SINGLE', params: { amount: { currency: 'CNY', value: 600 } }, action: 'REVIEW', enabled: true, gameId: game.gameId };
    expect((await h.admin('PUT', `/v1/admin/risk/rules/${ruleId}`, rule)).status).toBe(200);
    await sleep(1_100); // every process applies it within a second
    const timeout = h.config.RISK_REVIEW_TIMEOUT_MS;
    try {
      const approved = await heldOrder();
      expect((await decide(approved, 'APPROVE')).status).toBe(202);
      await h.waitForStatus(approved, 'DELIVERED');
      expect(await entries(approved)).toEqual([
        'PAYMENT_HELD channel_clearing>suspense 600',
        'REVIEW_RELEASED suspense>deferred_revenue 600',
        'GOODS_DELIVERED deferred_revenue>revenue 600',
      ]);
      expect(await h.db.riskDecision.findUniqueOrThrow({ where: { orderId: approved } })).toMatchObject({
        decision: 'REVIEW',
        operatorDecision: 'APPROVE',
        operator: 'alice@studio.example',
      });
      // Operators see what risk decided and why; the game sees the status, never a rule or a hit.
      const opsView = await h.http.admin('GET', `/v1/ops/orders/${approved}`, undefined, undefined, operator);
      expect(opsView.body.risk).toEqual({
        decision: 'REVIEW',
        reasons: ['AML_SINGLE'],
        hits: [{ ruleId, kind: 'AML_SINGLE', action: 'REVIEW', figures: { amount: 600, threshold: 600 } }],
        decidedAt: expect.any(String),
        operatorDecision: { decision: 'APPROVE', operator: 'alice@studio.example', reason: 'checked with the player', at: expect.any(String) },
      });
      const gameView = await h.signed(game, 'GET', `/v1/orders/${approved}`);
      expect(gameView.status).toBe(200);
      expect(gameView.body).not.toHaveProperty('risk');
      for (const secret of [ruleId, 'AML_SINGLE', 'hits', 'threshold']) expect(JSON.stringify(gameView.body)).not.toContain(secret);
      const again = await decide(approved, 'DENY');
      expect([again.status, again.body.error.code]).toEqual([409, 'OPS_ACTION_NOT_ALLOWED']);

      const denied = await heldOrder();
      expect((await decide(denied, 'DENY')).status).toBe(202);
      await h.waitForStatus(denied, 'REFUNDED');
      expect(await entries(denied)).toEqual(['PAYMENT_HELD channel_clearing>suspense 600', 'REFUND suspense>channel_clearing 600']);

      h.config.RISK_REVIEW_TIMEOUT_MS = 1_500;
      const undecided = await heldOrder();
      await h.waitForStatus(undecided, 'REFUNDED');
      const history = await h.db.orderHistory.findMany({ where: { orderId: undecided }, orderBy: { id: 'asc' } });
      expect(history.map((r) => [r.status, r.reason])).toEqual([
        ['PENDING_PAYMENT', null],
        ['RISK_REVIEW', null],
        ['REFUNDED', 'RISK_REVIEW_TIMEOUT'],
      ]);
      expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);

      // The AML report lists each hit with risk's and the operator's decisions, as JSON and as CSV.
      const range = `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`;
      const report = await h.admin('GET', `/v1/admin/risk/aml-reports?${range}`);
      const ours = (report.body.reports as { orderId: string; ruleId: string }[]).filter((r) => r.ruleId === ruleId);
      expect(ours).toEqual([
        expect.objectContaining({ orderId: approved, gameId: game.gameId, amount: { currency: 'CNY', value: 600 }, kind: 'AML_SINGLE', decision: 'REVIEW', operatorDecision: 'APPROVE' }),
        expect.objectContaining({ orderId: denied, operatorDecision: 'DENY' }),
        expect.not.objectContaining({ operatorDecision: expect.anything() }),
      ]);
      const csv = (await h.admin('GET', `/v1/admin/risk/aml-reports?${range}&format=csv`)).body as string;
      expect(csv.split('\n')[0]).toBe('orderId,gameId,userId,currency,amount,ruleId,kind,decision,operatorDecision,decidedAt');
      expect(csv).toContain(`${approved},${game.gameId},`);
    } finally {
      h.config.RISK_REVIEW_TIMEOUT_MS = timeout;
      await h.admin('DELETE', `/v1/admin/risk/rules/${ruleId}`);
    }
  });
});

describe('the AML report', () => {
  it('refuses a range over 366 days, an empty one and a missing bound', async () => {
    const tooLong = await h.admin('GET', '/v1/admin/risk/aml-reports?from=2025-01-01T00:00:00Z&to=2026-01-03T00:00:00Z');
    expect([tooLong.status, tooLong.body.error.code]).toEqual([422, 'RANGE_TOO_LONG']);
    const empty = await h.admin('GET', '/v1/admin/risk/aml-reports?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect([empty.status, empty.body.error.code]).toEqual([400, 'VALIDATION_ERROR']);
    expect((await h.admin('GET', '/v1/admin/risk/aml-reports?from=2026-01-02T00:00:00Z')).status).toBe(400);
    expect((await h.admin('GET', '/v1/admin/risk/aml-reports?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z')).status).toBe(200);
  });
});

describe('the blacklist', () => {
  it('blocks a CIDR block (its slash URL-encoded), lists it with its expiry, and unblocks it', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const put = await h.admin('PUT', `/v1/admin/risk/blacklist/CIDR/${encodeURIComponent('198.18.0.0/15')}`, { reason: 'botnet', expiresAt });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ kind: 'CIDR', value: '198.18.0.0/15', reason: 'botnet', expiresAt });
    const listed = await h.admin('GET', '/v1/admin/risk/blacklist');
    expect(listed.body.entries).toContainEqual({ kind: 'CIDR', value: '198.18.0.0/15', reason: 'botnet', expiresAt, createdAt: expect.any(String) });
    const refused = await h.createOrder(game, { userId: newUser(), sku, region: 'CN', clientIp: '198.19.255.1' });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'RISK_REJECTED']);
    expect(await h.orderStatus(refused.body.error.details.orderId)).toBe('REJECTED');
    expect((await h.admin('DELETE', `/v1/admin/risk/blacklist/CIDR/${encodeURIComponent('198.18.0.0/15')}`)).status).toBe(204);
    expect((await h.createOrder(game, { userId: newUser(), sku, region: 'CN', clientIp: '198.19.255.1' })).status).toBe(201);
  });

  it('refuses a bad IP, a bad CIDR block and a past expiry, keeping nothing', async () => {
    const before = await h.db.riskBlacklist.count();
    const refusals = [
      ['IP', '300.1.1.1', {}],
      ['CIDR', encodeURIComponent('10.0.0.1/8'), {}],
      ['CIDR', '10.0.0.0', {}],
      ['USER', 'someone', { expiresAt: new Date(Date.now() - 1000).toISOString() }],
      ['USER', 'someone', { reason: 'x', colour: 'red' }],
      ['PLANET', 'mars', {}],
    ] as const;
    for (const [kind, value, body] of refusals) {
      const res = await h.admin('PUT', `/v1/admin/risk/blacklist/${kind}/${value}`, body);
      expect([kind, value, res.status, res.body.error?.code]).toEqual([kind, value, 400, 'VALIDATION_ERROR']);
    }
    expect(await h.db.riskBlacklist.count()).toBe(before);
  });
});
