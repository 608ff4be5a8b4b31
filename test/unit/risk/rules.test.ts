import {
  evaluateRisk,
  rejectionReason,
  retentionSeconds,
  ruleHit,
  rulesFor,
  windowKey,
  windowsNeeded,
  type RiskFacts,
  type RiskOrder,
  type RiskRule,
} from '../../../domain/risk/rules';

const NOW = Date.parse('2026-12-08T12:00:00Z');
const settings = { maxOrdersPerUserInWindow: 100 };
const order = (value = 3000, currency = 'CNY', extra: Partial<RiskOrder> = {}): RiskOrder => ({
  amount: { currency, value },
  hasDevice: true,
  hasIp: true,
  now: NOW,
  ...extra,
});
const facts = (extra: Partial<RiskFacts> = {}): RiskFacts => ({ blacklisted: [], recentOrdersOfUser: 0, ...extra });
const w = (subject: 'USER' | 'DEVICE' | 'IP' | 'SUBNET', windowSeconds: number, figures: { orders?: number; amount?: number; otherUsers?: number }) => ({
  [windowKey({ subject, windowSeconds })]: { orders: 0, amount: 0, otherUsers: 0, ...figures },
});
const rule = <R extends RiskRule>(r: Omit<R, 'ruleId' | 'action' | 'enabled'> & Partial<R>): RiskRule =>
  ({ ruleId: `r-${r.kind}`, action: 'DENY', enabled: true, ...r }) as RiskRule;

describe('each rule kind, counted with the order', () => {
  it('VELOCITY ORDERS hits when the window, with this order, exceeds max', () => {
    const r = rule({ kind: 'VELOCITY', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 3 } });
    expect(ruleHit(r, order(), facts({ windows: w('USER', 600, { orders: 2 }) }))).toBeUndefined();
    expect(ruleHit(r, order(), facts({ windows: w('USER', 600, { orders: 3 }) }))).toEqual({ orders: 4, max: 3 });
  });

  it('VELOCITY AMOUNT sums its currency only, and an order without the subject is not judged', () => {
    const r = rule({ kind: 'VELOCITY', params: { subject: 'SUBNET', metric: 'AMOUNT', windowSeconds: 60, max: 10_000, currency: 'CNY' } });
    expect(ruleHit(r, order(3000), facts({ windows: w('SUBNET', 60, { amount: 7000 }) }))).toBeUndefined();
    expect(ruleHit(r, order(3001), facts({ windows: w('SUBNET', 60, { amount: 7000 }) }))).toEqual({ amount: 10_001, max: 10_000 });
    expect(ruleHit(r, order(9_999_999, 'USD'), facts({ windows: w('SUBNET', 60, { amount: 7000 }) }))).toBeUndefined();
    expect(ruleHit(r, order(9_999_999), facts({ windows: {} }))).toBeUndefined();
  });

  it('AMOUNT_ANOMALY: a first purchase over its max, or a multiple of the average once enough were paid', () => {
    const r = rule({ kind: 'AMOUNT_ANOMALY', params: { multipleOfAverage: 5, minPaidOrders: 3, firstPurchaseMax: { currency: 'CNY', value: 10_000 } } });
    expect(ruleHit(r, order(10_000), facts({ paidOrders: { count: 0, total: 0 } }))).toBeUndefined();
    expect(ruleHit(r, order(10_001), facts({ paidOrders: { count: 0, total: 0 } }))).toEqual({ amount: 10_001, firstPurchaseMax: 10_000 });
    expect(ruleHit(r, order(99_999), facts({ paidOrders: { count: 2, total: 200 } }))).toBeUndefined();
    expect(ruleHit(r, order(1499), facts({ paidOrders: { count: 3, total: 900 } }))).toBeUndefined();
    expect(ruleHit(r, order(1500), facts({ paidOrders: { count: 3, total: 900 } }))).toEqual({ amount: 1500, average: 300, paidOrders: 3 });
  });

  it('NEW_DEVICE_HIGH_VALUE: a high amount from a device younger than its age, or never seen', () => {
    const r = rule({ kind: 'NEW_DEVICE_HIGH_VALUE', params: { amount: { currency: 'CNY', value: 5000 }, deviceAgeSeconds: 86_400 } });
    expect(ruleHit(r, order(5000), facts({ deviceFirstSeenAt: null }))).toEqual({ amount: 5000, deviceAgeSeconds: 0 });
    expect(ruleHit(r, order(5000), facts({ deviceFirstSeenAt: NOW - 3600_000 }))).toEqual({ amount: 5000, deviceAgeSeconds: 3600 });
    expect(ruleHit(r, order(5000), facts({ deviceFirstSeenAt: NOW - 86_400_000 }))).toBeUndefined();
    expect(ruleHit(r, order(4999), facts({ deviceFirstSeenAt: null }))).toBeUndefined();
    expect(ruleHit(r, order(5000, 'CNY', { hasDevice: false }), facts())).toBeUndefined();
  });

  it('SHARED_DEVICE and SHARED_IP count distinct users, this one included', () => {
    const device = rule({ kind: 'SHARED_DEVICE', params: { windowSeconds: 3600, maxUsers: 2 } });
    const ip = rule({ kind: 'SHARED_IP', params: { windowSeconds: 3600, maxUsers: 2 } });
    expect(ruleHit(device, order(), facts({ windows: w('DEVICE', 3600, { otherUsers: 1 }) }))).toBeUndefined();
    expect(ruleHit(device, order(), facts({ windows: w('DEVICE', 3600, { otherUsers: 2 }) }))).toEqual({ users: 3, maxUsers: 2 });
    expect(ruleHit(ip, order(), facts({ windows: w('DEVICE', 3600, { otherUsers: 5 }) }))).toBeUndefined();
    expect(ruleHit(ip, order(), facts({ windows: w('IP', 3600, { otherUsers: 2 }) }))).toEqual({ users: 3, maxUsers: 2 });
  });

  it('PAYMENT_FAILURES hits when the failures in its window exceed max', () => {
    const r = rule({ kind: 'PAYMENT_FAILURES', params: { windowSeconds: 600, max: 2 } });
    expect(ruleHit(r, order(), facts({ paymentFailures: { 600: 2 } }))).toBeUndefined();
    expect(ruleHit(r, order(), facts({ paymentFailures: { 600: 3, 60: 0 } }))).toEqual({ failures: 3, max: 2 });
  });

  it('AML_SINGLE and AML_DAILY hit when the amount, or the day with it, reaches the threshold', () => {
    const single = rule({ kind: 'AML_SINGLE', params: { amount: { currency: 'CNY', value: 500_000 } } });
    const daily = rule({ kind: 'AML_DAILY', params: { amount: { currency: 'CNY', value: 1_000_000 } } });
    expect(ruleHit(single, order(499_999), facts())).toBeUndefined();
    expect(ruleHit(single, order(500_000), facts())).toEqual({ amount: 500_000, threshold: 500_000 });
    expect(ruleHit(single, order(500_000, 'USD'), facts())).toBeUndefined();
    expect(ruleHit(daily, order(400_000), facts({ dayTotal: 599_999 }))).toBeUndefined();
    expect(ruleHit(daily, order(400_000), facts({ dayTotal: 600_000 }))).toEqual({ dayTotal: 1_000_000, threshold: 1_000_000 });
  });
});

