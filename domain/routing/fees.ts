import type { Money } from '../money';
import type { RoutingFields } from './fields';

const BASIS_POINTS = 10_000;

/**
 * What an account charges for one payment, in the order's minor units: the percentage part rounded
 * half up to the minor unit (integer arithmetic: floor((amount × bps + 5000) / 10000)), plus the
 * fixed fee when it is in the order's currency (an account with a fixed fee takes no other currency).
 */
export function channelFee(amount: Money, routing: Pick<RoutingFields, 'feeRateBps' | 'fixedFee'>): number {
  const percentage = Math.floor((amount.value * routing.feeRateBps + BASIS_POINTS / 2) / BASIS_POINTS);
  const fixed = routing.fixedFee && routing.fixedFee.currency === amount.currency ? routing.fixedFee.value : 0;
  return percentage + fixed;
}

/** `share` in basis points of `amount`, as a fraction of a minor unit (an expectation, never charged). */
export function expectedShare(amount: Money, bps: number, probability: number): number {
  return (amount.value * bps * probability) / BASIS_POINTS;
}
