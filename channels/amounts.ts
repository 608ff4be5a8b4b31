import type { Money } from '../domain/money';

/**
 * Channel amounts to and from integer minor units, without floats: decimal strings ("6.00" yuan),
 * milliunits (Apple), micros (Google), with each currency's ISO 4217 exponent (JPY and KRW have none).
 */

/** ISO 4217 minor-unit exponents that differ from 2 (the rest have 2). */
const EXPONENTS: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0,
  VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

export class AmountError extends Error {}

export function currencyExponent(currency: string): number {
  if (!/^[A-Z]{3}$/.test(currency)) throw new AmountError(`not an ISO 4217 currency: ${currency}`);
  return EXPONENTS[currency] ?? 2;
}

/** "6.00" CNY → 600; "120" JPY → 120. More decimals than the currency has (non-zero) is an error. */
export function parseDecimal(value: string, currency: string): Money {
  const exponent = currencyExponent(currency);
  const match = /^(-?)(\d{1,15})(?:\.(\d{1,6}))?$/.exec(value.trim());
  if (!match) throw new AmountError(`not a decimal amount: ${JSON.stringify(value)}`);
  const [, sign, whole, fraction = ''] = match;
  const extra = fraction.slice(exponent);
  if (/[1-9]/.test(extra)) throw new AmountError(`${value} has more decimals than ${currency} allows`);
  const minor = BigInt(whole! + fraction.slice(0, exponent).padEnd(exponent, '0'));
  return { currency, value: checked((sign ? -minor : minor), value) };
}

/** 600 CNY → "6.00"; 120 JPY → "120". */
export function formatDecimal(money: Money): string {
  const exponent = currencyExponent(money.currency);
  const negative = money.value < 0;
  const digits = String(Math.abs(money.value)).padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? '-' : ''}${whole}${exponent ? `.${fraction}` : ''}`;
}

/** Apple's `price` is in milliunits of the major unit: 6000 CNY → 600 minor units; 120000 JPY → 120. */
export function fromMilliunits(milli: number, currency: string): Money {
  return scaleDown(BigInt(milli), 3, currency, `${milli} milliunits`);
}

/** Google's `priceAmountMicros`: 6000000 CNY → 600. */
export function fromMicros(micros: number | string, currency: string): Money {
  return scaleDown(BigInt(micros), 6, currency, `${micros} micros`);
}

function scaleDown(units: bigint, decimals: number, currency: string, what: string): Money {
  const exponent = currencyExponent(currency);
  const divisor = 10n ** BigInt(decimals - exponent);
  if (units % divisor !== 0n) throw new AmountError(`${what} is not a whole number of ${currency} minor units`);
  return { currency, value: checked(units / divisor, what) };
}

function checked(minor: bigint, what: string): number {
  if (minor > BigInt(Number.MAX_SAFE_INTEGER) || minor < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new AmountError(`${what} is out of range`);
  }
  return Number(minor);
}

/** ISO 4217 numeric codes some channels use (UnionPay `currencyCode`). */
export const NUMERIC_CURRENCIES: Record<string, string> = {
  '156': 'CNY', '344': 'HKD', '446': 'MOP', '840': 'USD', '392': 'JPY', '410': 'KRW', '978': 'EUR', '826': 'GBP',
  '702': 'SGD', '901': 'TWD',
};
