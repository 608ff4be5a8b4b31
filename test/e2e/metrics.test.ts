import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express, { Router } from 'express';
import { purchaseWorkflowId } from '../../domain/ids';
import { METRIC_NAMES, UNMATCHED_ROUTE, createHttpMetrics } from '../../infra/metrics';
import { startOrderEventRelay } from '../../worker';
import { Harness, workerMetricsUrl, type TestGame } from '../support/harness';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition format: one sample per line, `# HELP` / `# TYPE` lines skipped. */
function parseExposition(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[key] = value;
      }
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

class Scrape {
  readonly samples: Sample[];
  constructor(readonly text: string) {
    this.samples = parseExposition(text);
  }

  static async of(url: string): Promise<Scrape> {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return new Scrape(await res.text());
  }

  /** Sum over every series of `name` whose labels include `labels` (other labels such as the task queue vary). */
  total(name: string, labels: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  }

  names(): Set<string> {
    return new Set(this.samples.map((s) => s.name));
  }
}

/** Change of a series between two scrapes. */
const delta = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) =>
  after.total(name, labels) - before.total(name, labels);

const DASHBOARD = join(__dirname, '..', '..', 'ops', 'grafana', 'dashboards', 'payment-center.json');

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string }[];
  panels?: Panel[];
}

