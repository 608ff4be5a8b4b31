import { multiply, type Money } from '../money';

/** One price of an item: for a region (or "*"), optionally for one channel type and for a window. */
export interface RegionalPrice {
  region: string;
  currency: string;
  amount: number;
  /** A channel type (`alipay`, `appstore`, ...): the price of orders paid through that type only. */
  channel?: string;
  /** A scheduled price is in force from `startsAt` (inclusive) until `endsAt` (exclusive), ISO 8601. */
  startsAt?: string;
  endsAt?: string;
}

/** The wildcard region prices every region without a price of its own. */
export const ANY_REGION = '*';

/** What a price is asked for: where, through which channel type (if known) and when. */
export interface PriceQuery {
  region: string;
  channelType?: string;
  at: Date;
}

/** The unit price in force, the channel type it is reserved to (if any) and when it stops. */
export interface ResolvedPrice {
  unit: Money;
  channel?: string;
  endsAt?: string;
}

/** Whether a window `[startsAt, endsAt)` (either end open) contains `at`. */
export function inWindow(window: { startsAt?: string | null; endsAt?: string | null }, at: Date): boolean {
  const t = at.getTime();
  return (!window.startsAt || Date.parse(window.startsAt) <= t) && (!window.endsAt || t < Date.parse(window.endsAt));
}

const hasWindow = (p: RegionalPrice) => Boolean(p.startsAt || p.endsAt);

/**
 * The price in force: levels channel type + region, region, channel type + "*", "*" (the first level
 * with a price in force wins); within a level a price whose window contains `at` beats the windowless one.
 */
export function resolvePrice(prices: readonly RegionalPrice[], query: PriceQuery): ResolvedPrice | undefined {
  const { region, channelType, at } = query;
  const levels: [string, string | undefined][] = channelType
    ? [[region, channelType], [region, undefined], [ANY_REGION, channelType], [ANY_REGION, undefined]]
    : [[region, undefined], [ANY_REGION, undefined]];
  for (const [levelRegion, levelChannel] of levels) {
    const inForce = prices.filter((p) => p.region === levelRegion && p.channel === levelChannel && inWindow(p, at));
    const price = inForce.find(hasWindow) ?? inForce[0];
    if (price) {
      return {
        unit: { currency: price.currency, value: price.amount },
        ...(price.channel && { channel: price.channel }),
        ...(price.endsAt && { endsAt: price.endsAt }),
      };
    }
  }
  return undefined;
}

/**
 * What a store charged for one of its products that the order did not ask for, when the store does not
 * say (Google Play): the price our catalog asks for that product — the price in force, for the query's
 * region through that store, of the items that sell it — if they agree on one.
 */
export function storeProductPrice(items: readonly { prices: readonly RegionalPrice[] }[], query: PriceQuery): Money | undefined {
  const units = items.map((item) => resolvePrice(item.prices, query)?.unit).filter((unit): unit is Money => unit !== undefined);
  const [first] = units;
  return first && units.every((u) => u.currency === first.currency && u.value === first.value) ? first : undefined;
}

export function priceFor(prices: readonly RegionalPrice[], region: string, at = new Date()): Money | undefined {
  return resolvePrice(prices, { region, at })?.unit;
}

export function orderAmount(prices: readonly RegionalPrice[], region: string, quantity: number, at = new Date()): Money | undefined {
  const unit = priceFor(prices, region, at);
  return unit && multiply(unit, quantity);
}

/**
 * The channel type an order pays through, as far as it is known before routing: the named account's
 * type, else the one type the game's policy allows for the platform, else none.
 */
export function orderChannelType(request: { requestedType?: string; allowedTypes?: readonly string[] }): string | undefined {
  if (request.requestedType) return request.requestedType;
  return request.allowedTypes?.length === 1 ? request.allowedTypes[0] : undefined;
}

/**
 * Why two prices may not stand together: the same region and channel type, both windowless, or
 * with overlapping windows (the price in force would be ambiguous).
 */
export function pricesClash(a: RegionalPrice, b: RegionalPrice): boolean {
  if (a.region !== b.region || (a.channel ?? null) !== (b.channel ?? null)) return false;
  if (hasWindow(a) !== hasWindow(b)) return false;
  if (!hasWindow(a)) return true;
  const start = (p: RegionalPrice) => (p.startsAt ? Date.parse(p.startsAt) : -Infinity);
  const end = (p: RegionalPrice) => (p.endsAt ? Date.parse(p.endsAt) : Infinity);
  return start(a) < end(b) && start(b) < end(a);
}

export interface Grant {
  itemId: string;
  quantity: number;
}

/** What the player receives for `quantity` units of an item. */
export function grantsFor(perUnit: readonly Grant[], quantity: number): Grant[] {
  return perUnit.map((g) => ({ itemId: g.itemId, quantity: g.quantity * quantity }));
}
