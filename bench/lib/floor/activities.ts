/**
 * The purchase workflow's activities with their work taken out (no database, no HTTP): what is left
 * is what Temporal itself costs per activity.
 */
export function createFloorActivities() {
  return {
    async checkRisk() {
      return { decision: 'ALLOW' as const, reasons: [] as string[] };
    },
    async openOrder() {
      return { status: 'PENDING_PAYMENT' as const };
    },
    async createChannelPayment(params: { orderId: string }) {
      return { channelPaymentId: `floor-${params.orderId}`, payment: { channelPaymentId: `floor-${params.orderId}` } };
    },
    async recordPaymentResult() {},
    async markPaid() {},
    async startDelivery(params: { orderId: string }) {
      return `dlv_${params.orderId}`;
    },
    async deliverOrder() {},
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
