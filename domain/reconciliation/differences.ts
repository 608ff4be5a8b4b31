/**
 * What a reconciliation run can find, and how each finding is classified and settled. The matching
 * itself is set-based SQL (store/reconciliation.ts): it pairs statement lines with our payments and
 * refunds and hands over only what did not pair cleanly, as facts; these rules decide what each one is.
 */
export const DIFFERENCE_KINDS = [
  /** The channel took (or returned) money we have no matching payment (or refund) for. */
  'MISSING_IN_PLATFORM',
  /** We have a payment or refund the channel's statements do not list (after the next day's check). */
  'MISSING_IN_CHANNEL',
  'AMOUNT_MISMATCH',
  /** The channel reports another state: it returned money for an order we kept. */
  'STATUS_MISMATCH',
  /** The fee differs from the channel account's fee terms in force at the line's time. */
  'FEE_MISMATCH',
  /** A payment of ours listed on a neighbouring statement day (channels cut their days at their own time). */
  'CROSS_DAY',
  /** Three-way: we delivered, the game's grant log (for that day) has no grant. */
  'PAID_NOT_GRANTED',
  /** Three-way: the game granted goods for an order that is not paid and delivered. */
  'GRANTED_NOT_PAID',
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

export const RESOLUTIONS = ['AUTO_REPAIRED', 'OPEN', 'HELD_CROSS_DAY', 'RESOLVED'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** What the run does about a finding by itself; everything else is left to finance. */
export type RepairAction =
  /** Tell the order's workflow of the payment, as a late notification would (it ends delivered or refunded). */
  | 'NOTIFY_ORDER'
  /** Book money no order explains into suspense (the channel holds it; the books must say so). */
  | 'BOOK_UNPLACED';

export type Side = 'PAYMENT' | 'REFUND' | 'GRANT';

/** Why a finding was classified so; stored beside it. */
export const FINDING_REASONS = {
  noOrder: 'NO_ORDER',
  orderUnpaid: 'ORDER_UNPAID',
  orderOfOtherChannel: 'ORDER_OF_OTHER_CHANNEL',
  listedTwice: 'LISTED_TWICE',
  bookedOnFarDay: 'BOOKED_ON_OTHER_DAY',
  orderNotRefunded: 'ORDER_NOT_REFUNDED',
  amountDiffers: 'AMOUNT_DIFFERS',
  currencyDiffers: 'CURRENCY_DIFFERS',
  feeDiffers: 'FEE_DIFFERS',
  listedPreviousDay: 'LISTED_ON_PREVIOUS_DAY',
  listedNextDay: 'LISTED_ON_NEXT_DAY',
  awaitingNextDay: 'AWAITING_NEXT_DAY',
  notListed: 'NOT_LISTED',
  noGrant: 'NO_GRANT',
  orderNotDelivered: 'ORDER_NOT_DELIVERED',
  orderOfOtherGame: 'ORDER_OF_OTHER_GAME',
} as const;

/** What the order named by a statement line looks like in our books (absent: no such order). */
export interface LineOrder {
  sameChannel: boolean;
  paid: boolean;
  refunded: boolean;
  /** Another line of this statement already matched it. */
  matchedByAnotherLine: boolean;
}

/** The facts the matching SQL hands over for each line, pair or payment that did not match cleanly. */
export type Fact =
  | { type: 'LINE_UNMATCHED'; side: 'PAYMENT' | 'REFUND'; order?: LineOrder }
  /** A line and our payment (refund) that paired, but whose amount, currency or fee differ (fee: the account's terms by routing/fees.ts channelFee). */
  | { type: 'PAIR_DIFFERS'; side: 'PAYMENT' | 'REFUND'; currencyDiffers: boolean; amountDiffers: boolean; feeDiffers: boolean }
  | { type: 'OURS_UNLISTED'; side: 'PAYMENT' | 'REFUND'; listedOn?: 'PREVIOUS_DAY' | 'NEXT_DAY'; nextDayStaged: boolean }
  | { type: 'DELIVERED_NOT_GRANTED' }
  | { type: 'GRANT_UNMATCHED'; order?: { sameGame: boolean; delivered: boolean } };

export interface Finding {
  kind: DifferenceKind;
  reason: string;
  resolution: Resolution;
}

const open = (kind: DifferenceKind, reason: string): Finding => ({ kind, reason, resolution: 'OPEN' });

/** Classifies one fact; a pair that differs in amount and fee gives two findings, a clean one none. */
export function classify(fact: Fact): Finding[] {
  const R = FINDING_REASONS;
  switch (fact.type) {
    case 'LINE_UNMATCHED': {
      const order = fact.order;
      if (fact.side === 'REFUND') {
        if (!order || !order.sameChannel) return [open('MISSING_IN_PLATFORM', order ? R.orderOfOtherChannel : R.noOrder)];
        // We refunded it, on a day too far away to pair: the dates disagree.
        if (order.refunded) return [open('CROSS_DAY', R.bookedOnFarDay)];
        return [open('STATUS_MISMATCH', order.paid ? R.orderNotRefunded : R.orderUnpaid)];
      }
      if (!order) return [open('MISSING_IN_PLATFORM', R.noOrder)];
      if (!order.sameChannel) return [open('MISSING_IN_PLATFORM', R.orderOfOtherChannel)];
      if (order.matchedByAnotherLine) return [open('MISSING_IN_PLATFORM', R.listedTwice)];
      // The channel took the money of an order we never saw paid: tell it, as a late notification would.
      if (!order.paid) return [open('MISSING_IN_PLATFORM', R.orderUnpaid)];
      return [open('CROSS_DAY', R.bookedOnFarDay)];
    }
    case 'PAIR_DIFFERS': {
      const findings: Finding[] = [];
      if (fact.currencyDiffers) findings.push(open('AMOUNT_MISMATCH', R.currencyDiffers));
      else if (fact.amountDiffers) findings.push(open('AMOUNT_MISMATCH', R.amountDiffers));
      if (fact.feeDiffers) findings.push(open('FEE_MISMATCH', R.feeDiffers));
      return findings;
    }
    case 'OURS_UNLISTED':
      return [unlisted(fact.listedOn, fact.nextDayStaged)];
    case 'DELIVERED_NOT_GRANTED':
      return [open('PAID_NOT_GRANTED', R.noGrant)];
    case 'GRANT_UNMATCHED': {
      if (!fact.order) return [open('GRANTED_NOT_PAID', R.noOrder)];
      if (!fact.order.sameGame) return [open('GRANTED_NOT_PAID', R.orderOfOtherGame)];
      if (!fact.order.delivered) return [open('GRANTED_NOT_PAID', R.orderNotDelivered)];
      return [];
    }
  }
}

/**
 * A payment or refund of ours its day's statement does not list. Found on a neighbouring day: a
 * cross-day difference, settled by itself. Not found: held until the next day's statement has been
 * read, and only then missing in the channel.
 */
function unlisted(listedOn: 'PREVIOUS_DAY' | 'NEXT_DAY' | undefined, nextDayStaged: boolean): Finding {
  const R = FINDING_REASONS;
  if (listedOn) return { kind: 'CROSS_DAY', reason: listedOn === 'NEXT_DAY' ? R.listedNextDay : R.listedPreviousDay, resolution: 'AUTO_REPAIRED' };
  if (!nextDayStaged) return { kind: 'CROSS_DAY', reason: R.awaitingNextDay, resolution: 'HELD_CROSS_DAY' };
  return open('MISSING_IN_CHANNEL', R.notListed);
}

/**
 * What a run repairs by itself, and which findings each repair takes: a payment of an order we never
 * saw paid (its workflow is told, as a late notification would tell it), and money no order explains
 * (booked into suspense, left open). The one table the run's queries read.
 */
export const REPAIRS: Readonly<Record<RepairAction, { kind: DifferenceKind; reason: string; side: Side }>> = {
  NOTIFY_ORDER: { kind: 'MISSING_IN_PLATFORM', reason: FINDING_REASONS.orderUnpaid, side: 'PAYMENT' },
  BOOK_UNPLACED: { kind: 'MISSING_IN_PLATFORM', reason: FINDING_REASONS.noOrder, side: 'PAYMENT' },
};

/** A held difference, rechecked once the next day's statement is read. */
export function recheckHeld(listedNextDay: boolean): Finding {
  return unlisted(listedNextDay ? 'NEXT_DAY' : undefined, true);
}

/** Only what is still open or held can be resolved by a person. */
export const isResolvable = (resolution: Resolution) => resolution === 'OPEN' || resolution === 'HELD_CROSS_DAY';
