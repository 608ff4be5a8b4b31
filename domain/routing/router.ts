import type { Money } from '../money';
import type { BreakerState } from './breaker';
import { channelFee, expectedShare } from './fees';
import { ANY_REGION } from '../catalog/pricing';
import { ROUTING_PLATFORMS, type ChannelPolicy, type RoutingFields, type RoutingPlatform } from './fields';
import type { RandomSource } from './random';
import { successRate, type AttemptCounts } from './success-rate';

/**
 * Chooses the channel account for a new order and explains the choice. Pure: the accounts, their
 * health and the random source come in; I/O (the probe claim, storing the decision) is the caller's.
 *
 * 1. Eligible: enabled, platform, region and currency match, the game's policy allows the type, a
 *    store channel has the item's product, the breaker is not open (half-open: one order probes it).
 * 2. A named channel is used when eligible (and only it: the game chose); otherwise none is.
 * 3. Otherwise ranked by expected cost = fee + (1 − success rate) × penalty, the penalty a share of
 *    the order's amount (what a failed opening risks), cheapest first; equal costs by priority, then
 *    by weight: accounts with a weight share the orders in proportion (a weighted draw), the others
 *    (weight 0, the default) follow in configuration order — so unconfigured accounts behave as
 *    before routing: the first configured one gets the order.
 * 4. A half-open account goes first as a probe (the others back it up); else, with probability
 *    `explorationShare`, a random other eligible account goes first so a recovered one is noticed.
 * 5. The implicit sandbox account (`fallbackOnly`) takes only an order no configured account could take.
 * 6. Breakers route around a failing account; they never leave an order without one: when every
 *    account that could take it is cut off, those are tried anyway (LAST_RESORT).
 */

export interface RoutableAccount {
  channelId: string;
  type: string;
  enabled: boolean;
  routing: RoutingFields;
  /** Store channels (App Store, Google Play): the payer pays in the store's sheet for the item's product there. */
  storeChannel: boolean;
  /** The implicit sandbox account: it takes an order only when no configured account can. */
  fallbackOnly?: boolean;
}

export interface AccountHealth {
  /** The breaker's state now. */
  breaker: BreakerState;
  /** Recent create attempts (the routing window). */
  window: AttemptCounts;
}

export interface RouteRequest {
  amount: Money;
  region: string;
  platform?: RoutingPlatform;
  policy?: ChannelPolicy | null;
  /** Channel types the item has a store product for. */
  storeProducts: readonly string[];
  /** The account the game asked for. */
  requested?: string;
  /** Priced by a channel type's own price: only accounts of that type may take the order. */
  channelType?: string;
}

export interface RouterSettings {
  /** What a failed opening is assumed to cost, in basis points of the order amount. */
  failurePenaltyBps: number;
  /** Pseudo-successes added to every account's window (see success-rate.ts). */
  priorAttempts: number;
  /** 0..1: share of orders that go first to another eligible account than the cheapest. */
  explorationShare: number;
}

export type Exclusion =
  | 'DISABLED'
  | 'PLATFORM'
  | 'REGION'
  | 'CURRENCY'
  | 'GAME_POLICY'
  /** The order's price is another channel type's. */
  | 'PRICE_CHANNEL'
  | 'NO_STORE_PRODUCT'
  | 'BREAKER_OPEN'
  /** Half-open, and its probes for this round are taken (or it is not the one probed). */
  | 'BREAKER_HALF_OPEN'
  /** Eligible, but a store channel is tried alone and never as a fallback (or the chosen one is a store). */
  | 'STORE_CHANNEL'
  | 'NOT_REQUESTED'
  /** The implicit sandbox account, left out because a configured account can take the order. */
  | 'FALLBACK_ONLY';

export interface Candidate {
  channel: string;
  /** Expected cost in the order's minor units (an estimate: fractional, rounded to 0.01). */
  score: number;
  /** The fee for this order, in its minor units. */
  feeMinor: number;
  /** 0..1, rounded to 0.0001. */
  successRate: number;
  excludedBecause?: Exclusion;
}

