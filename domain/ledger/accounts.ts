/**
 * The chart of accounts. Every account is kept per currency (a posting carries its currency), and
 * named `<kind>:<owner>`: a channel account's, a game's, or — for suspense — the platform's only one.
 * Balances follow the debit-positive convention: assets and expenses grow with debits, liabilities
 * and income with credits (negative balances).
 */
export const ACCOUNT_KINDS = [
  /** Asset: money a channel holds for us (captured, not yet paid out or returned). */
  'channel_clearing',
  /** Expense: what the channel kept as its fee. */
  'channel_fees',
  /** Asset: money the channel paid out to our bank account. */
  'settlement',
  /** Liability: paid for, goods not delivered yet. */
  'deferred_revenue',
  /** Income: paid and delivered. */
  'revenue',
  /** Contra-income: delivered orders whose money went back (refunds after delivery). */
  'refunds',
  /** Contra-income: delivered orders the payer disputed and won. */
  'chargebacks',
  /** Money nobody can place yet: received for a closed order, a paid amount that differs, money without an order. */
  'suspense',
] as const;
export type AccountKind = (typeof ACCOUNT_KINDS)[number];

export type AccountOwner = 'channel' | 'game' | 'platform';

/** Whose account each kind is: one per channel account, one per game, or a single platform account. */
export const ACCOUNT_OWNER: Record<AccountKind, AccountOwner> = {
  channel_clearing: 'channel',
  channel_fees: 'channel',
  settlement: 'channel',
  deferred_revenue: 'game',
  revenue: 'game',
  refunds: 'game',
  chargebacks: 'game',
  suspense: 'platform',
};

export interface AccountOwners {
  channel?: string;
  gameId?: string;
}

export class UnknownOwnerError extends Error {}

/** `channel_clearing:sandbox`, `revenue:demo-game`, `suspense`. */
export function accountName(kind: AccountKind, owners: AccountOwners): string {
  const owner = ACCOUNT_OWNER[kind];
  if (owner === 'platform') return kind;
  const id = owner === 'channel' ? owners.channel : owners.gameId;
  if (!id) throw new UnknownOwnerError(`${kind} needs a ${owner} id`);
  return `${kind}:${id}`;
}

/** Owner ids as our identifiers are: letters, digits and `._:-` (see the API's slug). */
const OWNER_ID = /^[A-Za-z0-9_][A-Za-z0-9._:-]{0,127}$/;

/** The kind and owner an account name stands for, or undefined when it names no account. */
export function parseAccount(name: string): { kind: AccountKind; owner?: string } | undefined {
  if (name === 'suspense') return { kind: 'suspense' };
  const colon = name.indexOf(':');
  if (colon < 0) return undefined;
  const kind = name.slice(0, colon) as AccountKind;
  const owner = name.slice(colon + 1);
  if (!ACCOUNT_KINDS.includes(kind) || ACCOUNT_OWNER[kind] === 'platform' || !OWNER_ID.test(owner)) return undefined;
  return { kind, owner };
}
