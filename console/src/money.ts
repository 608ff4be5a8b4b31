/** The currency's minor-unit digits as the browser knows them (ISO 4217): CNY 2, JPY 0, KWD 3. */
export function digitsOf(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** `{ currency: 'CNY', value: 1234 }` → `CNY 12.34`, by string arithmetic (never a float). */
export function formatMoney(m: { currency: string; value: number }): string {
  return `${m.currency} ${majorUnits(m.value, digitsOf(m.currency))}`;
}

export function majorUnits(minor: number, digits: number): string {
  const sign = minor < 0 ? '-' : '';
  const s = String(Math.abs(minor)).padStart(digits + 1, '0');
  return digits === 0 ? `${sign}${s}` : `${sign}${s.slice(0, -digits)}.${s.slice(-digits)}`;
}
