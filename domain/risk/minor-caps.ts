import type { Money } from '../money';

/**
 * Minors' spending caps: per region, per age band, what one purchase may cost and what a month's
 * pending and paid orders may add up to (minor units of the region's currency). The month is the
 * calendar month in the game's time zone (domain/game-day.ts gameMonth). Pure: the counter that
 * holds a month's spending lives in store/ (one atomic conditional step per order).
 */

export const AGE_BANDS = ['UNDER_8', '8_TO_15', '16_TO_17', 'ADULT'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];
export const MINOR_BANDS = ['UNDER_8', '8_TO_15', '16_TO_17'] as const;
export type MinorBand = (typeof MINOR_BANDS)[number];

export interface BandCap {
  perPurchase: number;
  monthly: number;
}

export interface RegionCaps {
  currency: string;
  bands: Partial<Record<MinorBand, BandCap>>;
}

/** Built in for CN (an operator's caps of a region replace these): under 8 nothing; 8–15 ¥50 / ¥200 a month; 16–17 ¥100 / ¥400. */
export const BUILT_IN_MINOR_CAPS: Readonly<Record<string, RegionCaps>> = {
  CN: {
    currency: 'CNY',
    bands: {
      UNDER_8: { perPurchase: 0, monthly: 0 },
      '8_TO_15': { perPurchase: 5_000, monthly: 20_000 },
      '16_TO_17': { perPurchase: 10_000, monthly: 40_000 },
    },
  },
};

/** The refusal code and reason of an order over a cap (403 MINOR_SPENDING_LIMIT, stored REJECTED). */
export const MINOR_SPENDING_LIMIT = 'MINOR_SPENDING_LIMIT';

export const isMinor = (band: AgeBand | undefined): band is MinorBand => band !== undefined && band !== 'ADULT';

/** The cap an order of this band in this region is held to, or undefined (an adult, or a region or band without caps). */
export function capFor(band: AgeBand | undefined, region: string, stored: RegionCaps | undefined): (BandCap & { currency: string }) | undefined {
  if (!isMinor(band)) return undefined;
  const caps = stored ?? BUILT_IN_MINOR_CAPS[region];
  const cap = caps?.bands[band];
  return cap && { ...cap, currency: caps.currency };
}

export interface CapRefusal {
  cap: 'PER_PURCHASE' | 'MONTHLY' | 'NO_PURCHASES';
  limit: number;
  /** What the user's month held before this order. */
  used: number;
}

/**
 * The most the month's counter may reach with this order, or -1 when no month could take it (the
 * store takes the hold only while `used + amount` stays within it).
 */
export function monthlyCeiling(cap: BandCap & { currency: string }, amount: Money): number {
  if (cap.monthly === 0 || cap.perPurchase === 0) return -1;
  // An order in another currency cannot be weighed against the cap: refused as over the purchase cap.
  if (amount.currency !== cap.currency || amount.value > cap.perPurchase) return -1;
  return cap.monthly;
}

/** Why an order was not held (its month's counter refused it), from the cap and what the month held. */
export function capRefusal(cap: BandCap & { currency: string }, amount: Money, used: number): CapRefusal {
  if (cap.monthly === 0 || cap.perPurchase === 0) return { cap: 'NO_PURCHASES', limit: 0, used };
  if (amount.currency !== cap.currency || amount.value > cap.perPurchase) return { cap: 'PER_PURCHASE', limit: cap.perPurchase, used };
  return { cap: 'MONTHLY', limit: cap.monthly, used };
}
