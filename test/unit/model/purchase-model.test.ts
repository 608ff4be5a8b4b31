import { REQUIRED_OUTCOMES, allSetups, canSend, initialState, outcomeInAnyOrder, searchOutcomes, step, type ModelState, type Setup } from '../../model/purchase-model';

/**
 * The model of test/model/ on its own: a search of its graph from a fresh order reaches every outcome
 * the model-based tests must cover, and the model never lets an order repeat a status.
 */
describe('the purchase model', () => {
  const found = searchOutcomes(allSetups());

  it.each(REQUIRED_OUTCOMES)('reaches %s from a new order', (outcome) => {
    const path = found.get(outcome);
    expect(path).toBeDefined();
    // Replaying the found path through step() ends in that outcome.
    let states: ModelState[] = [initialState];
    for (const event of path!.events) {
      states = states.filter((s) => canSend(path!.setup, s, event)).flatMap((s) => step(path!.setup, s, event).next);
    }
    expect(states.length).toBeGreaterThan(0);
  });

  it('never settles an order in a status it had, along any path of six events', () => {
    for (const setup of allSetups()) {
      let frontier: { state: ModelState; seen: string[] }[] = [{ state: initialState, seen: [] }];
      for (let depth = 0; depth < 6; depth++) {
        frontier = frontier.flatMap(({ state, seen }) =>
          [{ kind: 'CREATE' as const }, { kind: 'PAY' as const, payment: 'EXACT' as const, duplicate: false }, { kind: 'DEADLINE' as const }, { kind: 'OPS' as const, action: 'REFUND' as const }]
            .filter((e) => canSend(setup, state, e))
            .flatMap((e) =>
              step(setup, state, e).next.map((next) => {
                const moved = next.status !== state.status;
                if (moved && next.status && seen.includes(next.status)) throw new Error(`${next.status} twice: ${seen.join(' → ')}`);
                return { state: next, seen: moved && next.status ? [...seen, next.status] : seen };
              }),
            ),
        );
      }
    }
  });

  const setup: Setup = allSetups().find((s) => s.risk === 'ALLOW' && s.inStock && s.channel === 'OPENS' && s.refundable && !s.queriesLostPayments)!;
  const open = step(setup, initialState, { kind: 'CREATE' }).next[0]!;

  it("closes an unpaid order at an operator's close, and refuses it for any other status", () => {
    expect(step(setup, open, { kind: 'OPS_CLOSE' }).next.map((s) => [s.status, s.reason])).toEqual([['CLOSED', 'CANCELLED_BY_GAME']]);
    const delivered = step(setup, open, { kind: 'PAY', payment: 'EXACT', duplicate: false }).next[0]!;
    expect(step(setup, delivered, { kind: 'OPS_CLOSE' })).toEqual({ next: [delivered], refusal: 'OPS_ACTION_NOT_ALLOWED' });
  });

  it('allows, for a burst, what any order of its events allows', () => {
    const burst = outcomeInAnyOrder(setup, open, [{ kind: 'PAY', payment: 'EXACT', duplicate: false }, { kind: 'CANCEL' }])!;
    // Paid first: delivered, the cancel refused; cancelled first: closed, the payment refunded as late.
    expect(burst.next.map((s) => `${s.status}:${s.reason ?? ''}`).sort()).toEqual(['DELIVERED:', 'REFUNDED:LATE_PAYMENT']);
    expect([...burst.refusals[1]!].sort()).toEqual(['ORDER_FINAL', undefined]);
    // A reversal makes no sense before the payment: that burst is not sent.
    expect(outcomeInAnyOrder(setup, open, [{ kind: 'PAY', payment: 'EXACT', duplicate: false }, { kind: 'REVERSAL', cause: 'CHARGEBACK' }])).toBeUndefined();
  });
});
