import type { OrderStatus } from './status';

/** What an operator may ask of an order's workflow, and in which statuses (the workflow refuses the rest). */
export const WORKFLOW_OPS_ALLOWED = {
  RETRY_DELIVERY: ['DELIVERING'],
  REFUND: ['DELIVERING', 'MANUAL_REVIEW'],
  DELIVER: ['MANUAL_REVIEW'],
  RISK_APPROVE: ['RISK_REVIEW'],
  RISK_DENY: ['RISK_REVIEW'],
} as const satisfies Record<string, readonly OrderStatus[]>;

export type OpsAction = 'RETRY_DELIVERY' | 'REFUND' | 'RESOLVE' | 'CLOSE' | 'RISK_DECISION';

/**
 * The actions the ops API offers for an order in `status` (the console shows these buttons only):
 * the workflow's own, plus the refund of a delivered order (a reversal) and the close of an unpaid one;
 * a held order (RISK_REVIEW) takes the risk decision.
 */
export function opsActionsFor(status: OrderStatus): OpsAction[] {
  const has = (list: readonly OrderStatus[]) => list.includes(status);
  return [
    ...(has(WORKFLOW_OPS_ALLOWED.RETRY_DELIVERY) ? (['RETRY_DELIVERY'] as const) : []),
    ...(has([...WORKFLOW_OPS_ALLOWED.REFUND, 'DELIVERED']) ? (['REFUND'] as const) : []),
    ...(has(WORKFLOW_OPS_ALLOWED.DELIVER) ? (['RESOLVE'] as const) : []),
    ...(status === 'PENDING_PAYMENT' ? (['CLOSE'] as const) : []),
    ...(has(WORKFLOW_OPS_ALLOWED.RISK_APPROVE) ? (['RISK_DECISION'] as const) : []),
  ];
}
