import fc from 'fast-check';
import { channelFee } from '../../../domain/routing/fees';
import { ROUTING_PLATFORMS, routingWithDefaults, type RoutingFields } from '../../../domain/routing/fields';
import { seededRandom } from '../../../domain/routing/random';
import { route, type AccountHealth, type RoutableAccount, type RouteRequest, type RouterSettings } from '../../../domain/routing/router';
import { successRate } from '../../../domain/routing/success-rate';

const SETTINGS: RouterSettings = { failurePenaltyBps: 10_000, priorAttempts: 10, explorationShare: 0 };
const CNY_600: RouteRequest = { amount: { currency: 'CNY', value: 600 }, region: 'CN', platform: 'android', storeProducts: [] };

function account(channelId: string, routing: Partial<RoutingFields> = {}, extra: Partial<RoutableAccount> = {}): RoutableAccount {
  return { channelId, type: 'sandbox', enabled: true, routing: routingWithDefaults(routing), storeChannel: false, ...extra };
}

const healthy = (attempts = 0, successes = attempts): AccountHealth => ({ breaker: 'CLOSED', window: { attempts, successes } });
const healthMap = (entries: Record<string, AccountHealth>) => (id: string) => entries[id];
const noHealth = () => undefined;
const never = () => 0.999_999;

describe('channel fees', () => {
  it('rounds the percentage half up to the minor unit and adds a fixed fee in the order currency', () => {
    expect(channelFee({ currency: 'CNY', value: 600 }, { feeRateBps: 60 })).toBe(4); // 3.6
    expect(channelFee({ currency: 'CNY', value: 250 }, { feeRateBps: 60 })).toBe(2); // 1.5
    expect(channelFee({ currency: 'CNY', value: 249 }, { feeRateBps: 60 })).toBe(1); // 1.494
    expect(channelFee({ currency: 'USD', value: 99 }, { feeRateBps: 290, fixedFee: { currency: 'USD', value: 30 } })).toBe(33);
    expect(channelFee({ currency: 'JPY', value: 160 }, { feeRateBps: 0 })).toBe(0);
  });

  it('is an integer between the exact fee rounded down and up, for any amount and rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000_000 }), fc.integer({ min: 0, max: 10_000 }), (value, bps) => {
        const fee = channelFee({ currency: 'CNY', value }, { feeRateBps: bps });
        const exact = (value * bps) / 10_000;
        expect(Number.isSafeInteger(fee)).toBe(true);
        expect(Math.abs(fee - exact)).toBeLessThanOrEqual(0.5);
      }),
    );
  });
});

describe('success rate', () => {
  it('starts a new account at the prior, so one early failure does not bury it', () => {
    expect(successRate({ attempts: 0, successes: 0 }, 10)).toBe(1);
    expect(successRate({ attempts: 1, successes: 0 }, 10)).toBeCloseTo(10 / 11);
    expect(successRate({ attempts: 100, successes: 50 }, 10)).toBeCloseTo(60 / 110);
    expect(successRate({ attempts: 0, successes: 0 }, 0)).toBe(1);
  });
});

