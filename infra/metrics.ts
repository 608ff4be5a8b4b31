import { asyncLocalStorage } from '@temporalio/activity';
import { noopMetricMeter, type MetricMeter } from '@temporalio/common';
import type { TelemetryOptions } from '@temporalio/worker';
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Metrics of the payment center. The API serves its own prom-client registry on `GET /metrics`; the
 * worker's business metrics go through the Temporal SDK's metric meter, so they come out of the same
 * Prometheus endpoint as the SDK's runtime telemetry (WORKER_METRICS_ADDRESS).
 *
 * Labels are bounded: game, channel, status, result, decision and reasons, never order or user ids.
 */

/** Series names as Prometheus shows them (counters get `_total` from the exporter). */
export const METRIC_NAMES = {
  httpRequestDuration: 'payments_http_request_duration_seconds',
  ordersCreated: 'payments_orders_created_total',
  orderTransitions: 'payments_order_transitions_total',
  paymentResults: 'payments_payment_results_total',
  deliveryAttempts: 'payments_delivery_attempts_total',
  deliveryFailures: 'payments_delivery_failures_total',
  deliveryAcks: 'payments_delivery_acks_total',
  paymentToDelivery: 'payments_payment_to_delivery_seconds',
  riskDecisions: 'payments_risk_decisions_total',
  routingDecisions: 'payments_routing_decisions_total',
  routingDecisionDuration: 'payments_routing_decision_seconds',
  breakerState: 'payments_channel_breaker_state',
  breakerTransitions: 'payments_channel_breaker_transitions_total',
  outboxLag: 'payments_outbox_lag_seconds',
  eventsPublished: 'payments_events_published_total',
  eventPublishFailures: 'payments_event_publish_failures_total',
  storeSweepRuns: 'payments_store_sweep_runs_total',
  storeSweepItems: 'payments_store_sweep_items_total',
  storeSweepLastSuccess: 'payments_store_sweep_last_success_timestamp_seconds',
  storeRecoveryDelay: 'payments_store_recovery_delay_seconds',
  consumptionRequests: 'payments_consumption_requests_total',
  consumptionAnswer: 'payments_consumption_answer_seconds',
} as const;

/** The SDK meter takes counter names without the suffix its Prometheus exporter appends. */
const counterName = (exposed: string) => exposed.replace(/_total$/, '');

// ---------------------------------------------------------------------------------------------------
// API: HTTP request duration by method, route template and status code.

/** Requests answered before any route matched them: 404s, failed admin auth, unparsable bodies. */
export const UNMATCHED_ROUTE = 'unmatched';

export function createHttpMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: METRIC_NAMES.httpRequestDuration,
    help: 'HTTP requests of the API by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const middleware: RequestHandler = (req, res, next) => {
    const stopTimer = requestDuration.startTimer();
    // The router assigns req.route when it matches; only at that moment is req.baseUrl the mount
    // path of the matching router (it is restored when an error leaves that router).
    let matched: unknown;
    let template: string | undefined;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => matched,
      set(route: { path: string }) {
        matched = route;
        template = req.baseUrl + route.path;
      },
    });
    res.once('finish', () =>
      stopTimer({ method: req.method, route: template ?? UNMATCHED_ROUTE, status_code: res.statusCode }),
    );
    next();
  };

  const endpoint: RequestHandler = async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  };

  return { registry, middleware, endpoint };
}

export type HttpMetrics = ReturnType<typeof createHttpMetrics>;

// ---------------------------------------------------------------------------------------------------
// API: routing decisions and the breakers as this process sees them.

/** The breaker state gauge's values. */
export const BREAKER_STATE_VALUES = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 } as const;

