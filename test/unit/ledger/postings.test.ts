import fc from 'fast-check';
import { ACCOUNT_KINDS, accountName, parseAccount } from '../../../domain/ledger/accounts';
import {
  LEDGER_EVENT_KINDS,
  MONEY_STAGES,
  isBalanced,
  isReversal,
  legOf,
  netByCurrency,
  postingsFor,
  type LedgerEvent,
} from '../../../domain/ledger/events';

const ownerId = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._:-]{0,30}$/);
const currency = fc.constantFrom('CNY', 'USD', 'JPY', 'KWD');
const amount = fc.integer({ min: -2_000_000_000, max: 2_000_000_000 });
const event: fc.Arbitrary<LedgerEvent> = fc.record({
  kind: fc.constantFrom(...LEDGER_EVENT_KINDS),
  amount: fc.record({ currency, value: amount }),
  channel: ownerId,
  gameId: ownerId,
  stage: fc.constantFrom(...MONEY_STAGES),
});

describe('ledger postings', () => {
  it('balance for every event, amount and owner (debits = credits per currency)', () => {
    fc.assert(
      fc.property(event, (e) => {
        const postings = postingsFor(e);
        expect(isBalanced(postings)).toBe(true);
        expect(postings.every((p) => p.currency === e.amount.currency)).toBe(true);
        expect(postings).toHaveLength(e.amount.value === 0 ? 0 : 2);
      }),
    );
  });

  it('balance for any sequence of events in several currencies, and per currency', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 50 }), (events) => {
        const all = events.flatMap(postingsFor);
        for (const net of netByCurrency(all).values()) expect(net).toBe(0);
      }),
    );
  });

  it('moves a payment through the stages of an order and back to zero owed', () => {
    const owners = { channel: 'sandbox', gameId: 'demo-game' };
    const paid = { currency: 'CNY', value: 600 };
    const flows: LedgerEvent[][] = [
      // paid exactly, delivered
      [{ kind: 'PAYMENT_CAPTURED', amount: paid, ...owners }, { kind: 'GOODS_DELIVERED', amount: paid, ...owners }],
      // paid exactly, refunded after the delivery deadline
      [{ kind: 'PAYMENT_CAPTURED', amount: paid, ...owners }, { kind: 'REFUND', stage: 'DEFERRED', amount: paid, ...owners }],
      // held for review, released, delivered
      [
        { kind: 'PAYMENT_HELD', amount: paid, ...owners },
        { kind: 'REVIEW_RELEASED', amount: paid, ...owners },
        { kind: 'GOODS_DELIVERED', amount: paid, ...owners },
      ],
      // late payment for a closed order, refunded
      [{ kind: 'LATE_PAYMENT_RECEIVED', amount: paid, ...owners }, { kind: 'REFUND', stage: 'SUSPENSE', amount: paid, ...owners }],
      // delivered, then charged back
      [
        { kind: 'PAYMENT_CAPTURED', amount: paid, ...owners },
        { kind: 'GOODS_DELIVERED', amount: paid, ...owners },
        { kind: 'CHARGEBACK', stage: 'EARNED', amount: paid, ...owners },
      ],
    ];
    const balances = flows.map((events) => {
      const byAccount = new Map<string, number>();
      for (const p of events.flatMap(postingsFor)) byAccount.set(p.account, (byAccount.get(p.account) ?? 0) + p.amount);
      return Object.fromEntries([...byAccount].filter(([, v]) => v !== 0));
    });
    expect(balances).toEqual([
      { 'channel_clearing:sandbox': 600, 'revenue:demo-game': -600 },
      {},
      { 'channel_clearing:sandbox': 600, 'revenue:demo-game': -600 },
      {},
      { 'revenue:demo-game': -600, 'chargebacks:demo-game': 600 },
    ]);
  });

  it('takes a reversal from where the money sat, and returns it to the channel clearing account', () => {
    for (const kind of LEDGER_EVENT_KINDS.filter(isReversal)) {
      expect(legOf(kind, 'DEFERRED')).toEqual({ debit: 'deferred_revenue', credit: 'channel_clearing' });
      expect(legOf(kind, 'SUSPENSE')).toEqual({ debit: 'suspense', credit: 'channel_clearing' });
      expect(() => legOf(kind)).toThrow(/stage/);
    }
    expect(legOf('REFUND', 'EARNED').debit).toBe('refunds');
    expect(legOf('CHANNEL_REFUND', 'EARNED').debit).toBe('refunds');
    expect(legOf('CHARGEBACK', 'EARNED').debit).toBe('chargebacks');
  });

  it('writes a negative amount as the same move backwards, and nothing for zero', () => {
    const fee = postingsFor({ kind: 'CHANNEL_FEE', amount: { currency: 'CNY', value: -4 }, channel: 'sandbox' });
    expect(fee).toEqual([
      { account: 'channel_fees:sandbox', currency: 'CNY', amount: -4 },
      { account: 'channel_clearing:sandbox', currency: 'CNY', amount: 4 },
    ]);
    expect(postingsFor({ kind: 'CHANNEL_FEE', amount: { currency: 'CNY', value: 0 }, channel: 'sandbox' })).toEqual([]);
    expect(() => postingsFor({ kind: 'CHANNEL_FEE', amount: { currency: 'CNY', value: 0.5 }, channel: 'sandbox' })).toThrow(RangeError);
  });
});

describe('account names', () => {
  it('round-trip through parseAccount for every kind', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ACCOUNT_KINDS), ownerId, (kind, owner) => {
        const name = accountName(kind, { channel: owner, gameId: owner });
        expect(parseAccount(name)).toEqual(kind === 'suspense' ? { kind } : { kind, owner });
      }),
    );
  });

  it('name nothing for unknown kinds, missing owners or owners that are not identifiers', () => {
    for (const name of ['', 'cash:x', 'revenue', 'revenue:', 'revenue:.hidden', 'suspense:x', 'revenue:a b', 'revenue:a\u0000']) {
      expect(parseAccount(name)).toBeUndefined();
    }
    expect(() => accountName('revenue', { channel: 'sandbox' })).toThrow(/game/);
  });
});