/** LAST_RESORT: every account that could take the order is cut off by its breaker, so they are tried anyway. */
export type RouteReason = 'CHEAPEST' | 'EXPLORATION' | 'PROBE' | 'REQUESTED' | 'LAST_RESORT';

export interface RoutingDecision {
  /** Every account: the ones to try first, in that order, then the others with the reason. */
  candidates: Candidate[];
  /** The accounts to try, in order (the first is the choice); empty when none can take the order. */
  ranked: string[];
  /** Every account eligible for this order, whether or not the game named another one. */
  eligible: string[];
  chosen?: string;
  reason?: RouteReason;
  /** The half-open account this order probes: the caller claims the probe, or routes again without it. */
  probe?: string;
}

interface Evaluated extends Candidate {
  account: RoutableAccount;
  rawScore: number;
  halfOpen: boolean;
}

export function route(
  request: RouteRequest,
  accounts: readonly RoutableAccount[],
  healthOf: (channelId: string) => AccountHealth | undefined,
  settings: RouterSettings,
  random: RandomSource,
  /** Half-open accounts whose probe could not be claimed: left out this time. */
  refusedProbes: ReadonlySet<string> = new Set(),
): RoutingDecision {
  const evaluated = accounts.map((account): Evaluated => {
    const health = healthOf(account.channelId);
    const rate = successRate(health?.window ?? { attempts: 0, successes: 0 }, settings.priorAttempts);
    const feeMinor = channelFee(request.amount, account.routing);
    const rawScore = feeMinor + expectedShare(request.amount, settings.failurePenaltyBps, 1 - rate);
    const breaker = health?.breaker ?? 'CLOSED';
    return {
      account,
      channel: account.channelId,
      rawScore,
      score: round(rawScore, 2),
      feeMinor,
      successRate: round(rate, 4),
      halfOpen: breaker === 'HALF_OPEN',
      excludedBecause: exclusion(request, account, breaker, refusedProbes),
    };
  });
  // Never a configured account's order for the implicit sandbox (fee 0, every platform): only what none can take.
  if (request.requested === undefined && evaluated.some((e) => !e.account.fallbackOnly && (!e.excludedBecause || isCutOff(e)))) {
    for (const e of evaluated) if (e.account.fallbackOnly && !e.excludedBecause) e.excludedBecause = 'FALLBACK_ONLY';
  }
  const eligible = evaluated.filter((e) => !e.excludedBecause);
  const eligibleIds = eligible.map((e) => e.channel);

  let order: Evaluated[];
  let reason: RouteReason | undefined;
  if (request.requested !== undefined) {
    for (const e of evaluated) if (e.channel !== request.requested && !e.excludedBecause) e.excludedBecause = 'NOT_REQUESTED';
    order = eligible.filter((e) => e.channel === request.requested);
    reason = order.length ? 'REQUESTED' : undefined;
  } else {
    const closed = rankByCost(eligible.filter((e) => !e.halfOpen), random);
    const probe = rankByCost(eligible.filter((e) => e.halfOpen), random)[0];
    // Only the probed half-open account is tried: the others wait for a probe of their own.
    for (const e of eligible) if (e.halfOpen && e !== probe) e.excludedBecause = 'BREAKER_HALF_OPEN';
    if (probe) {
      order = [probe, ...closed];
      reason = 'PROBE';
    } else if (closed.length > 1 && random() < settings.explorationShare) {
      const explored = 1 + Math.floor(random() * (closed.length - 1));
      order = [closed[explored]!, ...closed.filter((_, i) => i !== explored)];
      reason = 'EXPLORATION';
    } else {
      order = closed;
      reason = closed.length ? 'CHEAPEST' : undefined;
    }
  }

  // A breaker cuts an account off only while another can take the order: with none left, the cut-off
  // ones are tried as before routing (an outage costs the order its opening budget, no more).
  if (eligible.length === 0) {
    const cutOff = evaluated.filter((e) => isCutOff(e) && (request.requested === undefined || e.channel === request.requested));
    order = rankByCost(cutOff, random);
    for (const e of order) e.excludedBecause = undefined;
    if (order.length) reason = 'LAST_RESORT';
  }

  // A store channel is tried alone; other channels back each other up.
  const first = order[0];
  const tried = first?.account.storeChannel ? [first] : order.filter((e) => !e.account.storeChannel);
  for (const e of order) if (!tried.includes(e)) e.excludedBecause = 'STORE_CHANNEL';

  const rest = evaluated.filter((e) => !tried.includes(e)).sort((a, b) => a.rawScore - b.rawScore);
  const chosen = tried[0]?.channel;
  return {
    candidates: [...tried, ...rest].map(({ channel, score, feeMinor, successRate, excludedBecause }) => ({
      channel,
      score,
      feeMinor,
      successRate,
      ...(excludedBecause && { excludedBecause }),
    })),
    ranked: tried.map((e) => e.channel),
    eligible: eligibleIds,
    ...(chosen !== undefined && { chosen, reason }),
    ...(reason === 'PROBE' || (reason === 'REQUESTED' && tried[0]?.halfOpen) ? { probe: chosen } : {}),
  };
}