describe('the combined decision', () => {
  const review = rule({ kind: 'AML_SINGLE', action: 'REVIEW', ruleId: 'aml', params: { amount: { currency: 'CNY', value: 100 } } });
  const deny = rule({ kind: 'VELOCITY', action: 'DENY', ruleId: 'vel', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 60, max: 1 } });
  const busy = facts({ windows: w('USER', 60, { orders: 1 }) });

  it('allows with no hit, reviews on REVIEW hits only, denies on any DENY hit', () => {
    expect(evaluateRisk(facts(), settings, [review, deny], order(50))).toEqual({ decision: 'ALLOW', reasons: [], hits: [] });
    expect(evaluateRisk(facts(), settings, [review, deny], order())).toMatchObject({ decision: 'REVIEW', reasons: ['AML_SINGLE'] });
    const both = evaluateRisk(busy, settings, [review, deny], order());
    expect(both.decision).toBe('DENY');
    expect(both.reasons).toEqual(['AML_SINGLE', 'VELOCITY']);
    expect(both.hits).toEqual([
      { ruleId: 'aml', kind: 'AML_SINGLE', action: 'REVIEW', figures: { amount: 3000, threshold: 100 } },
      { ruleId: 'vel', kind: 'VELOCITY', action: 'DENY', figures: { orders: 2, max: 1 } },
    ]);
  });

  it('a blacklist hit and the built-in guard always deny, whatever the rules say', () => {
    expect(evaluateRisk(facts({ blacklisted: ['CIDR'] }), settings, [], order(1))).toMatchObject({ decision: 'DENY', reasons: ['BLACKLISTED_CIDR'] });
    expect(evaluateRisk(facts({ recentOrdersOfUser: 100 }), settings, [review], order())).toMatchObject({
      decision: 'DENY',
      reasons: ['USER_VELOCITY', 'AML_SINGLE'],
    });
  });

  it("names no rule in the reason a game sees: the blacklist and the guard by kind, rules as RISK_RULE", () => {
    expect(rejectionReason(evaluateRisk(busy, settings, [deny], order()))).toBe('RISK_RULE');
    expect(rejectionReason(evaluateRisk({ ...busy, blacklisted: ['USER'] }, settings, [deny], order()))).toBe('BLACKLISTED_USER');
  });

  it('applies enabled rules of every game and of the order game only, and gathers each window once', () => {
    const other = { ...deny, ruleId: 'x', gameId: 'other' } as RiskRule;
    const off = { ...review, ruleId: 'off', enabled: false } as RiskRule;
    const own = { ...review, ruleId: 'own', gameId: 'g1' } as RiskRule;
    expect(rulesFor([deny, other, off, own], 'g1').map((r) => r.ruleId)).toEqual(['vel', 'own']);
    const shared = rule({ kind: 'SHARED_DEVICE', params: { windowSeconds: 60, maxUsers: 2 } });
    const devVel = rule({ kind: 'VELOCITY', params: { subject: 'DEVICE', metric: 'ORDERS', windowSeconds: 60, max: 2 } });
    expect(windowsNeeded([deny, shared, devVel, review])).toEqual([
      { subject: 'USER', windowSeconds: 60 },
      { subject: 'DEVICE', windowSeconds: 60 },
    ]);
  });

  it('keeps counters as long as the longest window, device age or game day any rule looks back', () => {
    const shared = rule({ kind: 'SHARED_IP', params: { windowSeconds: 900, maxUsers: 2 } });
    const device = rule({ kind: 'NEW_DEVICE_HIGH_VALUE', params: { amount: { currency: 'CNY', value: 1 }, deviceAgeSeconds: 3_600 } });
    const daily = rule({ kind: 'AML_DAILY', params: { amount: { currency: 'CNY', value: 1 } } });
    expect(retentionSeconds([])).toBe(0);
    expect(retentionSeconds([deny, shared])).toBe(900);
    expect(retentionSeconds([deny, shared, device])).toBe(3_600);
    expect(retentionSeconds([deny, daily])).toBe(2 * 86_400);
  });
});
