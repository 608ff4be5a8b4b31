/** A source of numbers in [0, 1): `Math.random` in production, seeded in tests and benchmarks. */
export type RandomSource = () => number;

/** mulberry32: a small, fast, seedable generator (not for secrets; enough to spread orders). */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
