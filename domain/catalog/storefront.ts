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

/** Where a storefront is priced: the same offers for every player asking with these. */
export type OfferQuery = Pick<StorefrontRequest, 'region' | 'channelType' | 'allowedTypes' | 'at'>;

/**
 * An item as every player of a region and channel type sees it (`entry`, with the item's own stock
 * figure), and what the user's figures change in it.
 */
export interface StorefrontOffer {
  entry: StorefrontEntry;
  limits?: { perUserDaily?: number; perUserLifetime?: number };
  bonus?: SellableItem['firstPurchaseBonus'];
  /** Limited stock: the live figure replaces the item's. */
  limited: boolean;
}

/** The player-independent part of a storefront, and until when it holds. */
export interface StorefrontOffers {
  offers: StorefrontOffer[];
  /** The first start or end of a sale window or a price after `at` (epoch ms): offers may change then. Absent: never. */
  validUntil?: number;
}

/** The channel type the storefront's prices resolve for: the one an order of this user would pay through. */
export function offerChannelType(query: Pick<OfferQuery, 'channelType' | 'allowedTypes'>): string | undefined {
  return orderChannelType({ requestedType: query.channelType, allowedTypes: query.allowedTypes });
}

/** The item as every player sees it now, or undefined when it is not on sale or has no price here. */
export function storefrontOffer(item: SellableItem, query: OfferQuery): StorefrontOffer | undefined {
  const { at, region } = query;
  if (!onSale(item, at)) return undefined;
  const price = resolvePrice(item.prices, { region, at, channelType: offerChannelType(query) });
  if (!price) return undefined;
  const saleEndsAt = earlier(item.saleWindow?.endsAt, price.endsAt);
  const { perUserDaily, perUserLifetime } = item.limits ?? {};
  return {
    entry: {
      sku: item.sku,
      name: item.name,
      kind: item.kind,
      price: price.unit,
      grants: item.grants,
      stockRemaining: item.stockAvailable,
      ...(saleEndsAt && { saleEndsAt }),
    },
    ...((perUserDaily || perUserLifetime) && { limits: { ...(perUserDaily && { perUserDaily }), ...(perUserLifetime && { perUserLifetime }) } }),
    ...(item.firstPurchaseBonus && { bonus: item.firstPurchaseBonus }),
    limited: item.stockAvailable !== null,
  };
}

/** The offer with this user's figures: limits left, ownership, the bonus, the live stock. */
export function userEntry(offer: StorefrontOffer, day: string, figures: StorefrontFigures): StorefrontEntry {
  const { entry, limits, bonus } = offer;
  const owns = entry.kind === 'NON_CONSUMABLE';
  // Nothing of this user's in it: every request shares the one entry.
  if (!limits && !bonus && !offer.limited && !owns) return entry;
  const used = (key: string) => figures.used.get(key) ?? 0;
  const remaining = {
    ...(limits?.perUserDaily && { daily: Math.max(0, limits.perUserDaily - used(dailyKey(entry.sku, day))) }),
    ...(limits?.perUserLifetime && { lifetime: Math.max(0, limits.perUserLifetime - used(lifetimeKey(entry.sku))) }),
  };
  return {
    ...entry,
    ...(bonus && used(bonusKey(bonus, entry.sku)) === 0 && { bonusGrants: bonus.grants }),
    ...(offer.limited && { stockRemaining: figures.stock.get(entry.sku) ?? entry.stockRemaining }),
    ...(limits && { userRemaining: remaining }),
    ...(owns && used(ownedKey(entry.sku)) > 0 && { owned: true as const }),
  };
}

/** The offers of a game's items (in the order given), and the first moment one of them may change. */
export function storefrontOffers(items: readonly SellableItem[], query: OfferQuery): StorefrontOffers {
  const offers: StorefrontOffer[] = [];
  let validUntil = Infinity;
  const now = query.at.getTime();
  const boundary = (iso: string | null | undefined) => {
    const t = iso ? Date.parse(iso) : NaN;
    if (t > now && t < validUntil) validUntil = t;
  };
  for (const item of items) {
    const offer = storefrontOffer(item, query);
    if (offer) offers.push(offer);
    boundary(item.saleWindow?.startsAt);
    boundary(item.saleWindow?.endsAt);
    for (const price of item.prices) {
      boundary(price.startsAt);
      boundary(price.endsAt);
    }
  }
  return { offers, ...(validUntil !== Infinity && { validUntil }) };
}

/** The offers as this user sees them. */
export function storefrontFor(offers: readonly StorefrontOffer[], day: string, figures: StorefrontFigures): StorefrontEntry[] {
  return offers.map((offer) => userEntry(offer, day, figures));
}

/** The item as the user sees it in the storefront now, or undefined when it is not on sale or has no price here. */
export function storefrontEntry(item: SellableItem, request: StorefrontRequest, figures: StorefrontFigures): StorefrontEntry | undefined {
  const offer = storefrontOffer(item, request);
  return offer && userEntry(offer, request.day, figures);
}

/** The game's items on sale for this user, in the order given (the catalog's sku order). */
export function storefront(items: readonly SellableItem[], request: StorefrontRequest, figures: StorefrontFigures): StorefrontEntry[] {
  return storefrontFor(storefrontOffers(items, request).offers, request.day, figures);
}
