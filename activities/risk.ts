import { evaluateRisk, type BlacklistKind, type RiskDecision } from '../domain/risk';
import { businessMetrics } from '../infra/metrics';
import type { ActivityDeps } from './deps';

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
      const candidates: { kind: BlacklistKind; value: string }[] = [{ kind: 'USER', value: subject.userId }];
      if (subject.deviceId) candidates.push({ kind: 'DEVICE', value: subject.deviceId });
      if (subject.clientIp) candidates.push({ kind: 'IP', value: subject.clientIp });
      const since = new Date(Date.now() - config.RISK_ORDER_WINDOW_MS);
      const [hits, recentOrdersOfUser] = await Promise.all([
        db.riskBlacklist.findMany({ where: { OR: candidates }, select: { kind: true } }),
        db.order.count({ where: { gameId: subject.gameId, userId: subject.userId, createdAt: { gte: since } } }),
      ]);
      const risk = evaluateRisk(
        { blacklisted: hits.map((h) => h.kind as BlacklistKind), recentOrdersOfUser },
        { maxOrdersPerUserInWindow: config.RISK_MAX_ORDERS_PER_USER },
      );
      businessMetrics.riskDecision(subject.gameId, risk.decision, risk.reasons);
      return risk;
    },
  };
}
