import { seededRandom } from '../../../testkit/game-server';

describe("the reference game server's seeded random source", () => {
  it('rolls the same numbers for the same seed, others for another, all in [0, 1)', () => {
    const rolls = (seed: number) => Array.from({ length: 1_000 }, seededRandom(seed));
    expect(rolls(42)).toEqual(rolls(42));
    expect(rolls(43)).not.toEqual(rolls(42));
    for (const roll of rolls(7)) expect(roll >= 0 && roll < 1).toBe(true);
    // Spread, not stuck: about half the rolls fall below one half.
    const low = rolls(7).filter((r) => r < 0.5).length;
    expect(low).toBeGreaterThan(400);
    expect(low).toBeLessThan(600);
  });
});
