import { ANY_REGION } from '../catalog/pricing';
import type { Money } from '../money';

/**
 * What routing knows of a channel account and of a game: the account's routing fields (where it may
 * take payments and what it costs) and the game's channel policy (which channel types each platform
 * may pay through). Both are optional: an account without routing fields takes every platform,
 * region and currency at no known fee; a game without a policy may use every enabled account.
 */

/** Where payers pay (the same list as the channels' PLATFORMS; domain/ imports nothing outside itself). */
export const ROUTING_PLATFORMS = ['ios', 'android', 'web', 'pc'] as const;
export type RoutingPlatform = (typeof ROUTING_PLATFORMS)[number];

export interface RoutingFields {
  platforms: RoutingPlatform[];
  /** ISO 3166-1 alpha-2 codes, or `*` for every region. */
  regions: string[];
  /** ISO 4217 codes; absent: every currency. */
  currencies?: string[];
  /** The channel's percentage fee in basis points (60 = 0.60%). */
  feeRateBps: number;
  /** A fee per payment on top; an account with one takes only that currency. */
  fixedFee?: Money;
  /** Higher wins between accounts of equal expected cost. */
  priority: number;
  /**
   * Share of the orders between accounts of equal cost and priority, relative to each other; 0 (the
   * default): no share, such accounts follow the weighted ones in configuration order.
   */
  weight: number;
}

export const DEFAULT_ROUTING: Readonly<RoutingFields> = Object.freeze({
  platforms: [...ROUTING_PLATFORMS],
  regions: [ANY_REGION],
  feeRateBps: 0,
  priority: 0,
  weight: 0,
});

/** The account's routing with every omitted field at its default. */
export function routingWithDefaults(given?: Partial<RoutingFields> | null): RoutingFields {
  const fields: RoutingFields = { ...DEFAULT_ROUTING, ...stripUndefined(given ?? {}) };
  // A fixed fee is known in one currency only: the account takes that currency (validated on write).
  if (fields.fixedFee && !fields.currencies) fields.currencies = [fields.fixedFee.currency];
  return fields;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Per platform, the channel types a game's orders may pay through (e.g. iOS digital goods: appstore only). */
export type ChannelPolicy = Partial<Record<RoutingPlatform, string[]>>;
