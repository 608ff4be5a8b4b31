export type BlacklistKind = 'USER' | 'DEVICE' | 'IP';

export interface RiskFacts {
  /** Blacklist entries that matched the order's user, device or IP. */
  blacklisted: BlacklistKind[];
  /** Orders the same user placed in the same game within the velocity window. */
  recentOrdersOfUser: number;
}

export interface RiskRules {
  maxOrdersPerUserInWindow: number;
}

export interface RiskDecision {
  decision: 'ALLOW' | 'DENY';
  reasons: string[];
}

export function evaluateRisk(facts: RiskFacts, rules: RiskRules): RiskDecision {
  const reasons = [...new Set(facts.blacklisted)].sort().map((kind) => `BLACKLISTED_${kind}`);
  if (facts.recentOrdersOfUser >= rules.maxOrdersPerUserInWindow) reasons.push('USER_VELOCITY');
  return { decision: reasons.length ? 'DENY' : 'ALLOW', reasons };
}