export function createRoutingMetrics(registry: Registry) {
  const decisions = new Counter({
    name: METRIC_NAMES.routingDecisions,
    help: 'Channel accounts chosen for new orders, by channel and why (CHEAPEST, EXPLORATION, PROBE, REQUESTED, LAST_RESORT, NONE)',
    labelNames: ['channel', 'reason'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: METRIC_NAMES.routingDecisionDuration,
    help: 'CPU time of one routing decision in process (eligibility and ranking, no I/O)',
    buckets: [0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.01],
    registers: [registry],
  });
  const state = new Gauge({
    name: METRIC_NAMES.breakerState,
    help: 'Circuit breaker of each channel account: 0 closed, 1 half-open, 2 open (refreshed four times a second)',
    labelNames: ['channel'] as const,
    registers: [registry],
  });
  const transitions = new Counter({
    name: METRIC_NAMES.breakerTransitions,
    help: 'Circuit breaker transitions made by this process, by channel and new state',
    labelNames: ['channel', 'to'] as const,
    registers: [registry],
  });
  const seen = new Set<string>();
  return {
    decided(channel: string | undefined, reason: string | undefined, seconds: number) {
      decisions.inc({ channel: channel ?? 'none', reason: reason ?? 'NONE' });
      duration.observe(seconds);
    },
    breakerState(channel: string, value: keyof typeof BREAKER_STATE_VALUES) {
      state.set({ channel }, BREAKER_STATE_VALUES[value]);
      // Every account's transition series exist from the start (at 0), so increase() sees the first one.
      if (seen.has(channel)) return;
      seen.add(channel);
      for (const to of Object.keys(BREAKER_STATE_VALUES)) transitions.inc({ channel, to }, 0);
    },
    breakerTransition(channel: string, to: string) {
      transitions.inc({ channel, to });
    },
  };
}
export type RoutingMetrics = ReturnType<typeof createRoutingMetrics>;

// ---------------------------------------------------------------------------------------------------
// Worker: the SDK's Prometheus exporter, and business metrics recorded from activities.

/** Buckets of the payment→delivery latency: sub-second in process, up to the 24 h delivery deadline. */
const PAYMENT_TO_DELIVERY_BUCKETS = [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

/** Telemetry for `Runtime.install`: Prometheus on `bindAddress`, counters with `_total`, durations in seconds. */
export function workerTelemetry(bindAddress: string): TelemetryOptions {
  return {
    metrics: {
      prometheus: {
        bindAddress,
        countersTotalSuffix: true,
        useSecondsForDurations: true,
        histogramBucketOverrides: { [METRIC_NAMES.paymentToDelivery]: PAYMENT_TO_DELIVERY_BUCKETS },
      },
    },
  };
}

/** The running activity's meter (tagged with namespace, task queue and activity type); a no-op outside activities. */
function activityMeter(): MetricMeter {
  return asyncLocalStorage.getStore()?.metricMeter ?? noopMetricMeter;
}

function count(name: string, description: string, tags: Record<string, string>) {
  activityMeter().createCounter(counterName(name), undefined, description).add(1, tags);
}

export interface OrderLabels {
  game: string;
  channel: string;
}

/** Counted by activities once their change is made; retries that change nothing count nothing. */
export const businessMetrics = {
  orderOpened(labels: OrderLabels, status: string) {
    count(METRIC_NAMES.ordersCreated, 'Orders created, by game and channel', { ...labels });
    businessMetrics.orderTransitioned(labels, status);
  },

  orderTransitioned(labels: OrderLabels, status: string) {
    count(METRIC_NAMES.orderTransitions, 'Orders entering a status, by game and channel', { ...labels, status });
  },

  paymentResult(channel: string, result: 'SUCCESS' | 'FAILED') {
    count(METRIC_NAMES.paymentResults, 'Payment results reported by the channels (deduplicated)', { channel, result });
  },

  deliveryAttempt(game: string, delivered: boolean) {
    count(METRIC_NAMES.deliveryAttempts, 'Delivery attempts to game servers', { game });
    if (!delivered) count(METRIC_NAMES.deliveryFailures, 'Failed delivery attempts to game servers', { game });
  },

  /** A game acknowledged a broker delivery (GRANTED or REJECTED), counted once by the workflow's step that acts on it. */
  deliveryAck(game: string, result: 'GRANTED' | 'REJECTED') {
    count(METRIC_NAMES.deliveryAcks, 'Acknowledgements of broker deliveries by games, by result', { game, result });
  },

  paymentToDelivery(game: string, seconds: number) {
    activityMeter()
      .createHistogram(METRIC_NAMES.paymentToDelivery, 'float', 's', 'Time from payment to delivery to the game server')
      .record(Math.max(0, seconds), { game });
  },

  /** A channel call moved an account's circuit breaker (counted where it happened: here, in a worker). */
  breakerTransition(channel: string, to: string) {
    count(METRIC_NAMES.breakerTransitions, 'Circuit breaker transitions made by this process, by channel and new state', { channel, to });
  },

  /** A store sweep run ended (COMPLETED or FAILED); a completed one sets the account's last success. */
  storeSweepRun(channel: string, outcome: 'COMPLETED' | 'FAILED') {
    count(METRIC_NAMES.storeSweepRuns, 'Store sweep runs, by store account and outcome', { channel, outcome });
    if (outcome === 'COMPLETED') {
      activityMeter()
        .createGauge(METRIC_NAMES.storeSweepLastSuccess, 'float', 's', 'When the store account last completed a sweep (Unix seconds)')
        .set(Date.now() / 1000, { channel });
    }
  },

  /** One swept item: known (taken before), recovered (its first copy) or failed (did not verify); `kind` of its event. */
  storeSweepItem(channel: string, kind: string, result: 'known' | 'recovered' | 'failed') {
    count(METRIC_NAMES.storeSweepItems, 'Items store sweeps saw, by store account, event kind and result', { channel, kind, result });
  },

  /** From the store's first try to our recovery of a notification. */
  storeRecoveryDelay(channel: string, seconds: number) {
    activityMeter()
      .createHistogram(METRIC_NAMES.storeRecoveryDelay, 'float', 's', "From the store's first try to the sweep's recovery of a notification")
      .record(Math.max(0, seconds), { channel });
  },

  /** A store's consumption request ended with `outcome`, this long after the store signed it. */
  consumptionRequest(channel: string, outcome: string, seconds: number) {
    count(METRIC_NAMES.consumptionRequests, 'Store consumption requests, by store account and outcome', { channel, outcome });
    if (outcome === 'SENT') {
      activityMeter()
        .createHistogram(METRIC_NAMES.consumptionAnswer, 'float', 's', "From the store's consumption request to our answer")
        .record(Math.max(0, seconds), { channel });
    }
  },

  /** `reasons` comes from the risk rules: a small fixed set, joined in their stable order. */
  riskDecision(game: string, decision: 'ALLOW' | 'REVIEW' | 'DENY', reasons: string[]) {
    count(METRIC_NAMES.riskDecisions, 'Risk decisions, by decision and reason', {
      game,
      decision,
      reason: reasons.length ? reasons.join(',') : 'NONE',
    });
  },
};

/**
 * The order events' relay (infra/event-relay.ts), outside any activity: recorded on the worker
 * runtime's meter (`Runtime.instance().metricMeter`), so they come out of the worker's endpoint.
 */
export function eventRelayMetrics(meter: MetricMeter) {
  const published = meter.createCounter(counterName(METRIC_NAMES.eventsPublished), undefined, 'Order events the broker confirmed, by broker');
  const failed = meter.createCounter(counterName(METRIC_NAMES.eventPublishFailures), undefined, 'Order event publications that failed (retried), by broker');
  const lag = meter.createGauge(METRIC_NAMES.outboxLag, 'float', undefined, 'Age of the oldest unpublished order event, as the relay last saw it');
  return {
    published: (broker: string, n: number) => published.add(n, { broker }),
    failed: (broker: string, n: number) => failed.add(n, { broker }),
    lag: (seconds: number) => lag.set(seconds),
  };
}