describe('the router: eligibility', () => {
  it('keeps an account without routing fields eligible for everything (defaults keep the old behaviour)', () => {
    const decision = route(CNY_600, [account('sandbox')], noHealth, SETTINGS, never);
    expect(decision).toMatchObject({ ranked: ['sandbox'], chosen: 'sandbox', reason: 'CHEAPEST' });
    expect(decision.candidates).toEqual([{ channel: 'sandbox', score: 0, feeMinor: 0, successRate: 1 }]);
  });

  it('says why each account was left out', () => {
    const accounts = [
      account('off', {}, { enabled: false }),
      account('ios-only', { platforms: ['ios'] }),
      account('japan', { regions: ['JP'] }),
      account('usd', { currencies: ['USD'] }),
      account('wechat', {}, { type: 'wechatpay' }),
      account('store', {}, { type: 'googleplay', storeChannel: true }),
      account('broken'),
      account('ok', { regions: ['CN', 'HK'], currencies: ['CNY'] }),
    ];
    const health = healthMap({ broken: { breaker: 'OPEN', window: { attempts: 10, successes: 0 } } });
    const decision = route({ ...CNY_600, policy: { android: ['sandbox', 'googleplay'] } }, accounts, health, SETTINGS, never);
    const reasons = Object.fromEntries(decision.candidates.map((c) => [c.channel, c.excludedBecause]));
    expect(reasons).toEqual({
      off: 'DISABLED',
      'ios-only': 'PLATFORM',
      japan: 'REGION',
      usd: 'CURRENCY',
      wechat: 'GAME_POLICY',
      store: 'NO_STORE_PRODUCT',
      broken: 'BREAKER_OPEN',
      ok: undefined,
    });
    expect(decision.ranked).toEqual(['ok']);
    expect(decision.eligible).toEqual(['ok']);
  });

  it('applies the game policy to the platform it names only', () => {
    const accounts = [account('sandbox'), account('apple', {}, { type: 'appstore', storeChannel: true })];
    const policy = { ios: ['appstore'] };
    const ios = route({ ...CNY_600, platform: 'ios', policy, storeProducts: ['appstore'] }, accounts, noHealth, SETTINGS, never);
    expect(ios.ranked).toEqual(['apple']);
    expect(ios.candidates.find((c) => c.channel === 'sandbox')?.excludedBecause).toBe('GAME_POLICY');
    const web = route({ ...CNY_600, platform: 'web', policy, storeProducts: [] }, accounts, noHealth, SETTINGS, never);
    expect(web.ranked).toEqual(['sandbox']);
  });

  it('fits an order without a platform only to accounts that take every platform', () => {
    const accounts = [account('mobile', { platforms: ['ios', 'android'] }), account('all')];
    const decision = route({ ...CNY_600, platform: undefined }, accounts, noHealth, SETTINGS, never);
    expect(decision.ranked).toEqual(['all']);
  });

  it('takes a fixed-fee account only in the fixed fee currency', () => {
    const accounts = [account('usd-fixed', { fixedFee: { currency: 'USD', value: 30 } })];
    expect(route(CNY_600, accounts, noHealth, SETTINGS, never).candidates[0]?.excludedBecause).toBe('CURRENCY');
    const usd = route({ ...CNY_600, amount: { currency: 'USD', value: 99 } }, accounts, noHealth, SETTINGS, never);
    expect(usd.candidates[0]).toEqual({ channel: 'usd-fixed', score: 30, feeMinor: 30, successRate: 1 });
  });

  it('gives a named channel when it is eligible, and only it', () => {
    const accounts = [account('a', { feeRateBps: 10 }), account('b', { feeRateBps: 90 })];
    const decision = route({ ...CNY_600, requested: 'b' }, accounts, noHealth, SETTINGS, never);
    expect(decision).toMatchObject({ ranked: ['b'], chosen: 'b', reason: 'REQUESTED' });
    expect(decision.candidates.find((c) => c.channel === 'a')?.excludedBecause).toBe('NOT_REQUESTED');
  });

  it('refuses a named channel that is not eligible and lists the eligible ones', () => {
    const accounts = [account('a'), account('b', { regions: ['US'] }), account('c')];
    const decision = route({ ...CNY_600, requested: 'b' }, accounts, noHealth, SETTINGS, never);
    expect(decision.ranked).toEqual([]);
    expect(decision.chosen).toBeUndefined();
    expect(decision.eligible).toEqual(['a', 'c']);
    expect(decision.candidates.find((c) => c.channel === 'b')?.excludedBecause).toBe('REGION');
  });

  it('tries a store channel alone and never falls back to or from one', () => {
    const accounts = [account('google', {}, { type: 'googleplay', storeChannel: true }), account('a', { feeRateBps: 100 }), account('b', { feeRateBps: 200 })];
    const toStore = route({ ...CNY_600, storeProducts: ['googleplay'] }, accounts, noHealth, SETTINGS, never);
    expect(toStore.ranked).toEqual(['google']);
    expect(toStore.candidates.filter((c) => c.excludedBecause === 'STORE_CHANNEL').map((c) => c.channel)).toEqual(['a', 'b']);
    const pricey = [account('google', { feeRateBps: 3000 }, { type: 'googleplay', storeChannel: true }), ...accounts.slice(1)];
    const toCards = route({ ...CNY_600, storeProducts: ['googleplay'] }, pricey, noHealth, SETTINGS, never);
    expect(toCards.ranked).toEqual(['a', 'b']);
    expect(toCards.candidates.find((c) => c.channel === 'google')?.excludedBecause).toBe('STORE_CHANNEL');
  });
});

