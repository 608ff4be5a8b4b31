/**
 * How often an account opened the payments it was asked to, over its recent create attempts (the last
 * N within T minutes, counted by the store, and none from before its breaker last closed: a recovered
 * account starts afresh). A prior of `priorAttempts` pseudo-successes keeps one early failure from
 * burying a new account: with 10, a first failure reads 10/11 ≈ 91%, not 0%.
 */
export interface AttemptCounts {
  attempts: number;
  successes: number;
}

export function successRate(window: AttemptCounts, priorAttempts: number): number {
  const attempts = window.attempts + priorAttempts;
  return attempts === 0 ? 1 : (window.successes + priorAttempts) / attempts;
}
