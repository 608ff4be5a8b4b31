import fc from 'fast-check';
import {
  DIFFERENCE_KINDS,
  FINDING_REASONS as R,
  classify,
  isResolvable,
  recheckHeld,
  REPAIRS,
  type Fact,
  type LineOrder,
} from '../../../domain/reconciliation/differences';

const order = (o: Partial<LineOrder> = {}): LineOrder => ({ sameChannel: true, paid: false, refunded: false, matchedByAnotherLine: false, ...o });
const kinds = (fact: Fact) => classify(fact).map((f) => `${f.kind}/${f.reason}/${f.resolution}`);

describe('classifying what did not match', () => {
  it('a statement payment without a paid order of ours is missing in the platform; an unpaid order is repaired', () => {
    expect(kinds({ type: 'LINE_UNMATCHED', side: 'PAYMENT' })).toEqual([`MISSING_IN_PLATFORM/${R.noOrder}/OPEN`]);
    expect(kinds({ type: 'LINE_UNMATCHED', side: 'PAYMENT', order: order() })).toEqual([`MISSING_IN_PLATFORM/${R.orderUnpaid}/OPEN`]);
    expect(kinds({ type: 'LINE_UNMATCHED', side: 'PAYMENT', order: order({ sameChannel: false }) })).toEqual([
      `MISSING_IN_PLATFORM/${R.orderOfOtherChannel}/OPEN`,
    ]);
    expect(kinds({ type: 'LINE_UNMATCHED', side: 'PAYMENT', order: order({ paid: true, matchedByAnotherLine: true }) })).toEqual([
      `MISSING_IN_PLATFORM/${R.listedTwice}/OPEN`,
    ]);
    expect(kinds({ type: 'LINE_UNMATCHED', side: 'PAYMENT', order: order({ paid: true }) })).toEqual([`CROSS_DAY/${R.bookedOnFarDay}/OPEN`]);
  });

  it('a statement refund of an order we kept is a status mismatch', () => {
    expect(kinds({ type: 'LINE_UNMATCHED', side: 'REFUND', order: order({ paid: true }) })).toEqual([`STATUS_MISMATCH/${R.orderNotRefunded}/OPEN`]);
    expect(kinds({ type: 'LINE_UNMATCHED', side: 'REFUND', order: order({ paid: true, refunded: true }) })).toEqual([
      `CROSS_DAY/${R.bookedOnFarDay}/OPEN`,
    ]);
    expect(kinds({ type: 'LINE_UNMATCHED', side: 'REFUND' })).toEqual([`MISSING_IN_PLATFORM/${R.noOrder}/OPEN`]);
  });

  it('a pair that differs in amount and fee gives both; a currency difference outranks the amount', () => {
    const pair = { type: 'PAIR_DIFFERS', side: 'PAYMENT', currencyDiffers: false, amountDiffers: true, feeDiffers: true } as const;
    expect(kinds(pair)).toEqual([`AMOUNT_MISMATCH/${R.amountDiffers}/OPEN`, `FEE_MISMATCH/${R.feeDiffers}/OPEN`]);
    expect(kinds({ ...pair, currencyDiffers: true, feeDiffers: false })).toEqual([`AMOUNT_MISMATCH/${R.currencyDiffers}/OPEN`]);
    expect(kinds({ ...pair, amountDiffers: false, feeDiffers: false })).toEqual([]);
  });

  it('holds a payment of ours missing from its day until the next day is read, then decides', () => {
    const unlisted = (listedOn?: 'PREVIOUS_DAY' | 'NEXT_DAY', nextDayStaged = false): Fact => ({
      type: 'OURS_UNLISTED',
      side: 'PAYMENT',
      ...(listedOn && { listedOn }),
      nextDayStaged,
    });
    expect(kinds(unlisted())).toEqual([`CROSS_DAY/${R.awaitingNextDay}/HELD_CROSS_DAY`]);
    expect(kinds(unlisted(undefined, true))).toEqual([`MISSING_IN_CHANNEL/${R.notListed}/OPEN`]);
    expect(kinds(unlisted('NEXT_DAY', true))).toEqual([`CROSS_DAY/${R.listedNextDay}/AUTO_REPAIRED`]);
    expect(kinds(unlisted('PREVIOUS_DAY'))).toEqual([`CROSS_DAY/${R.listedPreviousDay}/AUTO_REPAIRED`]);
    expect(recheckHeld(true)).toEqual({ kind: 'CROSS_DAY', reason: R.listedNextDay, resolution: 'AUTO_REPAIRED' });
    expect(recheckHeld(false)).toEqual({ kind: 'MISSING_IN_CHANNEL', reason: R.notListed, resolution: 'OPEN' });
  });

  it('three-way: a delivery without a grant, a grant without a paid delivery', () => {
    expect(kinds({ type: 'DELIVERED_NOT_GRANTED' })).toEqual([`PAID_NOT_GRANTED/${R.noGrant}/OPEN`]);
    expect(kinds({ type: 'GRANT_UNMATCHED' })).toEqual([`GRANTED_NOT_PAID/${R.noOrder}/OPEN`]);
    expect(kinds({ type: 'GRANT_UNMATCHED', order: { sameGame: false, delivered: true } })).toEqual([`GRANTED_NOT_PAID/${R.orderOfOtherGame}/OPEN`]);
    expect(kinds({ type: 'GRANT_UNMATCHED', order: { sameGame: true, delivered: false } })).toEqual([`GRANTED_NOT_PAID/${R.orderNotDelivered}/OPEN`]);
    expect(kinds({ type: 'GRANT_UNMATCHED', order: { sameGame: true, delivered: true } })).toEqual([]);
  });

  it('repairs only payments of unpaid orders (told to the order) and money without an order (booked to suspense)', () => {
    expect(REPAIRS).toEqual({
      NOTIFY_ORDER: { kind: 'MISSING_IN_PLATFORM', reason: R.orderUnpaid, side: 'PAYMENT' },
      BOOK_UNPLACED: { kind: 'MISSING_IN_PLATFORM', reason: R.noOrder, side: 'PAYMENT' },
    });
  });

  it('classifies every possible fact into known kinds, open unless settled by the rules themselves', () => {
    const fact: fc.Arbitrary<Fact> = fc.oneof(
      fc.record({
        type: fc.constant('LINE_UNMATCHED' as const),
        side: fc.constantFrom('PAYMENT' as const, 'REFUND' as const),
        order: fc.option(fc.record({ sameChannel: fc.boolean(), paid: fc.boolean(), refunded: fc.boolean(), matchedByAnotherLine: fc.boolean() }), {
          nil: undefined,
        }),
      }),
      fc.record({
        type: fc.constant('PAIR_DIFFERS' as const),
        side: fc.constantFrom('PAYMENT' as const, 'REFUND' as const),
        currencyDiffers: fc.boolean(),
        amountDiffers: fc.boolean(),
        feeDiffers: fc.boolean(),
      }),
      fc.record({
        type: fc.constant('OURS_UNLISTED' as const),
        side: fc.constantFrom('PAYMENT' as const, 'REFUND' as const),
        listedOn: fc.constantFrom(undefined, 'PREVIOUS_DAY' as const, 'NEXT_DAY' as const),
        nextDayStaged: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(fact, (f) => {
        for (const finding of classify(f)) {
          expect(DIFFERENCE_KINDS).toContain(finding.kind);
          expect(finding.resolution === 'OPEN' || finding.kind === 'CROSS_DAY').toBe(true);
          expect(isResolvable(finding.resolution)).toBe(finding.resolution !== 'AUTO_REPAIRED');
        }
      }),
    );
  });
});
