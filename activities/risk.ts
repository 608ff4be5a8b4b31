import { openPii, piiKeyring } from '../infra/pii';
import { evaluateRisk, type RiskDecision } from '../domain/risk/rules';
import { businessMetrics } from '../infra/metrics';
import { riskFacts, type RiskSubject } from '../store/risk';
import type { ActivityDeps } from './deps';

/** Gathers the facts the risk rules need; the rules themselves are pure (domain/risk). */
export function createRiskActivities({ database, config }: ActivityDeps) {
  return {
    async checkRisk(input: RiskSubject & { clientIpSealed?: string; deviceIdSealed?: string }): Promise<RiskDecision> {
      // Sealed in the workflow's input; opened here, in memory only, for the blacklist's lookup.
      const { clientIpSealed, deviceIdSealed, ...plain } = input;
      const keyring = piiKeyring(config);
      const subject: RiskSubject = {
        ...plain,
        ...(clientIpSealed && { clientIp: openPii(keyring, clientIpSealed) }),
        ...(deviceIdSealed && { deviceId: openPii(keyring, deviceIdSealed) }),
      };
      const since = new Date(Date.now() - config.RISK_ORDER_WINDOW_MS).toISOString();
      const facts = await riskFacts(database.sql, subject, since);
      const risk = evaluateRisk(facts, { maxOrdersPerUserInWindow: config.RISK_MAX_ORDERS_PER_USER });
      businessMetrics.riskDecision(subject.gameId, risk.decision, risk.reasons);
      return risk;
    },
  };
}
