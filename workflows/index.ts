// The workflow bundle's entry: every workflow type the worker runs.
export { purchase } from './purchase/purchase';
export { latePayment } from './purchase/late-payment';
export { reversal } from './purchase/reversal';
export { reconcileChannelDay, reconcileRuns, scheduledReconciliation } from './reconciliation/reconcile';
export { monthlyCard } from './monthly-card/monthly-card';
export { storeSweep } from './store-sweep/sweep';
export { consumptionAnswer } from './consumption/answer';
