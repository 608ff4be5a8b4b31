import { multiply, type Money } from '../money';

export interface RegionalPrice {
  region: string;
  currency: string;
  amount: number;
}

/** The wildcard region prices every region without a price of its own. */
export const ANY_REGION = '*';

export function priceFor(prices: readonly RegionalPrice[], region: string): Money | undefined {
  const match = prices.find((p) => p.region === region) ?? prices.find((p) => p.region === ANY_REGION);
  return match ? { currency: match.currency, value: match.amount } : undefined;
}

export function orderAmount(prices: readonly RegionalPrice[], region: string, quantity: number): Money | undefined {
  const unit = priceFor(prices, region);
  return unit && multiply(unit, quantity);
}

export interface Grant {
  itemId: string;
  quantity: number;
}

/** What the player receives for `quantity` units of an item. */
export function grantsFor(perUnit: readonly Grant[], quantity: number): Grant[] {
  return perUnit.map((g) => ({ itemId: g.itemId, quantity: g.quantity * quantity }));
}
