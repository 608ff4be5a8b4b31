import { evaluateRisk, type BlacklistKind, type RiskDecision } from '../domain/risk';
import { businessMetrics } from '../infra/metrics';
import type { ActivityDeps } from './deps';
import { utc } from '../infra/db';

export interface RiskSubject {
  gameId: string;
  userId: string;
  clientIp?: string;
  deviceId?: string;
}

/** Gathers the facts the risk rules need; the rules themselves are pure (domain/risk.ts). */
export function createRiskActivities({ db, config }: ActivityDeps) {
  return {
    async checkRisk(subject: RiskSubject): Promise<RiskDecision> {
      const since = new Date(Date.now() - config.RISK_ORDER_WINDOW_MS).toISOString();
      // Both facts in one round trip: the blacklist entries that match, and the user's recent orders.
      const [facts] = await db.$queryRaw<{ blacklisted: BlacklistKind[]; recent: number }[]>`
        SELECT ARRAY(
            SELECT kind FROM risk_blacklist
            WHERE (kind = 'USER' AND value = ${subject.userId}::text)
               OR (kind = 'DEVICE' AND value = ${subject.deviceId ?? null}::text)
               OR (kind = 'IP' AND value = ${subject.clientIp ?? null}::text)
          ) AS blacklisted,
          (SELECT count(*)::int FROM orders
            WHERE game_id = ${subject.gameId}::text AND user_id = ${subject.userId}::text
              AND created_at >= ${utc(since)}) AS recent`;
      const risk = evaluateRisk(
        { blacklisted: facts!.blacklisted, recentOrdersOfUser: facts!.recent },
        { maxOrdersPerUserInWindow: config.RISK_MAX_ORDERS_PER_USER },
      );
      businessMetrics.riskDecision(subject.gameId, risk.decision, risk.reasons);
      return risk;
    },
  };
}
