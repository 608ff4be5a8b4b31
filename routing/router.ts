import { performance } from 'node:perf_hooks';
import type { ChannelRegistry } from '../channels/registry';
import { stateAt } from '../domain/routing/breaker';
import { seededRandom } from '../domain/routing/random';
import { route, type AccountHealth, type RouteRequest, type RouterSettings, type RoutingDecision } from '../domain/routing/router';
import type { ChannelHealth } from './channel-health';
import type { Config } from '../infra/config';
import type { RoutingMetrics } from '../infra/metrics';

/**
 * The API process's channel router: the accounts from the registry (reloaded on every change), their
 * health from the last refresh, the settings from the configuration. A decision reads memory only;
 * the one exception is claiming the probe of a half-open account, which every process must agree on.
 */
export interface ChannelRouter {
  choose(request: RouteRequest): Promise<RoutingDecision>;
}

export function routerSettings(config: Config): RouterSettings {
  return {
    failurePenaltyBps: config.ROUTING_FAILURE_PENALTY_BPS,
    priorAttempts: config.ROUTING_PRIOR_ATTEMPTS,
    explorationShare: config.ROUTING_EXPLORATION_SHARE,
  };
}

export function createChannelRouter({
  config,
  channels,
  health,
  metrics,
}: {
  config: Config;
  channels: ChannelRegistry;
  health: ChannelHealth;
  metrics: RoutingMetrics;
}): ChannelRouter {
  const settings = routerSettings(config);
  const random = config.ROUTING_RANDOM_SEED === undefined ? Math.random : seededRandom(config.ROUTING_RANDOM_SEED);

  return {
    async choose(request) {
      const now = Date.now();
      const report = health.current();
      const healthOf = (channelId: string): AccountHealth | undefined => {
        const known = report.get(channelId);
        return known && { breaker: stateAt(known.breaker, now, health.settings.breaker), window: known.creates };
      };
      const refusedProbes = new Set<string>();
      for (;;) {
        const started = performance.now();
        const decision = route(request, channels.accounts(), healthOf, settings, random, refusedProbes);
        const seconds = (performance.now() - started) / 1_000;
        if (decision.probe) {
          // Another process may have taken this round's probes (or closed the breaker meanwhile): route without it.
          const claim = await health.store.claimProbe(decision.probe, now).catch(() => ({ granted: false, transition: undefined }));
          if (claim.transition) metrics.breakerTransition(claim.transition.channelId, claim.transition.to);
          if (!claim.granted) {
            refusedProbes.add(decision.probe);
            continue;
          }
        }
        metrics.decided(decision.chosen, decision.reason, seconds);
        return decision;
      }
    },
  };
}
