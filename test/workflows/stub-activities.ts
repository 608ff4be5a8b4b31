import type { Activities } from '../../activities';

/**
 * The activities the purchase, late-payment and reversal workflows call: what a worker with stub
 * activities must implement. One list, for the workflow tests (test/workflows/purchase.test.ts) and
 * the model-based tests' in-memory books (test/model/books.ts).
 */
export type PurchaseStubActivities = Pick<
  Activities,
  | 'checkRisk'
  | 'openOrder'
  | 'createChannelPayment'
  | 'recordPaymentResult'
  | 'markPaid'
  | 'holdForReview'
  | 'holdForRiskReview'
  | 'holdLatePayment'
  | 'closeOrder'
  | 'startDelivery'
  | 'orderStatus'
  | 'closeChannelPayment'
  | 'refundOrder'
  | 'deliverOrder'
  | 'queryChannelPayment'
  | 'confirmChannelDelivery'
  | 'recordReversal'
  | 'revokeGrants'
  | 'refundThroughChannel'
  | 'startMonthlyCard'
  | 'settleDeliveryAck'
  | 'closeBrokerDelivery'
>;
