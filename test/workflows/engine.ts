import { Client, Connection } from '@temporalio/client';
import { NativeConnection, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { PurchaseInput } from '../../workflows/contract';

/** What the workflow tests share: the global setup's Temporal dev server and the workflows bundled once per file. */
export interface WorkflowEngine {
  client: Client;
  /** For the test's workers, each on its own task queue with stub activities. */
  nativeConnection: NativeConnection;
  bundle: WorkflowBundleWithSourceMap;
  close(): Promise<void>;
}

export async function connectWorkflowEngine(): Promise<WorkflowEngine> {
  const address = process.env.TEMPORAL_ADDRESS!;
  const nothing = () => undefined;
  const [connection, nativeConnection, bundle] = await Promise.all([
    Connection.connect({ address }),
    NativeConnection.connect({ address }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: { trace: nothing, debug: nothing, info: nothing, warn: nothing, error: console.error, log: nothing },
    }),
  ]);
  return {
    client: new Client({ connection }),
    nativeConnection,
    bundle,
    close: async () => {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

/** Durations of a workflow test: seconds, not the production minutes. */
export const TEST_TIMING: PurchaseInput['timing'] = {
  paymentTimeoutMs: 3_000,
  deliveryDeadlineMs: 3_000,
  deliveryAttemptTimeoutMs: 1_000,
  deliveryRetryInitialMs: 100,
  deliveryRetryMaxMs: 200,
  activityRetryInitialMs: 50,
  activityRetryMaxMs: 200,
};

/** One order of 60 gems for 6.00 CNY through the sandbox; tests change what their scenario needs. */
export function samplePurchase(orderId: string, timing: PurchaseInput['timing'], extra: Partial<PurchaseInput> = {}): PurchaseInput {
  return {
    orderId,
    gameId: 'game-1',
    userId: 'player-1',
    sku: 'gems-60',
    itemName: '60 Gems',
    quantity: 1,
    grants: [{ itemId: 'gem', quantity: 60 }],
    region: 'CN',
    amount: { currency: 'CNY', value: 600 },
    channel: 'sandbox',
    idempotencyKey: `key-${orderId}`,
    requestHash: 'hash-1',
    timing,
    ...extra,
  };
}
