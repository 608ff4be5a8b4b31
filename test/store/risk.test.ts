import { randomUUID } from 'node:crypto';
import { createRiskActivities } from '../../activities/risk';
import type { RiskRule } from '../../domain/risk/rules';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database } from '../../infra/db';
import { piiKeyring } from '../../infra/pii';
import { putBlacklistEntry, putRiskRule, type RiskCheck } from '../../store/risk';

/**
 * The risk step against PostgreSQL: rules read from the books, windows counted atomically under
 * concurrency, blacklist kinds and expiry, one decision per order, and no IP or device in the clear.
 */
const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
let database: Database;
beforeAll(() => {
  database = openDatabase(config.DATABASE_URL, 12);
});
afterAll(() => database?.close());

const newGame = () => `risk-${randomUUID().slice(0, 8)}`;
const check = (gameId: string, extra: Partial<RiskCheck> = {}): RiskCheck => ({
  orderId: randomUUID(),
  amount: { currency: 'CNY', value: 3000 },
  gameId,
  userId: 'u1',
  ...extra,
});
const addRule = (gameId: string, rule: Omit<RiskRule, 'gameId' | 'enabled' | 'ruleId'> & { ruleId?: string }) =>
  putRiskRule(database, { ruleId: `${gameId}-${rule.kind}`, enabled: true, gameId, ...rule } as RiskRule, 'test');

