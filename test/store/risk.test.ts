import { randomUUID } from 'node:crypto';
import { createRiskActivities } from '../../activities/risk';
import type { RiskRule } from '../../domain/risk/rules';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database } from '../../infra/db';
import { piiKeyring } from '../../infra/pii';
import { putBlacklistEntry, putRiskRule, type RiskCheck } from '../../store/risk';

/**
 * The risk step against PostgreSQL: blacklist kinds and expiry, the one read of an order no rule
 * applies to, no IP or device in the clear, and the purge of old window rows. The counters under
 * concurrency, on PostgreSQL and on Redis: risk-counters.test.ts.
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
