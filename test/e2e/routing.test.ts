import { randomUUID } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { startApi, type RunningApi } from '../../api/server';
import { createLogger } from '../../infra/logger';
import { ApiClient } from '../../testkit/api-client';
import { Harness, logCapture, sleep, workerMetricsUrl, type TestGame } from '../support/harness';

/**
 * Routing and resilience through the whole system: two sandbox accounts, one of them failing every
 * create; orders fail over within the create call, the failing account's breaker opens and, once it
 * is healthy again, a probe closes it and traffic returns. Run on both homes of the shared breaker
 * state (PostgreSQL, Redis). Thresholds are shortened; exploration is off so choices are certain.
 */
const FAST_BREAKERS = {
  CHANNEL_BREAKER_CONSECUTIVE_FAILURES: '3',
  CHANNEL_BREAKER_MIN_CALLS: '5',
  CHANNEL_BREAKER_WINDOW_MS: '10000',
  // Long enough for the checks made while it is open, even on a loaded machine.
  CHANNEL_BREAKER_COOLDOWN_MS: '5000',
  CHANNEL_BREAKER_HALF_OPEN_PROBES: '1',
  CHANNEL_FAILOVER_BUDGET_MS: '3000',
  ROUTING_EXPLORATION_SHARE: '0',
  // A failed opening is assumed to cost 1% of the order: fees still decide between healthy accounts.
  ROUTING_FAILURE_PENALTY_BPS: '100',
};
/** Every process applies a configuration change within a second (see infra/config-changes.ts). */
const CONFIG_REACHES_EVERY_PROCESS_MS = 1_100;

async function useAccounts(h: Harness, accounts: Record<string, Record<string, unknown>>) {
  for (const [channelId, body] of Object.entries(accounts)) await h.http.adminOk('PUT', `/v1/admin/channels/${channelId}`, { type: 'sandbox', enabled: true, ...body });
  await sleep(CONFIG_REACHES_EVERY_PROCESS_MS);
}

/**
 * Other test files leave channel accounts in this database: every enabled one is set aside (disabled)
 * so that only this file's accounts route, then put back. Returns the restore.
 */
async function setAsideOtherAccounts(h: Harness, keepSandbox: boolean): Promise<() => Promise<void>> {
  const listed = (await h.http.adminOk('GET', '/v1/admin/channels')).body as { channels: { channelId: string; type: string; enabled: boolean; builtIn?: true }[] };
  const channels = listed.channels.filter((c) => !c.builtIn);
  const aside = channels.filter((c) => c.enabled && !(keepSandbox && c.channelId === 'sandbox'));
  for (const c of aside) await h.http.adminOk('PUT', `/v1/admin/channels/${c.channelId}`, { type: c.type, enabled: false });
  // The built-in sandbox account takes part unless configured: configure it, enabled or not.
  if (!channels.some((c) => c.channelId === 'sandbox')) {
    await h.http.adminOk('PUT', '/v1/admin/channels/sandbox', { type: 'sandbox', enabled: keepSandbox, credentials: {} });
    if (!keepSandbox) aside.push({ channelId: 'sandbox', type: 'sandbox', enabled: true });
  }
  return async () => {
    for (const c of aside) await h.http.adminOk('PUT', `/v1/admin/channels/${c.channelId}`, { type: c.type, enabled: true });
  };
}

const healthOf = async (h: Harness, channelId: string) =>
  ((await h.http.adminOk('GET', '/v1/admin/channels/health')).body.channels as { channelId: string; state: string; failures: number }[]).find(
    (c) => c.channelId === channelId,
  );

