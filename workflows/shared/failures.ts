import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** An activity failed for good with this business failure type (`FAILURE` in workflows/contract.ts). */
export function isFailure(err: unknown, type: string): boolean {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && failure.type === type;
}
