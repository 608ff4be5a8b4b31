import type { BlacklistKind, RiskFacts } from '../domain/risk/rules';
import type { Db, RunSql } from '../infra/db';
import { sql, utc } from './sql';

/** The risk module's facts: blacklist entries and order velocity. */

export interface RiskSubject {
  gameId: string;
  userId: string;
  clientIp?: string;
  deviceId?: string;
}

/** Both facts in one round trip: the blacklist entries that match, and the user's recent orders. */
export async function riskFacts(run: RunSql, subject: RiskSubject, since: string): Promise<RiskFacts> {
  const [facts] = await run<{ blacklisted: BlacklistKind[]; recent: number }>(sql`
    SELECT ARRAY(
        SELECT kind FROM risk_blacklist
        WHERE (kind = 'USER' AND value = ${subject.userId}::text)
           OR (kind = 'DEVICE' AND value = ${subject.deviceId ?? null}::text)
           OR (kind = 'IP' AND value = ${subject.clientIp ?? null}::text)
      ) AS blacklisted,
      (SELECT count(*)::int FROM orders
        WHERE game_id = ${subject.gameId}::text AND user_id = ${subject.userId}::text
          AND created_at >= ${utc(since)}) AS recent`);
  return { blacklisted: facts!.blacklisted, recentOrdersOfUser: facts!.recent };
}

export async function putBlacklistEntry(db: Db, entry: { kind: BlacklistKind; value: string; reason?: string }) {
  await db.riskBlacklist.upsert({
    where: { kind_value: { kind: entry.kind, value: entry.value } },
    create: entry,
    update: { reason: entry.reason },
  });
}

export async function removeBlacklistEntry(db: Db, kind: BlacklistKind, value: string) {
  await db.riskBlacklist.deleteMany({ where: { kind, value } });
}
