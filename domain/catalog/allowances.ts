import { maxPerOrder, type FirstPurchaseBonus, type ItemKind, type ItemLimits } from './items';
import type { Grant } from './pricing';

/**
 * What an order takes from its user's allowances: units per game day and ever, ownership of a
 * non-consumable, the first-purchase bonus. Each is a counter with a limit; the store takes them
 * with one conditional write each (store/allowances.ts). Pure.
 */
export type AllowanceKind = 'OWNED' | 'LIFETIME' | 'DAILY' | 'PENDING' | 'BONUS';

export interface AllowanceTake {
  kind: AllowanceKind;
  /** The counter's key within the user's game. */
  key: string;
  quantity: number;
  limit: number;
}

export interface AllowanceTerms {
  /** In the order refusals are told: ownership, lifetime, daily, then units held unpaid; the bonus last (never a refusal). */
  takes: AllowanceTake[];
  /** Granted with the order when its BONUS take succeeds. */
  bonusGrants?: Grant[];
}

export interface AllowanceItem {
  sku: string;
  kind: ItemKind;
  limits: ItemLimits | null;
  firstPurchaseBonus: FirstPurchaseBonus | null;
  /** Units left to sell; null for unlimited. */
  stockAvailable: number | null;
  maxPerOrder: number | null;
}

/**
 * Units one user's unpaid orders of the item may hold: the item's `maxPendingPerUser`, else for
 * limited stock its units per order (one user cannot hold a stock through many unpaid orders);
 * undefined: no cap.
 */
export function maxPendingPerUser(item: Pick<AllowanceItem, 'kind' | 'limits' | 'stockAvailable' | 'maxPerOrder'>): number | undefined {
  return item.limits?.maxPendingPerUser ?? (item.stockAvailable !== null ? maxPerOrder(item) : undefined);
}

/** The counter of a user's units held by unpaid orders of `sku`. */
export const pendingKey = (sku: string) => `PENDING:${sku}`;
/** The counter of a user's units bought of `sku` on game day `day` (YYYY-MM-DD). */
export const dailyKey = (sku: string, day: string) => `DAILY:${sku}:${day}`;
export const lifetimeKey = (sku: string) => `LIFETIME:${sku}`;
export const ownedKey = (sku: string) => `OWNED:${sku}`;
export const bonusKey = (bonus: FirstPurchaseBonus, sku: string) => `BONUS:${bonus.group ?? sku}`;

/** The takes of an order of `quantity` units on game day `day`; undefined when the item has none. */
export function allowanceTerms(item: AllowanceItem, quantity: number, day: string): AllowanceTerms | undefined {
  const takes: AllowanceTake[] = [];
  if (item.kind === 'NON_CONSUMABLE') takes.push({ kind: 'OWNED', key: ownedKey(item.sku), quantity: 1, limit: 1 });
  const { perUserLifetime, perUserDaily } = item.limits ?? {};
  if (perUserLifetime) takes.push({ kind: 'LIFETIME', key: lifetimeKey(item.sku), quantity, limit: perUserLifetime });
  if (perUserDaily) takes.push({ kind: 'DAILY', key: dailyKey(item.sku, day), quantity, limit: perUserDaily });
  const pending = maxPendingPerUser(item);
  // Held only while the order is unpaid: given back when it is paid or closed (store/allowances.ts).
  if (pending !== undefined) takes.push({ kind: 'PENDING', key: pendingKey(item.sku), quantity, limit: pending });
  const bonus = item.firstPurchaseBonus;
  if (bonus) takes.push({ kind: 'BONUS', key: bonusKey(bonus, item.sku), quantity: 1, limit: 1 });
  if (takes.length === 0) return undefined;
  return { takes, ...(bonus && { bonusGrants: bonus.grants }) };
}

/** Why a take refused an order, as the order keeps it and the API tells it. */
export type AllowanceRefusal =
  | { reason: 'ALREADY_OWNED'; details: { ownedBy?: string } }
  | { reason: 'PURCHASE_LIMIT_REACHED'; details: { limit: 'DAILY' | 'LIFETIME'; allowed: number; used: number } }
  /** The user's unpaid orders of the item already hold `pending` of the `allowed` units. */
  | { reason: 'QUANTITY_NOT_ALLOWED'; details: { maxPendingPerUser: number; pending: number; quantity: number } };

/** The refusal of `take`, given what the counter holds now (its used units, its last order). */
export function refusalOf(take: AllowanceTake, counter: { used: number; orderId?: string } | undefined): AllowanceRefusal {
  if (take.kind === 'OWNED') return { reason: 'ALREADY_OWNED', details: { ownedBy: counter?.orderId } };
  if (take.kind === 'PENDING') return { reason: 'QUANTITY_NOT_ALLOWED', details: { maxPendingPerUser: take.limit, pending: counter?.used ?? 0, quantity: take.quantity } };
  return { reason: 'PURCHASE_LIMIT_REACHED', details: { limit: take.kind === 'DAILY' ? 'DAILY' : 'LIFETIME', allowed: take.limit, used: counter?.used ?? 0 } };
}
