import type { FirstPurchaseBonus, ItemKind, ItemLimits } from './items';
import type { Grant } from './pricing';

/**
 * What an order takes from its user's allowances: units per game day and ever, ownership of a
 * non-consumable, the first-purchase bonus. Each is a counter with a limit; the store takes them
 * with one conditional write each (store/allowances.ts). Pure.
 */
export type AllowanceKind = 'OWNED' | 'LIFETIME' | 'DAILY' | 'BONUS';

export interface AllowanceTake {
  kind: AllowanceKind;
  /** The counter's key within the user's game. */
  key: string;
  quantity: number;
  limit: number;
}

export interface AllowanceTerms {
  /** In the order refusals are told: ownership, then lifetime, then daily; the bonus last (never a refusal). */
  takes: AllowanceTake[];
  /** Granted with the order when its BONUS take succeeds. */
  bonusGrants?: Grant[];
}

export interface AllowanceItem {
  sku: string;
  kind: ItemKind;
  limits: ItemLimits | null;
  firstPurchaseBonus: FirstPurchaseBonus | null;
}

/** The takes of an order of `quantity` units on game day `day`; undefined when the item has none. */
export function allowanceTerms(item: AllowanceItem, quantity: number, day: string): AllowanceTerms | undefined {
  const takes: AllowanceTake[] = [];
  if (item.kind === 'NON_CONSUMABLE') takes.push({ kind: 'OWNED', key: `OWNED:${item.sku}`, quantity: 1, limit: 1 });
  const { perUserLifetime, perUserDaily } = item.limits ?? {};
  if (perUserLifetime) takes.push({ kind: 'LIFETIME', key: `LIFETIME:${item.sku}`, quantity, limit: perUserLifetime });
  if (perUserDaily) takes.push({ kind: 'DAILY', key: `DAILY:${item.sku}:${day}`, quantity, limit: perUserDaily });
  const bonus = item.firstPurchaseBonus;
  if (bonus) takes.push({ kind: 'BONUS', key: `BONUS:${bonus.group ?? item.sku}`, quantity: 1, limit: 1 });
  if (takes.length === 0) return undefined;
  return { takes, ...(bonus && { bonusGrants: bonus.grants }) };
}

/** Why a take refused an order, as the order keeps it and the API tells it. */
export type AllowanceRefusal =
  | { reason: 'ALREADY_OWNED'; details: { ownedBy?: string } }
  | { reason: 'PURCHASE_LIMIT_REACHED'; details: { limit: 'DAILY' | 'LIFETIME'; allowed: number; used: number } };

/** The refusal of `take`, given what the counter holds now (its used units, its last order). */
export function refusalOf(take: AllowanceTake, counter: { used: number; orderId?: string } | undefined): AllowanceRefusal {
  if (take.kind === 'OWNED') return { reason: 'ALREADY_OWNED', details: { ownedBy: counter?.orderId } };
  return { reason: 'PURCHASE_LIMIT_REACHED', details: { limit: take.kind === 'DAILY' ? 'DAILY' : 'LIFETIME', allowed: take.limit, used: counter?.used ?? 0 } };
}
