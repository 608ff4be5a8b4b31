import type { Money } from '../money';
import type { RoutingFields } from './fields';

const BASIS_POINTS = 10_000;

/** What an account charges: its routing fields' percentage in basis points and fixed fee per payment. */
export type FeeTerms = Pick<RoutingFields, 'feeRateBps' | 'fixedFee'>;

/**
 * What an account charges for one payment (and returns with a refund of it), in the amount's minor
 * units: the percentage part rounded half up to the minor unit (integer arithmetic:
 * floor((amount × bps + 5000) / 10000)), plus the fixed fee when it is in the amount's currency (an
 * account with a fixed fee takes no other currency). The one fee rule: routing ranks accounts by it,
 * reconciliation judges statement fees by it, and store/fees.ts is its SQL twin.
 */
export function channelFee(amount: Money, terms: FeeTerms): number {
  if (!Number.isSafeInteger(amount.value) || amount.value < 0) throw new RangeError(`${amount.value} is not an amount in minor units`);
  if (!Number.isInteger(terms.feeRateBps) || terms.feeRateBps < 0 || terms.feeRateBps > BASIS_POINTS) {
    throw new RangeError(`${terms.feeRateBps} is not a rate in basis points`);
  }
  // BigInt: exact for every safe amount (amount × bps can pass 2^53).
  const percentage = Number((BigInt(amount.value) * BigInt(terms.feeRateBps) + BigInt(BASIS_POINTS / 2)) / BigInt(BASIS_POINTS));
  const fixed = terms.fixedFee && terms.fixedFee.currency === amount.currency ? terms.fixedFee.value : 0;
  return percentage + fixed;
}

/** `share` in basis points of `amount`, as a fraction of a minor unit (an expectation, never charged). */
export function expectedShare(amount: Money, bps: number, probability: number): number {
  return (amount.value * bps * probability) / BASIS_POINTS;
}
