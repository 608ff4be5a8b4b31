import type { Money } from '../money';
import { MINOR_SPENDING_LIMIT } from './minor-caps';

/**
 * The risk rules as data, and the one decision over them. Operators keep rules (PUT
 * /v1/admin/risk/rules/{ruleId}); the activity gathers the figures the rules need (the windows below)
 * and this module decides: any DENY → DENY, else any REVIEW → REVIEW, else ALLOW; a blacklist hit and
 * the built-in per-user guard always deny. Figures are counts and amounts, never an IP or a device.
 */

export const BLACKLIST_KINDS = ['USER', 'DEVICE', 'IP', 'CIDR'] as const;
export type BlacklistKind = (typeof BLACKLIST_KINDS)[number];

export const RULE_KINDS = [
  'VELOCITY',
  'AMOUNT_ANOMALY',
  'NEW_DEVICE_HIGH_VALUE',
  'SHARED_DEVICE',
  'SHARED_IP',
  'PAYMENT_FAILURES',
  'AML_SINGLE',
  'AML_DAILY',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const WINDOW_SUBJECTS = ['USER', 'DEVICE', 'IP', 'SUBNET'] as const;
export type WindowSubject = (typeof WINDOW_SUBJECTS)[number];

export interface RuleParams {
  VELOCITY: { subject: WindowSubject; metric: 'ORDERS' | 'AMOUNT'; windowSeconds: number; max: number; currency?: string };
  AMOUNT_ANOMALY: { multipleOfAverage: number; minPaidOrders: number; firstPurchaseMax: Money };
  NEW_DEVICE_HIGH_VALUE: { amount: Money; deviceAgeSeconds: number };
  SHARED_DEVICE: { windowSeconds: number; maxUsers: number };
  SHARED_IP: { windowSeconds: number; maxUsers: number };
  PAYMENT_FAILURES: { windowSeconds: number; max: number };
  AML_SINGLE: { amount: Money };
  AML_DAILY: { amount: Money };
}

export type RuleAction = 'REVIEW' | 'DENY';

export type RiskRule = {
  [K in RuleKind]: { ruleId: string; kind: K; params: RuleParams[K]; action: RuleAction; enabled: boolean; gameId?: string };
}[RuleKind];

/** A window the rules look at: the orders risk let through for one subject of this order. */
export interface WindowQuery {
  subject: WindowSubject;
  windowSeconds: number;
}

/** What one window holds, this order left out. */
export interface WindowFigures {
  orders: number;
  /** Sum of the orders in the order's currency. */
  amount: number;
  /** Distinct users other than this order's. */
  otherUsers: number;
}

export interface RiskFacts {
  /** Blacklist entries that matched the order's user, device, IP or one of the IP's networks. */
  blacklisted: BlacklistKind[];
  /** Orders the same user placed in the same game within the built-in guard's window. */
  recentOrdersOfUser: number;
  /** Keyed by windowKey(query). A subject the order lacks (no device, no IP) has no entry. */
  windows?: Record<string, WindowFigures>;
  /** The user's paid orders in the order's currency (AMOUNT_ANOMALY). */
  paidOrders?: { count: number; total: number };
  /** When the order's device was first let through in this game (ms), if ever. */
  deviceFirstSeenAt?: number | null;
  /** Failed payment results of the user, per window length in seconds. */
  paymentFailures?: Record<number, number>;
  /** The user's orders let through in the game's day so far, in the order's currency (AML_DAILY). */
  dayTotal?: number;
}

export interface RiskOrder {
  amount: Money;
  /** Whether the order names a device, an IP. */
  hasDevice: boolean;
  hasIp: boolean;
  /** The evaluation's clock (ms). */
  now: number;
}

export interface RiskSettings {
  maxOrdersPerUserInWindow: number;
}

export interface RiskHit {
  ruleId: string;
  kind: string;
  action: RuleAction;
  figures: Record<string, number>;
}

export type Decision = 'ALLOW' | 'REVIEW' | 'DENY';

export interface RiskDecision {
  decision: Decision;
  /** Stable, short: the blacklist kinds, the built-in guard and the rule kinds that hit (metrics label them). */
  reasons: string[];
  hits?: RiskHit[];
  /** A refusal's figures the game may see (a minor's cap: which cap, its limit, what the month held). */
  details?: Record<string, unknown>;
}

/** Reason of an order refused by operators' rules only: games never see which rule (ops do). */
export const RULE_DENIAL_REASON = 'RISK_RULE';
/** The built-in per-user guard (RISK_MAX_ORDERS_PER_USER in RISK_ORDER_WINDOW_MS). */
export const BUILT_IN_VELOCITY = 'USER_VELOCITY';

export const windowKey = (q: WindowQuery) => `${q.subject}:${q.windowSeconds}`;

/** The rules that apply to an order of this game: enabled, and global or the game's own. */
export function rulesFor(rules: readonly RiskRule[], gameId: string): RiskRule[] {
  return rules.filter((r) => r.enabled && (r.gameId === undefined || r.gameId === gameId));
}

/** The windows the rules need gathered (each once). */
export function windowsNeeded(rules: readonly RiskRule[]): WindowQuery[] {
  const queries = new Map<string, WindowQuery>();
  const add = (q: WindowQuery) => queries.set(windowKey(q), q);
  for (const r of rules) {
    if (r.kind === 'VELOCITY') add({ subject: r.params.subject, windowSeconds: r.params.windowSeconds });
    if (r.kind === 'SHARED_DEVICE') add({ subject: 'DEVICE', windowSeconds: r.params.windowSeconds });
    if (r.kind === 'SHARED_IP') add({ subject: 'IP', windowSeconds: r.params.windowSeconds });
  }
  return [...queries.values()];
}

/** A game's day is at most this long (a daylight-saving change included): AML_DAILY looks back no further. */
const GAME_DAY_LOOKBACK_SECONDS = 2 * 86_400;

/**
 * How far back any of these rules looks (seconds): the counters' rows older than this are purged.
 * A device whose rows were purged counts as new again for NEW_DEVICE_HIGH_VALUE (unseen for longer
 * than the rule's age).
 */
export function retentionSeconds(rules: readonly RiskRule[]): number {
  return Math.max(
    0,
    ...windowsNeeded(rules).map((q) => q.windowSeconds),
    ...rules.map((r) => (r.kind === 'NEW_DEVICE_HIGH_VALUE' ? r.params.deviceAgeSeconds : r.kind === 'AML_DAILY' ? GAME_DAY_LOOKBACK_SECONDS : 0)),
  );
}

/** Whether an amount is of the threshold's currency and reaches it. */
const reaches = (value: number, currency: string, threshold: Money) => currency === threshold.currency && value >= threshold.value;

/** The figures of a rule that hits this order, or undefined. Each kind, counted with the order itself. */
export function ruleHit(rule: RiskRule, order: RiskOrder, facts: RiskFacts): Record<string, number> | undefined {
  const { amount } = order;
  switch (rule.kind) {
    case 'VELOCITY': {
      const p = rule.params;
      const w = facts.windows?.[windowKey(p)];
      if (!w) return undefined; // the order has no such subject
      if (p.metric === 'ORDERS') return w.orders + 1 > p.max ? { orders: w.orders + 1, max: p.max } : undefined;
      if (p.currency !== undefined && p.currency !== amount.currency) return undefined;
      const total = w.amount + amount.value;
      return total > p.max ? { amount: total, max: p.max } : undefined;
    }
    case 'AMOUNT_ANOMALY': {
      const p = rule.params;
      const paid = facts.paidOrders ?? { count: 0, total: 0 };
      if (paid.count === 0) {
        return amount.currency === p.firstPurchaseMax.currency && amount.value > p.firstPurchaseMax.value
          ? { amount: amount.value, firstPurchaseMax: p.firstPurchaseMax.value }
          : undefined;
      }
      if (paid.count < p.minPaidOrders) return undefined;
      // amount ≥ multiple × average, in integers: amount × count ≥ multiple × total.
      return amount.value * paid.count >= p.multipleOfAverage * paid.total
        ? { amount: amount.value, average: Math.round(paid.total / paid.count), paidOrders: paid.count }
        : undefined;
    }
    case 'NEW_DEVICE_HIGH_VALUE': {
      const p = rule.params;
      if (!order.hasDevice || !reaches(amount.value, amount.currency, p.amount)) return undefined;
      const first = facts.deviceFirstSeenAt ?? null;
      const ageSeconds = first === null ? 0 : Math.max(0, Math.floor((order.now - first) / 1000));
      return ageSeconds < p.deviceAgeSeconds ? { amount: amount.value, deviceAgeSeconds: ageSeconds } : undefined;
    }
    case 'SHARED_DEVICE':
    case 'SHARED_IP': {
      const p = rule.params;
      const w = facts.windows?.[windowKey({ subject: rule.kind === 'SHARED_DEVICE' ? 'DEVICE' : 'IP', windowSeconds: p.windowSeconds })];
      if (!w) return undefined;
      return w.otherUsers + 1 > p.maxUsers ? { users: w.otherUsers + 1, maxUsers: p.maxUsers } : undefined;
    }
    case 'PAYMENT_FAILURES': {
      const p = rule.params;
      const failures = facts.paymentFailures?.[p.windowSeconds] ?? 0;
      return failures > p.max ? { failures, max: p.max } : undefined;
    }
    case 'AML_SINGLE':
      return reaches(amount.value, amount.currency, rule.params.amount) ? { amount: amount.value, threshold: rule.params.amount.value } : undefined;
    case 'AML_DAILY': {
      const total = (facts.dayTotal ?? 0) + amount.value;
      return reaches(total, amount.currency, rule.params.amount) ? { dayTotal: total, threshold: rule.params.amount.value } : undefined;
    }
  }
}

/** The decision over the blacklist, the built-in guard and the operators' rules (those that apply). */
export function evaluateRisk(facts: RiskFacts, settings: RiskSettings, rules: readonly RiskRule[] = [], order?: RiskOrder): RiskDecision {
  const denials = [...new Set(facts.blacklisted)].sort().map((kind) => `BLACKLISTED_${kind}`);
  if (facts.recentOrdersOfUser >= settings.maxOrdersPerUserInWindow) denials.push(BUILT_IN_VELOCITY);
  const hits: RiskHit[] = [];
  if (order) {
    for (const rule of rules) {
      const figures = ruleHit(rule, order, facts);
      if (figures) hits.push({ ruleId: rule.ruleId, kind: rule.kind, action: rule.action, figures });
    }
  }
  const kinds = [...new Set(hits.map((h) => h.kind))].sort();
  const decision: Decision = denials.length || hits.some((h) => h.action === 'DENY') ? 'DENY' : hits.length ? 'REVIEW' : 'ALLOW';
  return { decision, reasons: [...denials, ...kinds], ...(order && { hits }) };
}

/** The reason a denied order is stored with (its history is the game's view: no rule named). */
export function rejectionReason(risk: RiskDecision): string {
  const named = risk.reasons.filter((r) => r.startsWith('BLACKLISTED_') || r === BUILT_IN_VELOCITY || r === MINOR_SPENDING_LIMIT);
  return named.length ? named.join(',') : RULE_DENIAL_REASON;
}