describe.each([
  ['PostgreSQL', {}],
  ['Redis', { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }],
])('failover and circuit breakers (state in %s)', (_backend, overrides: Record<string, string>) => {
  let h: Harness;
  let game: TestGame;
  let sku: string;
  let restore: () => Promise<void>;
  const cheap = `cheap-${randomUUID().slice(0, 6)}`;
  const dear = `dear-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    ({ h, game, sku } = await Harness.startWithGame({ ...FAST_BREAKERS, ...overrides }));
    restore = await setAsideOtherAccounts(h, false);
  });
  afterAll(async () => {
    await useAccounts(h, { [cheap]: { enabled: false }, [dear]: { enabled: false } });
    await restore();
    await h.close();
  });

  const order = async (body: Record<string, unknown> = {}, key = randomUUID()) => {
    const res = await h.createOrder(game, { userId: `u-${randomUUID().slice(0, 6)}`, sku, region: 'CN', ...body }, key);
    return res;
  };
  const view = async (orderId: string) => (await h.signed(game, 'GET', `/v1/orders/${orderId}`)).body;

  it('routes to the cheaper account, fails over when it fails, opens its breaker, and closes it by a probe once healthy', async () => {
    await useAccounts(h, {
      [cheap]: { credentials: {}, routing: { feeRateBps: 10, regions: ['CN'] } },
      [dear]: { credentials: {}, routing: { feeRateBps: 60 } },
    });
    const first = await order();
    expect(first.status).toBe(201);
    expect(first.body.channel).toBe(cheap);
    const firstView = await view(first.body.orderId);
    expect(firstView.routing).toMatchObject({ chosen: cheap, reason: 'CHEAPEST', attempts: [{ attempt: 1, channel: cheap, outcome: 'OPENED' }] });
    // The accounts tried come first, in order; every other one says why it was not.
    expect(firstView.routing.candidates.slice(0, 2)).toEqual([
      { channel: cheap, score: 1, feeMinor: 1, successRate: 1 },
      { channel: dear, score: 4, feeMinor: 4, successRate: 1 },
    ]);
    expect(firstView.routing.candidates.slice(2).every((c: { excludedBecause?: string }) => c.excludedBecause === 'DISABLED')).toBe(true);
    expect(firstView.routing.failedOver).toBeUndefined();

    // The cheap account now fails every create: each order fails over to the dear one within its create call.
    await useAccounts(h, { [cheap]: { credentials: { failCreateRate: 1 }, routing: { feeRateBps: 10, regions: ['CN'] } } });
    const key = randomUUID();
    const failedOver = [];
    for (let i = 0; i < 3; i++) failedOver.push(await order(i === 0 ? { userId: 'same-buyer' } : {}, i === 0 ? key : undefined));
    for (const res of failedOver) {
      expect(res.status).toBe(201);
      expect(res.body.channel).toBe(dear);
      expect(res.body.payment.payUrl).toContain('/sandbox/checkout/');
    }
    const failedOverView = await view(failedOver[0]!.body.orderId);
    expect(failedOverView).toMatchObject({ channel: dear, routing: { chosen: cheap, failedOver: [cheap] } });
    expect(failedOverView.routing.attempts).toEqual([
      expect.objectContaining({ attempt: 1, channel: cheap, outcome: 'FAILED', error: expect.stringContaining('failCreateRate') }),
      expect.objectContaining({ attempt: 2, channel: dear, outcome: 'OPENED' }),
    ]);
    // The same key: the same order, the same one live payment.
    const again = await order({ userId: 'same-buyer' }, key);
    expect(again.body).toMatchObject({ orderId: failedOver[0]!.body.orderId, channel: dear, payment: failedOver[0]!.body.payment });
    expect(await h.db.sandboxPayment.count({ where: { merchantOrderId: failedOver[0]!.body.orderId } })).toBe(1);

    // Three technical failures in a row opened the breaker, for every process.
    expect(await healthOf(h, cheap)).toMatchObject({ state: 'OPEN', failures: 3 });
    await sleep(300); // the API's copy of the breakers refreshes four times a second
    const routedAround = await order();
    expect(routedAround.body.channel).toBe(dear);
    const aroundView = await view(routedAround.body.orderId);
    expect(aroundView.routing.candidates.find((c: { channel: string }) => c.channel === cheap).excludedBecause).toBe('BREAKER_OPEN');
    expect(aroundView.routing.attempts).toHaveLength(1);
    // Metrics: the API's gauge shows the open breaker, its decisions count by channel, the worker counted the transition.
    const apiMetrics = await (await fetch(h.api.metricsUrl)).text();
    expect(apiMetrics).toContain(`payments_channel_breaker_state{channel="${cheap}"} 2`);
    expect(apiMetrics).toMatch(new RegExp(`payments_routing_decisions_total\\{channel="${dear}",reason="CHEAPEST"\\} [1-9]`));
    expect(await (await fetch(workerMetricsUrl)).text()).toMatch(new RegExp(`payments_channel_breaker_transitions_total\\{[^}]*channel="${cheap}"[^}]*to="OPEN"[^}]*\\} 1`));
    // A game that names the open account is told which ones can take the order.
    const named = await order({ channel: cheap });
    expect(named.status).toBe(422);
    expect(named.body.error).toMatchObject({ code: 'CHANNEL_NOT_AVAILABLE', details: { available: [dear] } });

    // A failed-over order is paid at the account that opened it, and delivered.
    await h.pay(failedOver[1]!.body.payment.channelPaymentId);
    await h.waitForStatus(failedOver[1]!.body.orderId, 'DELIVERED');

    // Healthy again: after the cool-down one order probes it, its success closes the breaker, traffic returns.
    await useAccounts(h, { [cheap]: { credentials: {}, routing: { feeRateBps: 10, regions: ['CN'] } } });
    const cooledDown = Date.now() + 10_000;
    while ((await healthOf(h, cheap))?.state !== 'HALF_OPEN' && Date.now() < cooledDown) await sleep(100);
    await sleep(300); // the API's copy
    const probe = await order();
    expect(probe.body.channel).toBe(cheap);
    expect((await view(probe.body.orderId)).routing).toMatchObject({ chosen: cheap, reason: 'PROBE' });
    expect(await healthOf(h, cheap)).toMatchObject({ state: 'CLOSED' });
    await sleep(300);
    const returned = await order();
    expect(returned.body.channel).toBe(cheap);
    expect((await view(returned.body.orderId)).routing.reason).toBe('CHEAPEST');
  });

  it('closes at its channel an attempt that opens after the order moved on', async () => {
    // The slow account answers after its share (1.5 s) of the 3 s budget: the order opens at the other.
    const slow = `slow-${randomUUID().slice(0, 6)}`;
    await useAccounts(h, {
      [cheap]: { enabled: false },
      [slow]: { credentials: { createLatencyMs: 2_500 }, routing: { feeRateBps: 1 } },
      [dear]: { credentials: {}, routing: { feeRateBps: 60 } },
    });
    const res = await order();
    expect(res.status).toBe(201);
    expect(res.body.channel).toBe(dear);
    const orderId = res.body.orderId as string;
    const deadline = Date.now() + 10_000;
    let attempts: { channel: string; outcome: string }[] = [];
    while (Date.now() < deadline) {
      attempts = (await view(orderId)).routing.attempts;
      if (attempts[0]?.outcome === 'CLOSED_LATE') break;
      await sleep(100);
    }
    expect(attempts).toEqual([
      expect.objectContaining({ channel: slow, outcome: 'CLOSED_LATE' }),
      expect.objectContaining({ channel: dear, outcome: 'OPENED' }),
    ]);
    // One payment per account at the provider: the late one closed, the order's still payable.
    const payments = await h.db.sandboxPayment.findMany({ where: { merchantOrderId: orderId }, orderBy: { createdAt: 'asc' } });
    expect(payments.map((p) => [p.notifyUrl.endsWith(`/${slow}`), p.status])).toEqual([
      [false, 'CREATED'],
      [true, 'CLOSED'],
    ]);
    await useAccounts(h, { [slow]: { enabled: false } });
  });
});

describe('routing configuration', () => {
  let h: Harness;
  let game: TestGame;
  let sku: string;
  let second: RunningApi | undefined;
  let secondConnection: Connection | undefined;
  let restore: () => Promise<void>;

  beforeAll(async () => {
    ({ h, game, sku } = await Harness.startWithGame({ ROUTING_EXPLORATION_SHARE: '0' }));
    restore = await setAsideOtherAccounts(h, true);
  });
  afterAll(async () => {
    await second?.stop();
    await secondConnection?.close();
    await restore();
    await h.close();
  });

  it('applies a game channel policy to new orders on every API process within a second, audited', async () => {
    // A second API process, with its own game cache and its own view of configuration changes.
    secondConnection = await Connection.connect({ address: h.config.TEMPORAL_ADDRESS });
    second = await startApi({ ...h.config, PORT: 0 }, h.database, secondConnection, createLogger(h.config, 'api', logCapture));
    const other = new ApiClient(second.url, h.config.ADMIN_TOKEN);
    const create = (client: ApiClient, platform: string) =>
      client.createOrder(game, { userId: `u-${randomUUID().slice(0, 6)}`, sku, region: 'CN', platform });
    expect((await create(other, 'android')).status).toBe(201); // warms the second process's game cache

    const policy = { android: ['alipay'], ios: ['appstore'] };
    const put = await h.http.admin('PUT', `/v1/admin/games/${game.gameId}`, { name: 'Policy Game', secret: game.secret, deliveryUrl: h.gameServer.deliveryUrl(game.gameId), channelPolicy: policy }, undefined, { 'X-Operator': 'alice' });
    expect(put.body.channelPolicy).toEqual(policy);
    await sleep(CONFIG_REACHES_EVERY_PROCESS_MS);

    const refused = await create(other, 'android');
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('CHANNEL_NOT_AVAILABLE');
    const candidates = refused.body.error.details.candidates as { channel: string; excludedBecause: string }[];
    expect(candidates.find((c) => c.channel === 'sandbox')?.excludedBecause).toBe('GAME_POLICY');
    expect(candidates.every((c) => c.excludedBecause)).toBe(true);
    expect((await create(other, 'web')).status).toBe(201); // platforms the policy does not name may use every account

    const audit = await h.db.configAudit.findMany({ where: { entity: 'game', entityId: game.gameId }, orderBy: { id: 'asc' } });
    expect(audit.at(-1)).toMatchObject({ actor: 'alice', after: { channelPolicy: policy, secretChanged: false } });
    expect(JSON.stringify(audit.map((a) => [a.before, a.after]))).not.toContain(game.secret);
  });

  it('validates routing fields, audits them, and refuses fault settings for other channel types', async () => {
    const id = `routed-${randomUUID().slice(0, 6)}`;
    const bad = await h.admin('PUT', `/v1/admin/channels/${id}`, {
      type: 'sandbox',
      enabled: true,
      routing: { currencies: ['CNY', 'USD'], fixedFee: { currency: 'USD', value: 30 }, regions: ['china'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['routing.currencies', 'routing.regions.0']);
    const fixedFee = await h.admin('PUT', `/v1/admin/channels/${id}`, {
      type: 'sandbox',
      enabled: true,
      routing: { currencies: ['CNY', 'USD'], fixedFee: { currency: 'USD', value: 30 } },
    });
    expect(fixedFee.body.error.details.issues).toEqual([expect.objectContaining({ path: 'routing.currencies' })]);

    const wechat = await h.admin('PUT', `/v1/admin/channels/${id}`, { type: 'wechatpay', enabled: true, credentials: { failCreateRate: 1 } });
    expect(wechat.status).toBe(400);
    expect(wechat.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { issues: [{ path: 'credentials.failCreateRate' }] } });
    expect(await h.db.channelAccount.findUnique({ where: { id } })).toBeNull();

    const saved = await h.http.adminOk('PUT', `/v1/admin/channels/${id}`, {
      type: 'sandbox',
      enabled: false,
      credentials: { declineRate: 0.5 },
      routing: { platforms: ['web'], fixedFee: { currency: 'USD', value: 30 } },
    });
    expect(saved.body.routing).toEqual({ platforms: ['web'], regions: ['*'], currencies: ['USD'], feeRateBps: 0, fixedFee: { currency: 'USD', value: 30 }, priority: 0, weight: 0 });
    // Routing is kept when a change does not name it, and reset by null.
    expect((await h.http.adminOk('PUT', `/v1/admin/channels/${id}`, { type: 'sandbox', enabled: false })).body.routing.platforms).toEqual(['web']);
    expect((await h.http.adminOk('PUT', `/v1/admin/channels/${id}`, { type: 'sandbox', enabled: false, routing: null })).body.routing).toBeUndefined();
    const audit = await h.db.configAudit.findMany({ where: { entity: 'channel_account', entityId: id }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => (a.after as { routing: unknown }).routing)).toEqual([
      { platforms: ['web'], fixedFee: { currency: 'USD', value: 30 } },
      { platforms: ['web'], fixedFee: { currency: 'USD', value: 30 } },
      null,
    ]);
    expect(JSON.stringify(audit.map((a) => [a.before, a.after]))).not.toContain('declineRate');
  });

  it('lets a sandbox account decline a share of payments without counting against its breaker', async () => {
    const id = `declines-${randomUUID().slice(0, 6)}`;
    await h.http.adminOk('PUT', `/v1/admin/channels/${id}`, { type: 'sandbox', enabled: true, credentials: { declineRate: 1 } });
    await sleep(CONFIG_REACHES_EVERY_PROCESS_MS);
    const created = await h.createOrder(game, { userId: 'decline-me', sku, region: 'CN', channel: id, platform: 'web' });
    expect(created.status).toBe(201);
    await h.pay(created.body.payment.channelPaymentId);
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (await h.db.paymentAttempt.count({ where: { orderId: created.body.orderId } })) === 0) await sleep(50);
    expect(await h.db.paymentAttempt.findMany({ where: { orderId: created.body.orderId }, select: { result: true } })).toEqual([{ result: 'FAILED' }]);
    expect(await h.orderStatus(created.body.orderId)).toBe('PENDING_PAYMENT');
    const health = (await h.http.adminOk('GET', '/v1/admin/channels/health')).body.channels.find((c: { channelId: string }) => c.channelId === id);
    expect(health).toMatchObject({ state: 'CLOSED', failures: 0, creates: { attempts: 1, successes: 1 } });
    await h.http.adminOk('PUT', `/v1/admin/channels/${id}`, { type: 'sandbox', enabled: false });
  });
});
