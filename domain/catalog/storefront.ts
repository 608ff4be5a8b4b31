import { bonusKey, dailyKey, lifetimeKey, ownedKey } from './allowances';
import { onSale } from './items';
import { orderChannelType, resolvePrice, type Grant } from './pricing';
import type { Money } from '../money';
import type { SellableItem } from '../orders/quote';

/**
 * The storefront: what one user of a game can buy now, at which price, and how much of it is left.
 * Prices resolve exactly as an order's (pricing.ts); the user's figures are read off the same
 * counters an order takes (allowances.ts). Pure.
 */

export interface StorefrontRequest {
  region: string;
  /** The channel type the user pays through, when the game names one (an account's type, or a type). */
  channelType?: string;
  /** The channel types the game's policy allows for the user's platform, if it has a policy for it. */
  allowedTypes?: readonly string[];
  at: Date;
  /** The game's day of `at` (daily limits count in it). */
  day: string;
}

/** What the user has used of each counter (key → units), and the stock left of each limited item. */
export interface StorefrontFigures {
  used: ReadonlyMap<string, number>;
  /** sku → units left, for limited items (read with the user's figures); the item's own figure otherwise. */
  stock: ReadonlyMap<string, number>;
}

export interface StorefrontEntry {
  sku: string;
  name: string;
  kind: SellableItem['kind'];
  price: Money;
  grants: readonly Grant[];
  /** The first-purchase bonus this user's next order would claim. */
  bonusGrants?: readonly Grant[];
  /** Units left to sell; null: unlimited (0: sold out, still shown). */
  stockRemaining: number | null;
  /** Units this user may still buy, for items with per-user limits. */
  userRemaining?: { daily?: number; lifetime?: number };
  /** The earlier end of the sale window and of the price in force. */
  saleEndsAt?: string;
  /** A non-consumable the user holds or has an unpaid order of. */
  owned?: true;
}

const earlier = (a: string | undefined, b: string | undefined) => (a && b ? (Date.parse(a) <= Date.parse(b) ? a : b) : (a ?? b));

/** The item as the user sees it in the storefront now, or undefined when it is not on sale or has no price here. */
export function storefrontEntry(item: SellableItem, request: StorefrontRequest, figures: StorefrontFigures): StorefrontEntry | undefined {
  const { at, region } = request;
  if (!onSale(item, at)) return undefined;
  const price = resolvePrice(item.prices, { region, at, channelType: orderChannelType({ requestedType: request.channelType, allowedTypes: request.allowedTypes }) });
  if (!price) return undefined;
  const used = (key: string) => figures.used.get(key) ?? 0;
  const { perUserDaily, perUserLifetime } = item.limits ?? {};
  const remaining = {
    ...(perUserDaily && { daily: Math.max(0, perUserDaily - used(dailyKey(item.sku, request.day))) }),
    ...(perUserLifetime && { lifetime: Math.max(0, perUserLifetime - used(lifetimeKey(item.sku))) }),
  };
  const bonus = item.firstPurchaseBonus;
  const saleEndsAt = earlier(item.saleWindow?.endsAt, price.endsAt);
  return {
    sku: item.sku,
    name: item.name,
    kind: item.kind,
    price: price.unit,
    grants: item.grants,
    ...(bonus && used(bonusKey(bonus, item.sku)) === 0 && { bonusGrants: bonus.grants }),
    stockRemaining: item.stockAvailable === null ? null : (figures.stock.get(item.sku) ?? item.stockAvailable),
    ...(Object.keys(remaining).length > 0 && { userRemaining: remaining }),
    ...(saleEndsAt && { saleEndsAt }),
    ...(item.kind === 'NON_CONSUMABLE' && used(ownedKey(item.sku)) > 0 && { owned: true as const }),
  };
}

/** The game's items on sale for this user, in the order given (the catalog's sku order). */
export function storefront(items: readonly SellableItem[], request: StorefrontRequest, figures: StorefrontFigures): StorefrontEntry[] {
  const entries: StorefrontEntry[] = [];
  for (const item of items) {
    const entry = storefrontEntry(item, request, figures);
    if (entry) entries.push(entry);
  }
  return entries;
}
