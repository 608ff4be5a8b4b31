import { asyncLocalStorage } from '@temporalio/activity';
import { ChannelError } from '../channels/http';
import type { ChannelRegistry } from '../channels/registry';
import { ChannelUnsupportedError, type ChannelAdapter } from '../channels/types';
import { businessMetrics } from '../infra/metrics';
import type { CallOutcome, ChannelHealthStore, ChannelOperation } from '../store/channel-health';

/**
 * The registry activities use, with every call to a channel's API that matters to its health (create,
 * query, close, refund) timed and recorded in the shared health state, where the breaker rules run.
 * Only technical failures count against an account: a final refusal means the channel answered.
 */
const OBSERVED: readonly (readonly [keyof ChannelAdapter & ('createPayment' | 'queryPayment' | 'closePayment' | 'refund'), ChannelOperation])[] = [
  ['createPayment', 'create'],
  ['queryPayment', 'query'],
  ['closePayment', 'close'],
  ['refund', 'refund'],
];

export function observedChannels(channels: ChannelRegistry, health: ChannelHealthStore): ChannelRegistry {
  const wrapped = new WeakMap<ChannelAdapter, ChannelAdapter>();

  const record = async (channelId: string, operation: ChannelOperation, outcome: CallOutcome, startedAt: number) => {
    const at = Date.now();
    try {
      const transition = await health.record({ channelId, operation, outcome, latencyMs: at - startedAt, at });
      if (transition) {
        businessMetrics.breakerTransition(channelId, transition.to);
        logger()?.warn('channel breaker changed', { ...transition, operation });
      }
    } catch (err) {
      // The health store being down must not fail the payment call it observes.
      logger()?.warn('channel call outcome not recorded', { channelId, operation, error: (err as Error).message });
    }
  };

  const observe = (adapter: ChannelAdapter): ChannelAdapter => {
    const observed = Object.create(adapter) as ChannelAdapter;
    for (const [method, operation] of OBSERVED) {
      const original = adapter[method] as (...args: unknown[]) => Promise<unknown>;
      Object.defineProperty(observed, method, {
        value: async (...args: unknown[]) => {
          const startedAt = Date.now();
          try {
            const result = await original.apply(adapter, args);
            await record(adapter.channelId, operation, 'OK', startedAt);
            return result;
          } catch (err) {
            const outcome = outcomeOf(err);
            if (outcome) await record(adapter.channelId, operation, outcome, startedAt);
            throw err;
          }
        },
      });
    }
    return observed;
  };

  return {
    ...channels,
    get(channelId) {
      const adapter = channels.get(channelId);
      if (!adapter) return undefined;
      let observed = wrapped.get(adapter);
      if (!observed) wrapped.set(adapter, (observed = observe(adapter)));
      return observed;
    },
  };
}

/** A flow the channel lacks made no call; a final refusal is the channel answering; anything else is a failure. */
function outcomeOf(err: unknown): CallOutcome | undefined {
  if (err instanceof ChannelUnsupportedError) return undefined;
  if (err instanceof ChannelError && !err.transient) return 'REFUSED';
  return 'FAILED';
}

/** The running activity's logger (workflow id and activity attached), if in one. */
function logger() {
  return asyncLocalStorage.getStore()?.log;
}
