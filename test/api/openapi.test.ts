import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Express } from 'express';
import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathItemObject, ZodOpenApiResponseObject } from 'zod-openapi';
import { DOCS_PATH, OPENAPI_PATH, buildOpenApiDocument, openApiSpec } from '../../api/openapi';
import { gameBody, itemBody } from '../../api/admin/schemas';
import {
  deliveryAckBody,
  deliveryIdParam,
  deliveryWebhookBody,
  monthlyCardDayWebhookBody,
  revocationAckBody,
  revocationIdParam,
  revocationWebhookBody,
} from '../../api/deliveries/schemas';
import { reconciliationRequest, resolveBody as resolveDifferenceBody } from '../../api/finance/schemas';
import { grantLogBody } from '../../api/games/schemas';
import { opsActionBody, resolveBody } from '../../api/ops/schemas';
import { adjustmentBody, statementDate } from '../../sandbox/statements';
import { createOrderBody } from '../../api/orders/schemas';
import { signedHeaders } from '../../domain/signature';
import { Harness, sleep, type TestGame } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start();
});
afterAll(() => h?.close());

const options = () => ({ sandbox: h.config.SANDBOX_ENABLED });
/** What a schema's `.meta({ examples })` gives; the document renders them as the schema's examples. */
const examplesOf = (schema: z.ZodType) => (z.globalRegistry.get(schema)?.examples ?? []) as Record<string, unknown>[];
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

/** Every documented operation of the zod spec the document is rendered from, as `METHOD /path`. */
function specOperations(): Array<{ route: string; operation: ZodOpenApiOperationObject }> {
  const paths: [string, ZodOpenApiPathItemObject][] = Object.entries(openApiSpec(options()).paths ?? {});
  return paths.flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      return operation ? [{ route: `${method.toUpperCase()} ${path}`, operation }] : [];
    }),
  );
}

/** The parts of express 5's router layers this test reads. */
interface RouterLayer {
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: { stack?: RouterLayer[] };
}

/** `METHOD /path/{param}` for every route the app serves, from its router stack. */
function servedRoutes(app: Express): string[] {
  const routes: string[] = [];
  const join = (prefix: string, path: unknown) => {
    if (typeof path !== 'string') throw new Error(`cannot document a non-string route path ${String(path)}`);
    return `${prefix}${path === '/' ? '' : path}`;
  };
  const walk = (stack: RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = join(prefix, layer.route.path).replace(/:(\w+)/g, '{$1}');
        for (const [method, handled] of Object.entries(layer.route.methods)) {
          if (handled) routes.push(`${method.toUpperCase()} ${path}`);
        }
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, join(prefix, layer.rawPath));
      } // else middleware: authentication, body parsers, static files
    }
  };
  walk((app.router as unknown as { stack: RouterLayer[] }).stack, '');
  return routes;
}

