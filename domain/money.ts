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

/** An order would carry more than MAX_ORDER_AMOUNT minor units. */
export class AmountTooLargeError extends RangeError {}

export function multiply(unit: Money, quantity: number): Money {
  const value = unit.value * quantity;
  if (!Number.isSafeInteger(value) || value > MAX_ORDER_AMOUNT) {
    throw new AmountTooLargeError(`${unit.value} x ${quantity} ${unit.currency} exceeds the order limit of ${MAX_ORDER_AMOUNT} minor units`);
  }
  return { currency: unit.currency, value };
}
