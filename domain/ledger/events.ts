import type { Money } from '../money';
import { accountName, type AccountKind, type AccountOwners } from './accounts';

/**
 * Business events and the balanced postings each one writes. Every event moves one amount from one
 * account to another (a debit and a credit of the same currency); a negative amount is the same
 * move backwards (a correction that gives back). Entries are never changed: a correction is a new
 * entry. Where the money of an order sits decides what a reversal takes it from (`MoneyStage`).
 */
export const LEDGER_EVENT_KINDS = [
  /** The channel took the exact amount of an order: we owe the goods. */
  'PAYMENT_CAPTURED',
  /**
   * The channel took a different amount (MANUAL_REVIEW): the money is received, but nobody can
   * place it until a person decides, so it waits in suspense rather than as revenue owed.
   */
  'PAYMENT_HELD',
  /** A person decided to deliver a held order: its money becomes owed goods. */
  'REVIEW_RELEASED',
  /** The game server took the goods: owed becomes earned. */
  'GOODS_DELIVERED',
  /** Money arrived for an order already closed: received, placed nowhere until it is refunded. */
  'LATE_PAYMENT_RECEIVED',
  /** We returned the money (delivery deadline, operator, late payment). */
  'REFUND',
  /** The channel returned money on its own (a store refund, a refund from the channel's console). */
  'CHANNEL_REFUND',
  /** The payer disputed the payment and the channel took the money back. */
  'CHARGEBACK',
  /** What the channel kept as its fee, as its statement states it (per statement day). */
  'CHANNEL_FEE',
  /** The channel paid money out to our bank account. */
  'SETTLEMENT',
  /** Reconciliation found money at the channel that our books cannot place (booked to suspense). */
  'RECON_ADJUSTMENT',
] as const;
export type LedgerEventKind = (typeof LEDGER_EVENT_KINDS)[number];

/** The kinds that return an order's money; they take it from wherever it sits. */
export const REVERSAL_KINDS = ['REFUND', 'CHANNEL_REFUND', 'CHARGEBACK'] as const satisfies readonly LedgerEventKind[];
export type ReversalKind = (typeof REVERSAL_KINDS)[number];

/** Where an order's money sits: held in suspense, owed as goods, or earned (delivered). */
export const MONEY_STAGES = ['SUSPENSE', 'DEFERRED', 'EARNED'] as const;
export type MoneyStage = (typeof MONEY_STAGES)[number];

export interface Leg {
  debit: AccountKind;
  credit: AccountKind;
}

const LEGS: Record<Exclude<LedgerEventKind, ReversalKind>, Leg> = {
  PAYMENT_CAPTURED: { debit: 'channel_clearing', credit: 'deferred_revenue' },
  PAYMENT_HELD: { debit: 'channel_clearing', credit: 'suspense' },
  REVIEW_RELEASED: { debit: 'suspense', credit: 'deferred_revenue' },
  GOODS_DELIVERED: { debit: 'deferred_revenue', credit: 'revenue' },
  LATE_PAYMENT_RECEIVED: { debit: 'channel_clearing', credit: 'suspense' },
  CHANNEL_FEE: { debit: 'channel_fees', credit: 'channel_clearing' },
  SETTLEMENT: { debit: 'settlement', credit: 'channel_clearing' },
  RECON_ADJUSTMENT: { debit: 'channel_clearing', credit: 'suspense' },
};

/** What a returned payment is taken from, by where its money sat. */
const REVERSED_FROM: Record<ReversalKind, Record<MoneyStage, AccountKind>> = {
  REFUND: { SUSPENSE: 'suspense', DEFERRED: 'deferred_revenue', EARNED: 'refunds' },
  CHANNEL_REFUND: { SUSPENSE: 'suspense', DEFERRED: 'deferred_revenue', EARNED: 'refunds' },
  CHARGEBACK: { SUSPENSE: 'suspense', DEFERRED: 'deferred_revenue', EARNED: 'chargebacks' },
};

export const isReversal = (kind: LedgerEventKind): kind is ReversalKind => (REVERSAL_KINDS as readonly string[]).includes(kind);

export class MissingStageError extends Error {}

/** The debit and credit account kinds of an event; a reversal needs the stage its money was in. */
export function legOf(kind: LedgerEventKind, stage?: MoneyStage): Leg {
  if (!isReversal(kind)) return LEGS[kind];
  if (!stage) throw new MissingStageError(`${kind} needs the stage of the money it returns`);
  return { debit: REVERSED_FROM[kind][stage], credit: 'channel_clearing' };
}

export interface LedgerEvent extends AccountOwners {
  kind: LedgerEventKind;
  amount: Money;
  stage?: MoneyStage;
}

/** One line of an entry: a debit (positive amount) or a credit (negative) of one account. */
export interface Posting {
  account: string;
  currency: string;
  amount: number;
}

/** The postings an event writes: empty for a zero amount (nothing moved, no entry). */
export function postingsFor(event: LedgerEvent): Posting[] {
  const { currency, value } = event.amount;
  if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not an amount in minor units`);
  if (value === 0) return [];
  const leg = legOf(event.kind, event.stage);
  return [
    { account: accountName(leg.debit, event), currency, amount: value },
    { account: accountName(leg.credit, event), currency, amount: -value },
  ];
}

/** Debits minus credits per currency. */
export function netByCurrency(postings: readonly Posting[]): Map<string, number> {
  const net = new Map<string, number>();
  for (const p of postings) net.set(p.currency, (net.get(p.currency) ?? 0) + p.amount);
  return net;
}

/** Debits equal credits in every currency. */
export function isBalanced(postings: readonly Posting[]): boolean {
  return [...netByCurrency(postings).values()].every((sum) => sum === 0);
}

/**
 * Event ids: each business event is written once, whoever records it and however often (the
 * journal's unique key). An order has at most one of each of its own events.
 */
export const ledgerEventId = {
  captured: (orderId: string) => `captured:${orderId}`,
  held: (orderId: string) => `held:${orderId}`,
  released: (orderId: string) => `released:${orderId}`,
  delivered: (orderId: string) => `delivered:${orderId}`,
  lateReceived: (orderId: string) => `late-received:${orderId}`,
  refunded: (orderId: string) => `refund:${orderId}`,
  /** `key`: the channel's own id of the event (its refund id, its dispute id or notification key). */
  channelRefund: (channel: string, key: string) => `channel-refund:${channel}:${key}`,
  chargeback: (channel: string, key: string) => `chargeback:${channel}:${key}`,
  /** The fees one reconciliation run books for its day (a rerun books only what changed). */
  fees: (runId: string, currency: string) => `fees:${runId}:${currency}`,
  /** Money in a channel's statement that no order of ours explains. */
  unplacedMoney: (channel: string, channelTradeNo: string) => `recon-adjustment:${channel}:${channelTradeNo}`,
} as const;