describe('the OpenAPI document', () => {
  it('documents exactly the routes the app serves', () => {
    const app = h.api.server.listeners('request')[0] as Express;
    const served = servedRoutes(app);
    const documented = specOperations().map((o) => o.route);
    expect(served.length).toBeGreaterThan(10);
    expect({
      undocumented: served.filter((r) => !documented.includes(r)),
      notServed: documented.filter((r) => !served.includes(r)),
    }).toEqual({ undocumented: [], notServed: [] });
    expect(new Set(served).size).toBe(served.length);
  });

  it('leaves out the sandbox when it is disabled', () => {
    const paths = Object.keys(buildOpenApiDocument({ sandbox: false }).paths ?? {});
    expect(paths.filter((p) => p.startsWith('/sandbox/'))).toEqual([]);
    expect(paths).toContain('/v1/orders');
  });

  it('gives every request body and parameter examples that its zod schema accepts', () => {
    const problems: string[] = [];
    let checked = 0;
    const check = (where: string, schema: z.ZodType, examples: unknown[], asWireString: boolean) => {
      if (examples.length === 0) problems.push(`${where}: no example`);
      examples.forEach((example, i) => {
        checked++;
        // Path, query and header values arrive as strings.
        const parsed = schema.safeParse(asWireString ? String(example) : example);
        if (!parsed.success) problems.push(`${where} example ${i + 1}: ${z.prettifyError(parsed.error)}`);
      });
    };

    for (const { route, operation } of specOperations()) {
      for (const [mediaType, media] of Object.entries(operation.requestBody?.content ?? {})) {
        const schema = media?.schema;
        if (!(schema instanceof z.ZodType)) throw new Error(`${route} ${mediaType}: the body schema is not zod`);
        const mediaExamples = Object.values(media?.examples ?? {}).map((e) => ('value' in e ? e.value : undefined));
        check(`${route} body`, schema, [...examplesOf(schema), ...mediaExamples], false);
      }
      for (const [location, params] of Object.entries(operation.requestParams ?? {})) {
        for (const [name, schema] of Object.entries((params as z.ZodObject).shape)) {
          check(`${route} ${location} ${name}`, schema as z.ZodType, examplesOf(schema as z.ZodType), true);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(30);
  });

  it('is served at /openapi.json as built', async () => {
    const res = await fetch(`${h.api.url}${OPENAPI_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const served = (await res.json()) as { openapi: string };
    expect(served.openapi).toBe('3.1.0');
    expect(served).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(options()))));
  });

  it('is browsable at /docs with local assets only and no inline script', async () => {
    const res = await fetch(`${h.api.url}${DOCS_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(3);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/(?!\/)/); // same origin, never a CDN
      const loaded = await fetch(`${h.api.url}${asset}`);
      expect({ asset, status: loaded.status }).toEqual({ asset, status: 200 });
      const body = await loaded.text();
      expect(body.length).toBeGreaterThan(0);
      if (asset.endsWith('.js') && !asset.includes('swagger-ui-bundle')) expect(body).toContain(OPENAPI_PATH);
    }
  });
});

describe('the API answers as documented', () => {
  interface Request {
    params?: Record<string, string>;
    body?: unknown;
    headers?: Record<string, string>;
    signedBy?: TestGame;
    /** A query string (`?a=1`), part of what is signed. */
    query?: string;
  }

  /**
   * Sends `METHOD /template` with its path parameters filled in, and checks that the answer's status,
   * media type and body are the ones the document gives for that operation.
   */
  async function send(route: string, request: Request = {}): Promise<{ status: number; body: any }> {
    const operation = specOperations().find((o) => o.route === route)?.operation;
    if (!operation) throw new Error(`${route} is not documented`);
    const [method, template] = route.split(' ') as [string, string];
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(request.params?.[name] ?? '')) + (request.query ?? '');
    const raw = request.body === undefined ? undefined : JSON.stringify(request.body);
    const game = request.signedBy;
    const signature = game
      ? signedHeaders(game.secret, game.gameId, method, path, raw ?? '', randomBytes(12).toString('hex'), nowSeconds())
      : {};
    const res = await fetch(`${h.api.url}${path}`, {
      method,
      body: raw,
      headers: {
        ...(raw ? { 'Content-Type': 'application/json' } : {}),
        ...signature,
        ...request.headers,
      },
    });
    const text = await res.text();

    const status = String(res.status) as `${1 | 2 | 3 | 4 | 5}${string}`;
    const documented = operation.responses[status] as ZodOpenApiResponseObject | undefined;
    if (!documented) throw new Error(`${route} answered ${res.status}, which is not documented: ${text}`);
    if (!documented.content) {
      expect({ route, body: text }).toEqual({ route, body: '' });
      return { status: res.status, body: undefined };
    }
    const contentType = res.headers.get('content-type') ?? '';
    const media = Object.entries(documented.content).find(([type]) => contentType.startsWith(type))?.[1];
    if (!media) throw new Error(`${route} ${status} answered ${contentType}, not ${Object.keys(documented.content)}`);
    if (!(media.schema instanceof z.ZodType)) return { status: res.status, body: text };
    const parsed = media.schema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new Error(`${route} ${status} differs from its documentation:\n${z.prettifyError(parsed.error)}\n${text}`);
    }
    return { status: res.status, body: JSON.parse(text) };
  }

  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const admin = () => ({ Authorization: `Bearer ${h.config.ADMIN_TOKEN}` });
  const operator = () => ({ ...admin(), 'X-Operator': 'alice@studio.example' });

  it('health, readiness, metrics and documentation', async () => {
    expect((await send('GET /healthz')).status).toBe(200);
    expect((await send('GET /readyz')).body.ready).toBe(true);
    // Metrics are on API_METRICS_ADDRESS, not on the public port.
    expect((await h.request('GET', '/metrics')).status).toBe(404);
    expect(await (await fetch(h.api.metricsUrl)).text()).toContain('# TYPE');
    expect((await send('GET /openapi.json')).status).toBe(200);
    expect((await send('GET /docs')).status).toBe(200);
  });

  it('admin, with the documented examples as requests', async () => {
    const params = { gameId: `docs-${randomUUID().slice(0, 8)}` };
    const [game] = examplesOf(gameBody);
    expect((await send('PUT /v1/admin/games/{gameId}', { params, body: game })).status).toBe(401);
    const stored = await send('PUT /v1/admin/games/{gameId}', { params, headers: admin(), body: game });
    expect(stored.body.gameId).toBe(params.gameId);

    const sku = `docs-${randomUUID().slice(0, 8)}`;
    for (const item of examplesOf(itemBody)) {
      const body = { ...item, gameId: params.gameId };
      expect((await send('PUT /v1/admin/items/{sku}', { params: { sku }, headers: admin(), body })).status).toBe(200);
    }
    const body = { ...examplesOf(itemBody)[0], gameId: 'no-such-game' };
    const orphan = await send('PUT /v1/admin/items/{sku}', { params: { sku }, headers: admin(), body });
    expect(orphan.body.error.code).toBe('GAME_NOT_FOUND');

    const blacklist = 'PUT /v1/admin/risk/blacklist/{kind}/{value}';
    const entry = { kind: 'DEVICE', value: `docs-${randomUUID()}` };
    const added = await send(blacklist, { params: entry, headers: admin(), body: { reason: 'test' } });
    expect(added.body).toEqual({ ...entry, reason: 'test' });
    const removed = await send('DELETE /v1/admin/risk/blacklist/{kind}/{value}', { params: entry, headers: admin() });
    expect(removed.status).toBe(204);
    const badKind = await send(blacklist, { params: { kind: 'EMAIL', value: 'x' }, headers: admin() });
    expect(badKind.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('orders, sandbox, callbacks and operations', async () => {
    const game = await h.createGame();
    const sku = await h.createItem(game);
    const headers = { 'Idempotency-Key': randomUUID() };
    const body = { ...examplesOf(createOrderBody)[0], sku, channel: 'sandbox' };
    const created = await send('POST /v1/orders', { signedBy: game, headers, body });
    expect(created.status).toBe(201);
    const reused = await send('POST /v1/orders', { signedBy: game, headers, body: { ...body, quantity: 3 } });
    expect(reused.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
    const params: Record<string, string> = {
      orderId: created.body.orderId,
      paymentId: created.body.payment.channelPaymentId,
    };

    expect((await send('GET /v1/orders/{orderId}', { signedBy: game, params })).body.status).toBe('PENDING_PAYMENT');
    expect((await send('GET /sandbox/checkout/{paymentId}', { params })).body).toContain(params.paymentId);
    expect((await send('GET /sandbox/checkout/{paymentId}', { params: { paymentId: 'nope' } })).status).toBe(404);
    const failed = await send('POST /sandbox/checkout/{paymentId}/pay', { params, body: { result: 'FAILED' } });
    expect(failed.body.status).toBe('FAILED');

    expect((await send('POST /v1/orders/{orderId}/cancel', { signedBy: game, params })).body.status).toBe('CLOSED');
    const missing = await send('GET /v1/orders/{orderId}', { signedBy: game, params: { orderId: randomUUID() } });
    expect(missing.body.error.code).toBe('ORDER_NOT_FOUND');

    const forged = await send('POST /v1/callbacks/{channel}', {
      params: { channel: 'sandbox' },
      headers: { 'Sandbox-Timestamp': String(nowSeconds()), 'Sandbox-Signature': 'AAAA' },
      body: { notifyId: 'n-1' },
    });
    expect(forged.body.error.code).toBe('INVALID_SIGNATURE');

    expect((await send('GET /v1/ops/orders', { headers: operator() })).status).toBe(200);
    const found = await send('GET /v1/ops/orders', { headers: operator(), params: {} });
    expect(found.status).toBe(200);
    const story = await send('GET /v1/ops/orders/{orderId}', { params, headers: operator() });
    expect(story.body.order.status).toBe('CLOSED');
    expect((await send('GET /v1/ops/orders/{orderId}', { params: { orderId: randomUUID() }, headers: operator() })).status).toBe(404);
    const notOpen = await send('POST /v1/ops/orders/{orderId}/close', { params, headers: operator(), body: examplesOf(opsActionBody)[0] });
    expect(notOpen.body.error.code).toBe('OPS_ACTION_NOT_ALLOWED');
    const refused = await send('POST /v1/ops/orders/{orderId}/refund', {
      params,
      headers: operator(),
      body: examplesOf(opsActionBody)[0],
    });
    expect(refused.body.error.code).toBe('OPS_ACTION_NOT_ALLOWED');

    // Paid, but not the amount asked: an operator resolves it with the documented example.
    const other = await send('POST /v1/orders', { signedBy: game, headers: { 'Idempotency-Key': randomUUID() }, body });
    const underpaid = { orderId: other.body.orderId, paymentId: other.body.payment.channelPaymentId };
    const paid = { result: 'SUCCESS', paidAmount: 1 };
    await send('POST /sandbox/payments/{paymentId}/complete', { params: underpaid, headers: admin(), body: paid });
    await h.waitForStatus(underpaid.orderId, 'MANUAL_REVIEW');
    const resolved = await send('POST /v1/ops/orders/{orderId}/resolve', {
      params: underpaid,
      headers: operator(),
      body: examplesOf(resolveBody)[0],
    });
    expect(resolved.status).toBe(202);

    // The console's sign-in, its session and sign-out.
    expect((await send('GET /v1/console/session')).status).toBe(401);
    const signedIn = await send('POST /v1/console/session', { body: { token: h.config.ADMIN_TOKEN, operator: 'alice@studio.example' } });
    expect(signedIn.body.role).toBe('admin');
    expect((await send('POST /v1/console/session', { body: { token: 'wrong', operator: 'alice' } })).status).toBe(401);
    expect((await send('POST /v1/console/session', { headers: { Origin: 'https://evil.example' }, body: { token: 'x', operator: 'a' } })).status).toBe(403);
    expect((await send('DELETE /v1/console/session')).status).toBe(204);
  });

  it('the storefront', async () => {
    const game = await h.createGame();
    const sku = await h.createItem(game);
    const listed = await send('GET /v1/storefront', { signedBy: game, query: '?userId=player-10086&region=CN&platform=ios' });
    expect(listed.body.items.map((i: { sku: string }) => i.sku)).toEqual([sku]);
    expect((await send('GET /v1/storefront', { signedBy: game, query: '?userId=player-10086' })).body.error.code).toBe('VALIDATION_ERROR');
    expect((await send('GET /v1/storefront', { query: '?userId=player-10086&region=CN' })).status).toBe(401);
  });

  it('delivery acks, with the documented examples as requests', async () => {
    const game = await h.createGame();
    const params = { deliveryId: String(examplesOf(deliveryIdParam)[0]) };
    for (const body of examplesOf(deliveryAckBody)) {
      expect((await send('POST /v1/deliveries/{deliveryId}/ack', { params, signedBy: game, body })).body.error.code).toBe('DELIVERY_NOT_FOUND');
    }
    expect((await send('POST /v1/deliveries/{deliveryId}/ack', { params, body: examplesOf(deliveryAckBody)[0] })).status).toBe(401);
    const bad = await send('POST /v1/deliveries/{deliveryId}/ack', { params, signedBy: game, body: { result: 'GRANTED' } });
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');

    const revocation = { revocationId: String(examplesOf(revocationIdParam)[0]) };
    for (const body of examplesOf(revocationAckBody)) {
      expect((await send('POST /v1/revocations/{revocationId}/ack', { params: revocation, signedBy: game, body })).body.error.code).toBe('REVOCATION_NOT_FOUND');
    }
    expect((await send('POST /v1/revocations/{revocationId}/ack', { params: revocation, body: examplesOf(revocationAckBody)[0] })).status).toBe(401);
    const badRevocation = await send('POST /v1/revocations/{revocationId}/ack', { params: revocation, signedBy: game, body: {} });
    expect(badRevocation.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('finance, grant logs and sandbox statements, with the documented examples as requests', async () => {
    const game = await h.createGame();
    const [grants, empty] = examplesOf(grantLogBody);
    expect((await send('POST /v1/games/grant-logs', { signedBy: game, body: grants })).body).toMatchObject({ received: 1 });
    expect((await send('POST /v1/games/grant-logs', { signedBy: game, body: empty })).body.recorded).toBe(0);
    expect((await send('POST /v1/games/grant-logs', { body: empty })).status).toBe(401);
    const badGrant = await send('POST /v1/games/grant-logs', { signedBy: game, body: { date: '2026-02-30', grants: [] } });
    expect(badGrant.body.error.code).toBe('VALIDATION_ERROR');

    const date = String(examplesOf(statementDate)[0]);
    const statement = await send('GET /sandbox/statements/{date}', { params: { date }, headers: admin() });
    expect(statement.body).toMatch(/^\uFEFF?交易时间,/);
    expect((await send('GET /sandbox/statements/{date}', { params: { date: '2026-13-01' }, headers: admin() })).body.error.code).toBe('VALIDATION_ERROR');
    const foreign = examplesOf(adjustmentBody).find((a) => a.kind === 'EXTRA' && !a.channelPaymentId)!;
    expect((await send('POST /sandbox/statements/{date}/adjustments', { params: { date }, headers: admin(), body: foreign })).body.channelTradeNo).toMatch(/^sbxtxn_/);
    const unknown = await send('POST /sandbox/statements/{date}/adjustments', { params: { date }, headers: admin(), body: examplesOf(adjustmentBody)[0] });
    expect(unknown.body.error.code).toBe('PAYMENT_NOT_FOUND');

    const [request] = examplesOf(reconciliationRequest);
    const started = await send('POST /v1/finance/reconciliations', { headers: operator(), body: request });
    expect(started.status).toBe(202);
    const runId = started.body.runs[0].id;
    const far = await send('POST /v1/finance/reconciliations', { headers: admin(), body: { channel: 'sandbox', from: '2030-01-01', to: '2030-01-01' } });
    expect(far.body.error.code).toBe('DATE_IN_FUTURE');
    const noChannel = await send('POST /v1/finance/reconciliations', { headers: admin(), body: { ...request, channel: 'no-such-channel' } });
    expect(noChannel.body.error.code).toBe('CHANNEL_NOT_FOUND');
    expect((await send('GET /v1/finance/reconciliations', { headers: admin() })).body.runs.length).toBeGreaterThan(0);
    for (let run = await send('GET /v1/finance/reconciliations/{runId}', { params: { runId }, headers: admin() }); ; ) {
      if (run.body.status !== 'RUNNING') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
      run = await send('GET /v1/finance/reconciliations/{runId}', { params: { runId }, headers: admin() });
    }
    const done = await send('GET /v1/finance/reconciliations/{runId}', { params: { runId }, headers: admin() });
    expect(done.body.status).toBe('COMPLETED');
    const missing = await send('GET /v1/finance/reconciliations/{runId}', { params: { runId: randomUUID() }, headers: admin() });
    expect(missing.body.error.code).toBe('RUN_NOT_FOUND');
    const difference = await send('POST /v1/finance/differences/{differenceId}/resolve', {
      params: { differenceId: '999999999' },
      headers: operator(),
      body: examplesOf(resolveDifferenceBody)[0],
    });
    expect(difference.body.error.code).toBe('DIFFERENCE_NOT_FOUND');

    expect((await send('GET /v1/finance/ledger/trial-balance', { headers: admin() })).status).toBe(200);
    const entries = await send('GET /v1/finance/ledger/accounts/{account}/entries', { params: { account: 'suspense' }, headers: admin() });
    expect(entries.body.account).toBe('suspense');
    expect((await send('GET /v1/finance/reports/revenue', { headers: admin() })).body.error.code).toBe('VALIDATION_ERROR');
  });
});

describe('the webhooks a game server answers', () => {
  it('counts a 3xx answer as a failed attempt and never follows it to another URL', async () => {
    const game = await h.createGame();
    // A game server that answers every delivery with a redirect to the reference game server.
    let redirected = 0;
    const redirector = createServer((req, res) => {
      redirected++;
      req.resume();
      res.writeHead(307, { Location: h.gameServer.deliveryUrl(game.gameId) }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const deliveryUrl = `http://127.0.0.1:${(redirector.address() as { port: number }).port}/deliveries`;
      expect((await h.admin('PUT', `/v1/admin/games/${game.gameId}`, { name: 'Test Game', secret: game.secret, deliveryUrl })).status).toBe(200);
      const sku = await h.createItem(game);
      const created = await h.createOrder(game, { userId: `redirect-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
      const { orderId, payment } = created.body as { orderId: string; payment: { channelPaymentId: string } };
      await h.pay(payment.channelPaymentId);
      for (const deadline = Date.now() + 20_000; redirected < 2 && Date.now() < deadline; ) await sleep(100);
      expect(redirected).toBeGreaterThanOrEqual(2);
      expect(h.gameServer.attempts.filter((a) => a.orderId === orderId)).toEqual([]);
      expect(await h.orderStatus(orderId)).toBe('DELIVERING');
    } finally {
      redirector.close();
    }
  });

  it('documents deliveries and revocations with bodies that are what a game server receives', async () => {
    const document = buildOpenApiDocument(options());
    expect(Object.keys(document.webhooks ?? {})).toEqual(['delivery', 'revocation', 'monthlyCardDay']);
    for (const body of [deliveryWebhookBody, revocationWebhookBody, monthlyCardDayWebhookBody]) {
      for (const example of examplesOf(body)) expect(body.safeParse(example).error).toBeUndefined();
    }

    const game = await h.createGame();
    const withRevokeUrl = { name: 'Test Game', secret: game.secret, deliveryUrl: h.gameServer.deliveryUrl(game.gameId), revokeUrl: h.gameServer.revokeUrl(game.gameId) };
    expect((await h.admin('PUT', `/v1/admin/games/${game.gameId}`, withRevokeUrl)).status).toBe(200);
    const sku = await h.createItem(game);
    const created = await h.createOrder(game, { userId: `webhooks-${randomUUID().slice(0, 8)}`, sku, region: 'CN', quantity: 2 });
    const { orderId, payment } = created.body as { orderId: string; payment: { channelPaymentId: string } };
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'DELIVERED');
    const refund = await h.request('POST', `/v1/ops/orders/${orderId}/refund`, JSON.stringify({ reason: 'webhook contract' }), {
      Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
      'X-Operator': 'alice',
      'Content-Type': 'application/json',
    });
    expect(refund.status).toBe(202);
    const revocation = async () => [...h.gameServer.revocations.values()].find((r) => r.orderId === orderId);
    for (const deadline = Date.now() + 20_000; !(await revocation()) && Date.now() < deadline; ) await sleep(100);

    const delivery = h.gameServer.attempts.find((a) => a.orderId === orderId)!;
    expect(deliveryWebhookBody.parse(delivery.body)).toMatchObject({ quantity: 2 });
    expect(revocationWebhookBody.parse((await revocation())!.body)).toMatchObject({ orderId, reason: 'REFUND' });
  });
});
