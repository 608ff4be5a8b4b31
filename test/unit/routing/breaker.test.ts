import fc from 'fast-check';
import {
  NEW_BREAKER,
  afterOutcome,
  claimProbe,
  stateAt,
  windowStart,
  type BreakerRecord,
  type BreakerSettings,
} from '../../../domain/routing/breaker';

const S: BreakerSettings = { windowMs: 10_000, minCalls: 10, failureRate: 0.5, consecutiveFailures: 5, cooldownMs: 5_000, halfOpenProbes: 2 };

/** One account's breaker under a fake clock, counting its window as a store does. */
class FakeAccount {
  record: BreakerRecord = { ...NEW_BREAKER };
  now = 1_000_000;
  private calls: { at: number; ok: boolean }[] = [];

  call(ok: boolean, count = 1) {
    for (let i = 0; i < count; i++) {
      this.calls.push({ at: this.now, ok });
      const since = windowStart(this.record, this.now, S);
      const inWindow = this.calls.filter((c) => c.at >= since);
      this.record = afterOutcome(this.record, ok, { calls: inWindow.length, failures: inWindow.filter((c) => !c.ok).length }, this.now, S);
    }
    return this;
  }

  tick(ms: number) {
    this.now += ms;
    return this;
  }

  probe() {
    const { granted, record } = claimProbe(this.record, this.now, S);
    this.record = record;
    return granted;
  }

  get state() {
    return stateAt(this.record, this.now, S);
  }
}

describe('the circuit breaker', () => {
  it('opens after N consecutive failures, whatever the window says', () => {
    const a = new FakeAccount().call(true, 100).call(false, 4);
    expect(a.state).toBe('CLOSED');
    a.call(false);
    expect(a.state).toBe('OPEN');
    expect(a.record.changedAt).toBe(a.now);
  });

  it('counts consecutive failures afresh after a success', () => {
    const a = new FakeAccount().call(false, 4).call(true).call(false, 4);
    expect(a.state).toBe('CLOSED');
  });

  it('opens when the failure rate over the window reaches the threshold with enough calls', () => {
    const a = new FakeAccount();
    for (let i = 0; i < 4; i++) a.call(true).call(false); // 4 of 8: too few calls to judge
    expect(a.state).toBe('CLOSED');
    a.call(true).call(false); // 5 of 10
    expect(a.state).toBe('OPEN');
  });

  it('forgets failures that left the window', () => {
    const a = new FakeAccount().call(true, 5).call(false, 4).call(true).call(false, 4);
    a.tick(S.windowMs + 1).call(true, 6).call(false, 4);
    expect(a.state).toBe('CLOSED'); // 4 of 10 in the window
  });

  it('stays open through its cool-down, then lets a few probes through', () => {
    const a = new FakeAccount().call(false, 5);
    a.tick(S.cooldownMs - 1);
    expect(a.state).toBe('OPEN');
    expect(a.probe()).toBe(false);
    a.call(true); // a call that started before it opened changes nothing while it cools down
    expect(a.state).toBe('OPEN');
    a.tick(1);
    expect(a.state).toBe('HALF_OPEN');
    expect([a.probe(), a.probe(), a.probe()]).toEqual([true, true, false]);
    expect(a.record.state).toBe('HALF_OPEN');
  });

  it('closes on a probe success, and its window starts afresh', () => {
    const a = new FakeAccount().call(true, 5).call(false, 5).tick(S.cooldownMs);
    expect(a.probe()).toBe(true);
    a.call(true);
    expect(a.state).toBe('CLOSED');
    // The five failures before it closed are not held against it: one more does not reopen it.
    a.call(false);
    expect(a.state).toBe('CLOSED');
  });

  it('reopens on a probe failure, for another cool-down', () => {
    const a = new FakeAccount().call(false, 5).tick(S.cooldownMs);
    expect(a.probe()).toBe(true);
    a.tick(100).call(false);
    expect(a.state).toBe('OPEN');
    expect(a.record.changedAt).toBe(a.now);
    a.tick(S.cooldownMs);
    expect(a.state).toBe('HALF_OPEN');
  });

  it('starts a new round of probes when the last ones never reported', () => {
    const a = new FakeAccount().call(false, 5).tick(S.cooldownMs);
    expect([a.probe(), a.probe(), a.probe()]).toEqual([true, true, false]);
    a.tick(S.cooldownMs);
    expect(a.probe()).toBe(true);
  });

  it('never opens on a success nor closes on a failure, and every change bumps the version', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ ok: fc.boolean(), gap: fc.integer({ min: 0, max: 3_000 }), probe: fc.boolean() }), { maxLength: 200 }), (steps) => {
        const a = new FakeAccount();
        for (const step of steps) {
          a.tick(step.gap);
          if (step.probe) a.probe();
          const before = a.record;
          const stateBefore = a.state;
          a.call(step.ok);
          if (a.record !== before) expect(a.record.version).toBe(before.version + 1);
          if (step.ok && stateBefore !== 'OPEN') expect(a.state).not.toBe('OPEN');
          if (!step.ok && stateBefore !== 'CLOSED') expect(a.state).not.toBe('CLOSED');
        }
      }),
    );
  });
});