/** Metric names a PromQL expression selects: identifiers that are not functions, keywords or labels. */
function promqlMetricNames(expr: string): string[] {
  const selectorsOnly = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
  return [...selectorsOnly.matchAll(/\b[a-zA-Z_][a-zA-Z0-9_]*\b(?!\s*\()/g)]
    .map(([name]) => name)
    .filter((name) => !keywords.has(name.toLowerCase()));
}

function dashboardQueries() {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const panels: Panel[] = dashboard.panels.flatMap((p: Panel) => [p, ...(p.panels ?? [])]);
  const variables: string[] = dashboard.templating.list.map((v: { query: { query: string } }) => v.query.query);
  const variableMetrics = variables.map((q) => {
    const match = /^label_values\(([a-zA-Z_][a-zA-Z0-9_]*),\s*[a-zA-Z_]+\)$/.exec(q);
    if (!match) throw new Error(`unexpected variable query: ${q}`);
    return match[1];
  });
  const queryPanels = panels.filter((p) => p.type !== 'row');
  const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const metricNames = [...new Set([...exprs.flatMap(promqlMetricNames), ...variableMetrics])];
  return { dashboard, queryPanels, exprs, metricNames };
}

describe('HTTP metrics middleware', () => {
  it('labels requests with the route template, also when an error leaves a mounted router', async () => {
    const metrics = createHttpMetrics();
    const app = express();
    app.use(metrics.middleware);
    app.get('/metrics', metrics.endpoint);
    const mounted = Router();
    mounted.get('/things/:thingId', (_req, res) => {
      res.status(204).end();
    });
    mounted.get('/broken/:thingId', () => {
      throw new Error('boom');
    });
    app.use('/mounted', mounted);
    app.use((_req, res) => {
      res.status(404).end();
    });
    app.use(((_err, _req, res, _next) => {
      res.status(500).end();
    }) as express.ErrorRequestHandler);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await fetch(`${base}/mounted/things/thing-1234`);
      await fetch(`${base}/mounted/broken/thing-5678`);
      await fetch(`${base}/no/such/path-9999`);
      const scrape = await Scrape.of(`${base}/metrics`);
      const count = `${METRIC_NAMES.httpRequestDuration}_count`;
      expect(scrape.total(count, { method: 'GET', route: '/mounted/things/:thingId', status_code: '204' })).toBe(1);
      expect(scrape.total(count, { method: 'GET', route: '/mounted/broken/:thingId', status_code: '500' })).toBe(1);
      expect(scrape.total(count, { method: 'GET', route: UNMATCHED_ROUTE, status_code: '404' })).toBe(1);
      expect(scrape.text).not.toMatch(/thing-1234|thing-5678|path-9999/);
      // Default process metrics come with the registry.
      expect(scrape.total('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/**
 * Series only a store sweep or a consumption request moves (they need a fake store): the worker exposes
 * them in test/e2e/store-completeness.test.ts, which reads them off its endpoint.
 */
const SHOWN_BY_THEIR_OWN_TESTS = [
  'payments_store_sweep_runs_total',
  'payments_store_sweep_items_total',
  'payments_store_sweep_last_success_timestamp_seconds',
  'payments_store_recovery_delay_seconds_bucket',
  'payments_consumption_requests_total',
  'payments_consumption_answer_seconds_bucket',
];

describe('metrics of the payment center', () => {
  let h: Harness;
  let game: TestGame;
  let sku: string;
  let events: ReturnType<typeof startOrderEventRelay>;

  beforeAll(async () => {
    // With the order events' relay, as a worker process runs it (its series are on the dashboard).
    h = await Harness.start({ EVENTS_BROKER: 'nats' });
    events = startOrderEventRelay(h.config, h.database);
    game = await h.createGame();
    sku = await h.createItem(game);
  });
  afterAll(async () => {
    await events?.close();
    await h?.close();
  });

  const scrapeApi = () => Scrape.of(h.api.metricsUrl);
  const scrapeWorker = () => Scrape.of(workerMetricsUrl);
  const newUser = () => `user-${randomUUID().slice(0, 8)}`;
  const orderLabels = () => ({ game: game.gameId, channel: 'sandbox' });

  it('counts one purchase on the API and the worker endpoints', async () => {
    const [apiBefore, workerBefore] = await Promise.all([scrapeApi(), scrapeWorker()]);
    const userId = newUser();
    const created = await h.createOrder(game, { userId, sku, region: 'CN' });
    expect(created.status).toBe(201);
    const { orderId, payment } = created.body;
    expect((await h.pay(payment.channelPaymentId)).status).toBe(202);
    await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('DELIVERED');
    expect((await h.signed(game, 'GET', `/v1/orders/${orderId}`)).status).toBe(200);

    const api = await scrapeApi();
    const requests = (method: string, route: string, status_code: string) =>
      delta(apiBefore, api, `${METRIC_NAMES.httpRequestDuration}_count`, { method, route, status_code });
    expect(requests('POST', '/v1/orders', '201')).toBe(1);
    expect(requests('GET', '/v1/orders/:orderId', '200')).toBe(1);
    expect(requests('POST', '/sandbox/payments/:paymentId/complete', '202')).toBe(1);
    expect(requests('POST', '/v1/callbacks/:channel', '200')).toBeGreaterThanOrEqual(1);
    const slowestBucket = { route: '/v1/orders', le: '+Inf' };
    expect(api.total(`${METRIC_NAMES.httpRequestDuration}_bucket`, slowestBucket)).toBeGreaterThanOrEqual(1);
    expect(api.total('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

    const worker = await scrapeWorker();
    const moved = (name: string, labels: Record<string, string>) => delta(workerBefore, worker, name, labels);
    const byGame = { game: game.gameId };
    expect(moved(METRIC_NAMES.ordersCreated, orderLabels())).toBe(1);
    for (const status of ['PENDING_PAYMENT', 'PAID', 'DELIVERING', 'DELIVERED']) {
      expect([status, moved(METRIC_NAMES.orderTransitions, { ...orderLabels(), status })]).toEqual([status, 1]);
    }
    expect(moved(METRIC_NAMES.orderTransitions, { ...orderLabels(), status: 'REFUNDED' })).toBe(0);
    expect(moved(METRIC_NAMES.paymentResults, { channel: 'sandbox', result: 'SUCCESS' })).toBe(1);
    expect(moved(METRIC_NAMES.deliveryAttempts, byGame)).toBe(1);
    expect(moved(METRIC_NAMES.deliveryFailures, byGame)).toBe(0);
    expect(moved(`${METRIC_NAMES.paymentToDelivery}_count`, byGame)).toBe(1);
    const seconds = moved(`${METRIC_NAMES.paymentToDelivery}_sum`, byGame);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(30);
    expect(moved(METRIC_NAMES.riskDecisions, { ...byGame, decision: 'ALLOW', reason: 'NONE' })).toBe(1);
    // The SDK's own runtime metrics come out of the same endpoint.
    expect(worker.total('temporal_worker_task_slots_available', { worker_type: 'ActivityWorker' })).toBeGreaterThan(0);
    expect(worker.total('temporal_workflow_task_schedule_to_start_latency_count')).toBeGreaterThan(0);

    // Bounded labels: no order, user or payment ids anywhere.
    for (const text of [api.text, worker.text]) {
      expect(text).not.toContain(orderId);
      expect(text).not.toContain(userId);
      expect(text).not.toContain(payment.channelPaymentId);
    }
  });

  it('counts risk denials, failed payments and failed delivery attempts', async () => {
    const workerBefore = await scrapeWorker();
    const blocked = newUser();
    const blacklisted = await h.admin('PUT', `/v1/admin/risk/blacklist/USER/${blocked}`, { reason: 'chargebacks' });
    expect(blacklisted.status).toBe(200);
    expect((await h.createOrder(game, { userId: blocked, sku, region: 'CN' })).status).toBe(403);

    const created = await h.createOrder(game, { userId: newUser(), sku, region: 'CN' });
    expect(created.status).toBe(201);
    const { orderId, payment } = created.body;
    expect((await h.pay(payment.channelPaymentId, { result: 'FAILED' })).status).toBe(202);
    await waitUntil(async () => (await h.db.paymentAttempt.count({ where: { orderId, result: 'FAILED' } })) === 1);
    h.gameServer.mode = 'fail';
    expect((await h.pay(payment.channelPaymentId)).status).toBe(202);
    await waitUntil(async () => h.gameServer.attemptsFor(orderId).length >= 1);
    h.gameServer.mode = 'ok';
    await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('DELIVERED');

    const worker = await scrapeWorker();
    const moved = (name: string, labels: Record<string, string>) => delta(workerBefore, worker, name, labels);
    const byGame = { game: game.gameId };
    expect(moved(METRIC_NAMES.ordersCreated, orderLabels())).toBe(2);
    expect(moved(METRIC_NAMES.orderTransitions, { ...orderLabels(), status: 'REJECTED' })).toBe(1);
    expect(moved(METRIC_NAMES.riskDecisions, { ...byGame, decision: 'DENY', reason: 'BLACKLISTED_USER' })).toBe(1);
    expect(moved(METRIC_NAMES.paymentResults, { channel: 'sandbox', result: 'FAILED' })).toBe(1);
    expect(moved(METRIC_NAMES.paymentResults, { channel: 'sandbox', result: 'SUCCESS' })).toBe(1);
    const failures = moved(METRIC_NAMES.deliveryFailures, byGame);
    expect(failures).toBeGreaterThanOrEqual(1);
    expect(failures).toBe(h.gameServer.attemptsFor(orderId).length - 1);
    expect(moved(METRIC_NAMES.deliveryAttempts, byGame)).toBe(failures + 1);
  });

  it("counts a game's acknowledgement of a broker delivery, by result", async () => {
    const natsGame = await h.createGame('NATS game');
    const natsSku = await h.createItem(natsGame);
    const put = await h.admin('PUT', `/v1/admin/games/${natsGame.gameId}`, {
      name: 'NATS game',
      secret: natsGame.secret,
      deliveryUrl: h.gameServer.deliveryUrl(natsGame.gameId),
      delivery: { mode: 'NATS' },
    });
    expect(put.status).toBe(200);
    const workerBefore = await scrapeWorker();
    const created = await h.createOrder(natsGame, { userId: 'acking-player', sku: natsSku, region: 'CN' });
    const { orderId, payment } = created.body as { orderId: string; payment: { channelPaymentId: string } };
    expect((await h.pay(payment.channelPaymentId)).status).toBe(202);
    await h.waitForStatus(orderId, 'DELIVERING');
    const acked = await h.signed(natsGame, 'POST', `/v1/deliveries/dlv_${orderId}/ack`, { orderId, result: 'GRANTED' });
    expect(acked.status).toBe(200);
    await h.waitForStatus(orderId, 'DELIVERED');
    const worker = await scrapeWorker();
    expect(delta(workerBefore, worker, METRIC_NAMES.deliveryAcks, { game: natsGame.gameId, result: 'GRANTED' })).toBe(1);
  });

  // Runs after the tests above, which moved every series the dashboard reads, failures included.
  it('has a dashboard that queries only metrics the API and the worker expose, and all of ours', async () => {
    const { dashboard, queryPanels, exprs, metricNames } = dashboardQueries();
    expect(dashboard.uid).toBe('payment-center');
    for (const panel of queryPanels) {
      const shape = [panel.title, panel.datasource?.uid, panel.targets?.length];
      expect(shape).toEqual([panel.title, 'prometheus', expect.any(Number)]);
    }
    expect(exprs.length).toBeGreaterThan(10);

    const [api, worker] = await Promise.all([scrapeApi(), scrapeWorker()]);
    const exposed = new Set([...api.names(), ...worker.names(), ...SHOWN_BY_THEIR_OWN_TESTS]);
    expect(metricNames.filter((name) => !exposed.has(name))).toEqual([]);
    for (const name of Object.values(METRIC_NAMES)) {
      const queried = metricNames.some((queried) => queried === name || queried.startsWith(`${name}_`));
      expect([name, queried]).toEqual([name, true]);
    }
    const sdkMetrics = ['temporal_worker_task_slots_used', 'temporal_activity_schedule_to_start_latency_bucket'];
    expect(metricNames).toEqual(expect.arrayContaining(sdkMetrics));
  });
});

describe('PromQL metric name extraction', () => {
  it('keeps metric selectors and drops functions, grouping labels, matchers and ranges', () => {
    const selector = 'a_seconds_bucket{route=~"$route", x="rate(y)"}[$__rate_interval]';
    const expr = `histogram_quantile(0.99, sum by (le, route) (rate(${selector}))) / on (route) b_total`;
    expect(promqlMetricNames(expr)).toEqual(['a_seconds_bucket', 'b_total']);
  });
});

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
