import { inWindow, type Grant } from './pricing';

/** What kind of goods an item is: a bundle is a consumable with several grants. */
export const ITEM_KINDS = ['CONSUMABLE', 'NON_CONSUMABLE', 'BUNDLE', 'MONTHLY_CARD'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

/** A monthly card's terms: its grants on purchase, then `dailyGrants` once per game day, `days` in all. */
export interface MonthlyCardTerms {
  days: number;
  dailyGrants: Grant[];
}

/** Kinds of which a user holds at most one unit per order. */
export const singleUnitKinds: readonly ItemKind[] = ['NON_CONSUMABLE', 'MONTHLY_CARD'];

/** When an item is on sale (either end open). */
export interface SaleWindow {
  startsAt?: string;
  endsAt?: string;
}

/** Per-user limits, in units. */
export interface ItemLimits {
  /** Per game day (the game's time zone and reset hour). */
  perUserDaily?: number;
  perUserLifetime?: number;
  /** Units one user's unpaid orders may hold (default `maxPerOrder` for limited stock; see maxPendingPerUser). */
  maxPendingPerUser?: number;
}

/** Granted once per user (per group), with the first order that claims it. */
export interface FirstPurchaseBonus {
  grants: Grant[];
  group?: string;
}

/** Units per order when an item of limited stock does not say: one order cannot hold a whole stock. */
export const DEFAULT_MAX_PER_ORDER_LIMITED = 10;

/** Units one order may buy: 1 for single-unit kinds, else the item's own maximum or, for limited stock, the default. */
export function maxPerOrder(item: { kind: ItemKind; maxPerOrder: number | null; stockAvailable: number | null }): number | undefined {
  if (singleUnitKinds.includes(item.kind)) return 1;
  return item.maxPerOrder ?? (item.stockAvailable !== null ? DEFAULT_MAX_PER_ORDER_LIMITED : undefined);
}

/** Whether new orders may be made now: not retired, and inside its sale window. */
export function onSale(item: { retiredAt: string | null; saleWindow: SaleWindow | null }, at: Date): boolean {
  return !item.retiredAt && (!item.saleWindow || inWindow(item.saleWindow, at));
}