describe('the router: breakers', () => {
  const cutOff = { breaker: 'OPEN' as const, window: { attempts: 20, successes: 4 } };

  it('routes around an account cut off by its breaker while another can take the order', () => {
    const accounts = [account('failing', { feeRateBps: 10 }), account('backup', { feeRateBps: 90 })];
    const decision = route(CNY_600, accounts, healthMap({ failing: cutOff }), SETTINGS, never);
    expect(decision).toMatchObject({ ranked: ['backup'], reason: 'CHEAPEST', eligible: ['backup'] });
  });

  it('tries the cut-off accounts anyway when no other can take the order (never worse than the channel itself)', () => {
    const accounts = [account('a', { feeRateBps: 10 }), account('b', { feeRateBps: 20 }), account('japan', { regions: ['JP'] })];
    const health = healthMap({ a: cutOff, b: { ...cutOff, breaker: 'HALF_OPEN' } });
    const decision = route(CNY_600, accounts, health, SETTINGS, never, new Set(['b']));
    expect(decision).toMatchObject({ ranked: ['a', 'b'], chosen: 'a', reason: 'LAST_RESORT', eligible: [] });
    expect(decision.candidates.find((c) => c.channel === 'japan')?.excludedBecause).toBe('REGION');
    // A named account too, when nothing else could take the order; with an alternative, the game is told of it.
    expect(route({ ...CNY_600, requested: 'b' }, accounts, health, SETTINGS, never, new Set(['b']))).toMatchObject({ ranked: ['b'], reason: 'LAST_RESORT' });
    const withBackup = [...accounts, account('backup')];
    expect(route({ ...CNY_600, requested: 'a' }, withBackup, health, SETTINGS, never, new Set(['b']))).toMatchObject({ ranked: [], eligible: ['backup'] });
  });
});

