import type { Grant } from './pricing';

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
