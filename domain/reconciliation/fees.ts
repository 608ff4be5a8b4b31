/**
 * Channel fees: what a statement line's fee should be at the channel account's contracted rate, in
 * basis points of the amount (60 = 0.60%), rounded half up to the minor unit, on every line (a
 * refund returns the fee of what it returns). Integers only, as the SQL that checks a whole
 * statement computes it: (amount * rate + 5000) / 10000, truncated.
 */
export function expectedFee(amountMinor: number, rateBasisPoints: number): number {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0) throw new RangeError(`${amountMinor} is not an amount in minor units`);
  if (!Number.isInteger(rateBasisPoints) || rateBasisPoints < 0 || rateBasisPoints > 10_000) {
    throw new RangeError(`${rateBasisPoints} is not a rate in basis points`);
  }
  return Number((BigInt(amountMinor) * BigInt(rateBasisPoints) + 5_000n) / 10_000n);
}

/**
 * Contracted fee rates by channel type, in basis points. The sandbox charges 0.60% (WeChat Pay's and
 * Alipay's standard rate for online merchants). A channel type without a rate here is not checked for
 * FEE_MISMATCH: its fees are still booked as its statements state them.
 */
export const FEE_RATES_BASIS_POINTS: Partial<Record<string, number>> = {
  sandbox: 60,
};