describe('the router: ranking by expected cost', () => {
  it('ranks by fee when the accounts are equally reliable', () => {
    const accounts = [account('dear', { feeRateBps: 100 }), account('cheap', { feeRateBps: 60 }), account('mid', { feeRateBps: 80 })];
    const decision = route({ ...CNY_600, amount: { currency: 'CNY', value: 10_000 } }, accounts, noHealth, SETTINGS, never);
    expect(decision.ranked).toEqual(['cheap', 'mid', 'dear']);
    expect(decision.candidates.map((c) => c.feeMinor)).toEqual([60, 80, 100]);
  });

  it('prefers a dearer account when the cheaper one fails often enough to cost more', () => {
    const accounts = [account('cheap', { feeRateBps: 60 }), account('reliable', { feeRateBps: 100 })];
    const amount = { currency: 'CNY', value: 10_000 };
    // cheap: 60 + (1 − 95/110) × 10 000 ≈ 1424; reliable: 100 + 0
    const health = healthMap({ cheap: healthy(100, 85), reliable: healthy(100) });
    const decision = route({ ...CNY_600, amount }, accounts, health, SETTINGS, never);
    expect(decision.ranked).toEqual(['reliable', 'cheap']);
    expect(decision.candidates[1]).toEqual({ channel: 'cheap', score: 1423.64, feeMinor: 60, successRate: 0.8636 });
    // With a small penalty the fee decides again.
    const lenient = route({ ...CNY_600, amount }, accounts, health, { ...SETTINGS, failurePenaltyBps: 10 }, never);
    expect(lenient.ranked).toEqual(['cheap', 'reliable']);
  });

  it('breaks ties by priority, then shares the orders by weight, then keeps configuration order', () => {
    const prioritized = route(CNY_600, [account('low', { priority: 1 }), account('high', { priority: 5 })], noHealth, SETTINGS, never);
    expect(prioritized.ranked).toEqual(['high', 'low']);
    // Unweighted accounts (the default) keep configuration order: the first configured gets the order, as before routing.
    const configured = route(CNY_600, [account('second'), account('first'), account('third')], noHealth, SETTINGS, seededRandom(1));
    expect(configured.ranked).toEqual(['second', 'first', 'third']);
    const mixed = route(CNY_600, [account('plain'), account('weighted', { weight: 1 })], noHealth, SETTINGS, seededRandom(1));
    expect(mixed.ranked).toEqual(['weighted', 'plain']);

    const accounts = [account('heavy', { weight: 3 }), account('light', { weight: 1 })];
    const random = seededRandom(7);
    const firsts = { heavy: 0, light: 0 };
    for (let i = 0; i < 4_000; i++) firsts[route(CNY_600, accounts, noHealth, SETTINGS, random).chosen as 'heavy' | 'light']++;
    expect(firsts.heavy / 4_000).toBeGreaterThan(0.72);
    expect(firsts.heavy / 4_000).toBeLessThan(0.78);
  });

  it('sends the exploration share to another eligible account first', () => {
    const accounts = [account('best', { feeRateBps: 10 }), account('second', { feeRateBps: 20 }), account('third', { feeRateBps: 30 })];
    const settings = { ...SETTINGS, explorationShare: 0.1 };
    const request = { ...CNY_600, amount: { currency: 'CNY', value: 10_000 } };
    const random = seededRandom(42);
    const counts: Record<string, number> = { best: 0, second: 0, third: 0 };
    let explored = 0;
    for (let i = 0; i < 10_000; i++) {
      const decision = route(request, accounts, noHealth, settings, random);
      counts[decision.chosen!]!++;
      if (decision.reason === 'EXPLORATION') {
        explored++;
        // The cheapest still backs the explored one up.
        expect(decision.ranked).toContain('best');
        expect(decision.ranked).toHaveLength(3);
      }
    }
    expect(explored / 10_000).toBeGreaterThan(0.09);
    expect(explored / 10_000).toBeLessThan(0.11);
    expect(counts.best).toBe(10_000 - explored);
    expect(counts.second! / explored).toBeGreaterThan(0.4);
    expect(counts.third! / explored).toBeGreaterThan(0.4);
  });

  it('decides the same way for the same seed', () => {
    const accounts = [account('a'), account('b'), account('c', { weight: 2 })];
    const settings = { ...SETTINGS, explorationShare: 0.3 };
    const run = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 50 }, () => route(CNY_600, accounts, noHealth, settings, random).ranked.join(','));
    };
    expect(run(3)).toEqual(run(3));
    expect(run(3)).not.toEqual(run(4));
  });

  it('sends a probe to a half-open account first, backed by the healthy ones', () => {
    const accounts = [account('recovering', { feeRateBps: 10 }), account('steady', { feeRateBps: 90 }), account('also-recovering')];
    const health = healthMap({
      recovering: { breaker: 'HALF_OPEN', window: { attempts: 20, successes: 5 } },
      'also-recovering': { breaker: 'HALF_OPEN', window: { attempts: 20, successes: 0 } },
      steady: healthy(50),
    });
    const decision = route(CNY_600, accounts, health, SETTINGS, never);
    expect(decision).toMatchObject({ ranked: ['recovering', 'steady'], chosen: 'recovering', reason: 'PROBE', probe: 'recovering' });
    expect(decision.candidates.find((c) => c.channel === 'also-recovering')?.excludedBecause).toBe('BREAKER_HALF_OPEN');

    const refused = route(CNY_600, accounts, health, SETTINGS, never, new Set(['recovering']));
    expect(refused).toMatchObject({ chosen: 'also-recovering', probe: 'also-recovering' });
    const noneLeft = route(CNY_600, accounts, health, SETTINGS, never, new Set(['recovering', 'also-recovering']));
    expect(noneLeft).toMatchObject({ ranked: ['steady'], reason: 'CHEAPEST' });
    expect(noneLeft.probe).toBeUndefined();
  });
});