describe('the risk step on PostgreSQL', () => {
  it('lets exactly max orders through a VELOCITY window when ten arrive at once', async () => {
    const gameId = newGame();
    await addRule(gameId, { kind: 'VELOCITY', action: 'DENY', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 3 } });
    const { checkRisk } = createRiskActivities({ database, config } as never);
    await checkRisk(check(newGame())); // warm: the pool's connections, the rules
    const decisions = await Promise.all(Array.from({ length: 10 }, () => checkRisk(check(gameId))));
    expect(decisions.filter((d) => d.decision === 'ALLOW')).toHaveLength(3);
    expect(decisions.filter((d) => d.decision === 'DENY')).toHaveLength(7);
    expect(decisions.find((d) => d.decision === 'DENY')!.hits).toEqual([
      { ruleId: `${gameId}-VELOCITY`, kind: 'VELOCITY', action: 'DENY', figures: { orders: 4, max: 3 } },
    ]);
  });

  it('keeps nothing and takes no lock for an order no rule applies to: one statement', async () => {
    const gameId = newGame();
    await addRule(gameId, { kind: 'VELOCITY', action: 'DENY', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 1 }, gameId: `${gameId}-other` } as never);
    const statements: string[] = [];
    // The database as the activity sees it, each statement and transaction it starts written down.
    const counted = {
      ...database,
      sql: ((q: Parameters<Database['sql']>[0]) => (statements.push('sql'), database.sql(q))) as Database['sql'],
      transaction: ((work: never) => (statements.push('transaction'), database.transaction(work))) as Database['transaction'],
    };
    const { checkRisk } = createRiskActivities({ database: counted, config } as never);
    const order = check(gameId, { clientIp: '198.51.100.9', deviceId: 'dev-hot' });
    expect(await checkRisk(order)).toEqual({ decision: 'ALLOW', reasons: [], hits: [] });
    expect(await checkRisk(check(gameId))).toMatchObject({ decision: 'ALLOW' });
    expect(statements).toEqual(['sql', 'sql']);
    const [kept] = await database.sql<{ n: number }>((await import('../../store/sql')).sql`SELECT
      (SELECT count(*) FROM risk_window_events WHERE game_id = ${gameId}::text) + (SELECT count(*) FROM risk_decisions WHERE game_id = ${gameId}::text) AS n`);
    expect(Number(kept!.n)).toBe(0);
  });

  it('decides an order once: a re-run returns the kept decision and counts nothing twice', async () => {
    const gameId = newGame();
    await addRule(gameId, { kind: 'VELOCITY', action: 'REVIEW', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 1 } });
    const { checkRisk } = createRiskActivities({ database, config } as never);
    const first = check(gameId);
    expect((await checkRisk(first)).decision).toBe('ALLOW');
    expect((await checkRisk(first)).decision).toBe('ALLOW');
    expect((await checkRisk(check(gameId))).decision).toBe('REVIEW');
  });

  it('counts distinct users of one device and one IP, and the subnet of the IP', async () => {
    const gameId = newGame();
    await addRule(gameId, { kind: 'SHARED_DEVICE', action: 'REVIEW', params: { windowSeconds: 600, maxUsers: 2 } });
    await addRule(gameId, { kind: 'VELOCITY', action: 'DENY', params: { subject: 'SUBNET', metric: 'AMOUNT', windowSeconds: 600, max: 8000, currency: 'CNY' } });
    const { checkRisk } = createRiskActivities({ database, config } as never);
    const at = (userId: string, clientIp: string) => checkRisk(check(gameId, { userId, deviceId: 'dev-1', clientIp }));
    expect((await at('a', '198.51.100.1')).decision).toBe('ALLOW');
    expect((await at('b', '198.51.100.2')).decision).toBe('ALLOW');
    const third = await at('c', '198.51.101.3'); // another subnet: only the device is shared too much
    expect(third).toMatchObject({ decision: 'REVIEW', reasons: ['SHARED_DEVICE'] });
    expect((await at('d', '198.51.100.4')).reasons).toEqual(['SHARED_DEVICE', 'VELOCITY']);
  });

  it('denies blacklisted CIDR blocks and IPv4-mapped addresses, and no longer once an entry expired', async () => {
    const gameId = newGame();
    const keyring = piiKeyring(config);
    await putBlacklistEntry(database, keyring, { kind: 'CIDR', value: '192.0.2.0/24' }, 'test');
    await putBlacklistEntry(database, keyring, { kind: 'DEVICE', value: `dev-${gameId}`, expiresAt: new Date(Date.now() + 2000) }, 'test');
    const { checkRisk } = createRiskActivities({ database, config } as never);
    expect(await checkRisk(check(gameId, { clientIp: '::ffff:192.0.2.77' }))).toMatchObject({ decision: 'DENY', reasons: ['BLACKLISTED_CIDR'] });
    expect((await checkRisk(check(gameId, { clientIp: '192.0.3.1' }))).decision).toBe('ALLOW');
    expect(await checkRisk(check(gameId, { deviceId: `dev-${gameId}` }))).toMatchObject({ decision: 'DENY', reasons: ['BLACKLISTED_DEVICE'] });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await checkRisk(check(gameId, { deviceId: `dev-${gameId}` }))).decision).toBe('ALLOW');
  });

  it('keeps no IP, subnet or device in the clear in its tables', async () => {
    const gameId = newGame();
    // A rule applies, so the order's decision and its place in every subject's window are kept.
    await addRule(gameId, { kind: 'VELOCITY', action: 'DENY', params: { subject: 'SUBNET', metric: 'ORDERS', windowSeconds: 600, max: 100 } });
    const { checkRisk } = createRiskActivities({ database, config } as never);
    const ip = '203.0.113.199';
    const device = `device-${randomUUID()}`;
    await putBlacklistEntry(database, piiKeyring(config), { kind: 'IP', value: '203.0.113.198', reason: 'test' }, 'test');
    await checkRisk(check(gameId, { clientIp: ip, deviceId: device }));
    const [row] = await database.sql<{ dump: string }>(
      // Every row of the risk tables (and the audit trail), as text.
      (await import('../../store/sql')).sql`SELECT concat_ws('|',
        (SELECT string_agg(t::text, '|') FROM risk_window_events t),
        (SELECT string_agg(t::text, '|') FROM risk_decisions t),
        (SELECT string_agg(t::text, '|') FROM risk_blacklist t),
        (SELECT string_agg(t::text, '|') FROM config_audit t)) AS dump`,
    );
    expect(row!.dump).toContain(gameId);
    expect(row!.dump.split(gameId).length).toBeGreaterThan(5); // the decision and four subjects' window rows
    for (const plain of [ip, '203.0.113.198', '203.0.113.0', device]) expect(row!.dump).not.toContain(plain);
  });

  it('purges window rows older than the longest look-back of any enabled rule as it writes, keeping the rest', async () => {
    const gameId = newGame();
    await addRule(gameId, { kind: 'VELOCITY', action: 'DENY', params: { subject: 'USER', metric: 'ORDERS', windowSeconds: 600, max: 100 } });
    const { sql } = await import('../../store/sql');
    const event = (orderId: string, agoSeconds: number) => sql`INSERT INTO risk_window_events (order_id, subject, game_id, subject_key, user_id, currency, amount, at)
      VALUES (${orderId}::uuid, 'USER', ${gameId}::text, 'u-old', 'u-old', 'CNY', 100, (now() AT TIME ZONE 'UTC') - make_interval(secs => ${agoSeconds}::int))`;
    const [stale, recent] = [randomUUID(), randomUUID()];
    await database.sql(event(stale, 400 * 86_400)); // older than any rule of any test looks back
    await database.sql(event(recent, 60));
    const { checkRisk } = createRiskActivities({ database, config } as never);
    const decided = check(gameId);
    expect((await checkRisk(decided)).decision).toBe('ALLOW');
    const left = await database.sql<{ order_id: string }>(sql`SELECT order_id FROM risk_window_events WHERE game_id = ${gameId}::text`);
    expect(left.map((r) => r.order_id).sort()).toEqual([recent, decided.orderId!].sort());
  });
});

