/**
 * Our order id (a UUID) as channels take a merchant order number: the 32 hex digits without dashes
 * (WeChat Pay allows 32 characters, UnionPay 8-40 alphanumerics, Alipay 64), and back.
 */
export function merchantOrderNo(orderId: string): string {
  return orderId.replace(/-/g, '').toLowerCase();
}

/** The order id a merchant order number names, or undefined when it is not one of ours. */
export function orderIdOf(merchantOrderNo: string): string | undefined {
  const hex = merchantOrderNo.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Our refund id as a channel's refund number (at most 64 characters of [A-Za-z0-9_-]). */
export function merchantRefundNo(refundId: string): string {
  return refundId.replace(/[^A-Za-z0-9_-]/g, '');
}