const isCutOff = (e: Evaluated) => e.excludedBecause === 'BREAKER_OPEN' || e.excludedBecause === 'BREAKER_HALF_OPEN';

function exclusion(request: RouteRequest, account: RoutableAccount, breaker: BreakerState, refusedProbes: ReadonlySet<string>): Exclusion | undefined {
  const { routing } = account;
  if (!account.enabled) return 'DISABLED';
  // An order that does not say where it is paid fits only accounts that take every platform.
  if (request.platform ? !routing.platforms.includes(request.platform) : routing.platforms.length < ROUTING_PLATFORMS.length) return 'PLATFORM';
  if (!routing.regions.includes(ANY_REGION) && !routing.regions.includes(request.region)) return 'REGION';
  if (routing.currencies && !routing.currencies.includes(request.amount.currency)) return 'CURRENCY';
  const allowed = request.platform ? request.policy?.[request.platform] : undefined;
  if (allowed && !allowed.includes(account.type)) return 'GAME_POLICY';
  if (request.channelType && account.type !== request.channelType) return 'PRICE_CHANNEL';
  if (account.storeChannel && !request.storeProducts.includes(account.type)) return 'NO_STORE_PRODUCT';
  if (breaker === 'OPEN') return 'BREAKER_OPEN';
  if (breaker === 'HALF_OPEN' && refusedProbes.has(account.channelId)) return 'BREAKER_HALF_OPEN';
  return undefined;
}

/** Cheapest first; equal costs by priority (higher first), then by weight (see above); the sort keeps configuration order. */
function rankByCost(entries: Evaluated[], random: RandomSource): Evaluated[] {
  const sorted = [...entries].sort((a, b) => a.rawScore - b.rawScore || b.account.routing.priority - a.account.routing.priority);
  const ranked: Evaluated[] = [];
  for (let start = 0; start < sorted.length; ) {
    let end = start + 1;
    const head = sorted[start]!;
    while (end < sorted.length && sorted[end]!.rawScore === head.rawScore && sorted[end]!.account.routing.priority === head.account.routing.priority) end++;
    ranked.push(...weightedOrder(sorted.slice(start, end), random));
    start = end;
  }
  return ranked;
}

/** Draws the tied accounts that have a weight one by one, each with a chance proportional to it; then the others, in order. */
function weightedOrder(tied: Evaluated[], random: RandomSource): Evaluated[] {
  const left = tied.filter((e) => e.account.routing.weight > 0);
  const unweighted = tied.filter((e) => e.account.routing.weight === 0);
  const drawn: Evaluated[] = [];
  while (left.length > 1) {
    let point = random() * left.reduce((sum, e) => sum + e.account.routing.weight, 0);
    const index = left.findIndex((e) => (point -= e.account.routing.weight) < 0);
    drawn.push(...left.splice(index < 0 ? left.length - 1 : index, 1));
  }
  return [...drawn, ...left, ...unweighted];
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