describe("minors' spending caps on PostgreSQL", () => {
  it('holds exactly 6 of 20 concurrent 30 CNY orders of one 8-15 user in CN; a closed one frees 30', async () => {
    const gameId = newGame();
    const { checkRisk } = createRiskActivities({ database, config } as never);
    const minorOrder = () => check(gameId, { userId: 'kid', region: 'CN', ageBand: '8_TO_15' } as Partial<RiskCheck>);
    await checkRisk(check(newGame())); // warm: the pool's connections
    const orders = Array.from({ length: 20 }, minorOrder);
    const decisions = await Promise.all(orders.map((o) => checkRisk(o)));
    const allowed = orders.filter((_, i) => decisions[i]!.decision === 'ALLOW');
    expect(allowed).toHaveLength(6);
    const refused = decisions.filter((d) => d.decision === 'DENY');
    expect(refused).toHaveLength(14);
    expect(refused[0]).toMatchObject({ reasons: ['MINOR_SPENDING_LIMIT'], details: { cap: 'MONTHLY', limit: 20_000 } });
    expect((await checkRisk(allowed[0]!)).decision).toBe('ALLOW'); // a re-run keeps its hold, and takes no second one

    // The order's compensation (closing it) gives its 30 back, once.
    const { sql } = await import('../../store/sql');
    const { releaseMinorHold } = await import('../../store/minor-caps');
    const close = () => database.sql(sql`WITH moved AS (SELECT ${allowed[0]!.orderId!}::uuid AS id), ${releaseMinorHold} SELECT 1`);
    await close();
    await close();
    expect((await checkRisk(minorOrder())).decision).toBe('ALLOW');
    expect(await checkRisk(minorOrder())).toMatchObject({ decision: 'DENY', details: { cap: 'MONTHLY', used: 18_000 } });
  });

  it('refuses what no month can take: over the purchase cap, and any order of an under-8', async () => {
    const gameId = newGame();
    const { checkRisk } = createRiskActivities({ database, config } as never);
    const big = check(gameId, { amount: { currency: 'CNY', value: 5_001 }, region: 'CN', ageBand: '8_TO_15' } as Partial<RiskCheck>);
    expect(await checkRisk(big)).toMatchObject({ decision: 'DENY', details: { cap: 'PER_PURCHASE', limit: 5_000, used: 0 } });
    const small = check(gameId, { amount: { currency: 'CNY', value: 1 }, userId: 'tiny', region: 'CN', ageBand: 'UNDER_8' } as Partial<RiskCheck>);
    expect(await checkRisk(small)).toMatchObject({ decision: 'DENY', details: { cap: 'NO_PURCHASES', limit: 0 } });
    const adult = check(gameId, { amount: { currency: 'CNY', value: 500_000 }, region: 'CN', ageBand: 'ADULT' } as Partial<RiskCheck>);
    expect((await checkRisk(adult)).decision).toBe('ALLOW');
  });
});

