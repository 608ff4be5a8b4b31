/** Money is integer minor units of an ISO 4217 currency; never a float. */
export interface Money {
  currency: string;
  value: number;
}

export const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/** Largest amount one order may carry; keeps every sum a safe integer in a 32-bit column. */
export const MAX_ORDER_AMOUNT = 2_000_000_000;

export function sameMoney(a: Money, b: Money): boolean {
  return a.currency === b.currency && a.value === b.value;
}

export function multiply(unit: Money, quantity: number): Money {
  const value = unit.value * quantity;
  if (!Number.isSafeInteger(value) || value > MAX_ORDER_AMOUNT) {
    throw new RangeError(`amount ${unit.value} x ${quantity} exceeds the order limit`);
  }
  return { currency: unit.currency, value };
}