describe('the router: properties', () => {
  const routing = fc.record({
    platforms: fc.subarray([...ROUTING_PLATFORMS], { minLength: 1 }),
    regions: fc.oneof(fc.constant<string[]>(['*']), fc.subarray(['CN', 'US', 'JP', 'HK'], { minLength: 1 })),
    currencies: fc.option(fc.subarray(['CNY', 'USD', 'JPY'], { minLength: 1 }), { nil: undefined }),
    feeRateBps: fc.integer({ min: 0, max: 10_000 }),
    priority: fc.integer({ min: -5, max: 5 }),
    weight: fc.integer({ min: 0, max: 10 }),
  });
  const accountArb = fc.record({
    type: fc.constantFrom('sandbox', 'alipay', 'wechatpay', 'appstore'),
    enabled: fc.boolean(),
    routing,
    breaker: fc.constantFrom('CLOSED', 'CLOSED', 'OPEN', 'HALF_OPEN'),
    attempts: fc.integer({ min: 0, max: 100 }),
    failures: fc.integer({ min: 0, max: 100 }),
  });
  const requestArb = fc.record({
    value: fc.integer({ min: 1, max: 2_000_000_000 }),
    currency: fc.constantFrom('CNY', 'USD', 'JPY'),
    region: fc.constantFrom('CN', 'US', 'JP', 'DE'),
    platform: fc.option(fc.constantFrom(...ROUTING_PLATFORMS), { nil: undefined }),
    policy: fc.option(fc.record({ ios: fc.constant<string[]>(['appstore']), web: fc.subarray(['sandbox', 'alipay', 'wechatpay']) }), { nil: undefined }),
    storeProducts: fc.subarray(['appstore']),
    explorationShare: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.integer(),
  });

  it('tries only eligible accounts, each once, explains every other one, and ranks by cost', () => {
    fc.assert(
      fc.property(fc.array(accountArb, { maxLength: 8 }), requestArb, (specs, r) => {
        const accounts = specs.map((s, i) => account(`acct-${i}`, s.routing, { type: s.type, enabled: s.enabled, storeChannel: s.type === 'appstore' }));
        const health = (id: string) => {
          const s = specs[Number(id.slice(5))]!;
          return { breaker: s.breaker, window: { attempts: s.attempts, successes: Math.max(0, s.attempts - s.failures) } };
        };
        const request: RouteRequest = {
          amount: { currency: r.currency, value: r.value },
          region: r.region,
          platform: r.platform,
          policy: r.policy,
          storeProducts: r.storeProducts,
        };
        const decision = route(request, accounts, health, { ...SETTINGS, explorationShare: r.explorationShare }, seededRandom(r.seed));

        expect(decision.candidates.map((c) => c.channel).sort()).toEqual(accounts.map((a) => a.channelId).sort());
        expect(new Set(decision.ranked).size).toBe(decision.ranked.length);
        expect(decision.candidates.slice(0, decision.ranked.length).map((c) => c.channel)).toEqual(decision.ranked);
        for (const c of decision.candidates) {
          const tried = decision.ranked.includes(c.channel);
          expect(c.excludedBecause === undefined).toBe(tried);
          expect(Number.isSafeInteger(c.feeMinor) && c.feeMinor >= 0).toBe(true);
          expect(c.successRate).toBeGreaterThanOrEqual(0);
          expect(c.successRate).toBeLessThanOrEqual(1);
          if (tried && decision.reason !== 'LAST_RESORT') expect(decision.eligible).toContain(c.channel);
        }
        for (const id of decision.ranked) {
          const spec = specs[Number(id.slice(5))]!;
          expect(spec.enabled).toBe(true);
          // An open breaker's account is tried only when no account is eligible at all.
          if (spec.breaker === 'OPEN') expect([decision.reason, decision.eligible]).toEqual(['LAST_RESORT', []]);
        }
        expect(decision.chosen).toBe(decision.ranked[0]);
        // Behind the first (which a probe or the exploration may have moved there), cheapest first.
        const behind = decision.candidates.slice(1, decision.ranked.length).map((c) => c.score);
        expect(behind).toEqual([...behind].sort((a, b) => a - b));
        if (decision.reason === 'CHEAPEST') {
          const scores = decision.candidates.slice(0, decision.ranked.length).map((c) => c.score);
          expect(scores).toEqual([...scores].sort((a, b) => a - b));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('the router: the implicit sandbox account', () => {
  const implicitSandbox = account('sandbox', {}, { fallbackOnly: true });
  const alipay = account('alipay-main', { feeRateBps: 60 }, { type: 'alipay' });

  it('lets a configured account win over the implicit sandbox, though the sandbox costs nothing', () => {
    const decision = route(CNY_600, [implicitSandbox, alipay], noHealth, SETTINGS, never);
    expect(decision).toMatchObject({ chosen: 'alipay-main', ranked: ['alipay-main'], eligible: ['alipay-main'] });
    expect(decision.candidates.find((c) => c.channel === 'sandbox')?.excludedBecause).toBe('FALLBACK_ONLY');
  });

  it('never fails a configured account over to the implicit sandbox, even when its breaker is open', () => {
    const open = healthMap({ 'alipay-main': { breaker: 'OPEN', window: { attempts: 0, successes: 0 } } });
    expect(route(CNY_600, [implicitSandbox, alipay], open, SETTINGS, never)).toMatchObject({ chosen: 'alipay-main', reason: 'LAST_RESORT' });
  });

  it('takes the order when no configured account can, or when the game asks for it', () => {
    const iosOnly = account('apple', { platforms: ['ios'] });
    expect(route(CNY_600, [implicitSandbox, iosOnly], noHealth, SETTINGS, never).chosen).toBe('sandbox');
    expect(route({ ...CNY_600, requested: 'sandbox' }, [implicitSandbox, alipay], noHealth, SETTINGS, never).chosen).toBe('sandbox');
  });
});
