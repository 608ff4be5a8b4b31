import { randomBytes, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { openApiSpec } from '../../api/openapi';
import { signedHeaders } from '../../domain/signature';
import { Harness, type TestGame } from '../support/harness';

/**
 * Property: whatever arrives at any route — random and malformed bodies, headers, path and query
 * values, correct and broken signatures — the API never answers 5xx, every error has the documented
 * shape, and a refused request changes nothing in the books.
 */

let h: Harness;
let game: TestGame;
let sku: string;

beforeAll(async () => {
  ({ h, game, sku } = await Harness.startWithGame());
});
afterAll(() => h?.close());

const HTTP_METHODS = ['get', 'put', 'post', 'delete'] as const;

/** Every documented `METHOD /path/{param}` (the OpenAPI test keeps this list equal to what is served). */
function routes(): { method: string; path: string }[] {
  return Object.entries(openApiSpec({ sandbox: true }).paths ?? {}).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((m) => (item[m] ? [{ method: m.toUpperCase(), path }] : [])),
  );
}

/** Strings that have broken services before: NUL, lone surrogates, dots, huge, unicode, injection. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('\u0000', 'a\u0000b', '\ud800', 'x\udfff', '.', '..', '../../etc/passwd', "'; DROP TABLE orders; --", '%00', '%', '\n', '😀', ' ', ''),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer({ min: 100, max: 7_000 }).map((n) => 'a'.repeat(n)),
);
const nastyNumber = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 1e21, Number.MAX_SAFE_INTEGER, 2 ** 31, 100000000000, 1.5, -0),
  fc.double(),
);
const nastyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    nastyString,
    nastyNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(nastyString, fc.constantFrom('userId', 'sku', 'quantity', 'region', 'name', 'reason', 'result', 'kind', 'params', 'orderId')), tie('value'), {
      maxKeys: 5,
    }),
  ),
})).value;

/** A plausible body with one field broken: gets past the shape check to the next layer. */
const almostValidBody = fc.record({
  userId: nastyString,
  sku: fc.oneof(fc.constant('__SKU__'), nastyString),
  quantity: fc.oneof(fc.integer({ min: 1, max: 10_000 }), nastyNumber),
  region: fc.oneof(fc.constant('CN'), nastyString),
  name: nastyString,
  reason: nastyString,
  result: fc.constantFrom('SUCCESS', 'FAILED', 'MAYBE', 'GRANTED', 'REJECTED'),
  orderId: fc.oneof(fc.constant(randomUUID()), nastyString),
  deviceId: nastyString,
});

const body = fc.oneof(
  fc.constant(undefined),
  nastyJson.map((v) => JSON.stringify(v) ?? 'null'),
  almostValidBody.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 60 }),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'image/png',
  'text/plain',
  'application/x-www-form-urlencoded',
  undefined,
);
const auth = fc.constantFrom('none', 'admin', 'game', 'game-bad-signature', 'game-nasty-headers');

interface Attempt {
  route: { method: string; path: string };
  pathValues: string[];
  query: [string, string][];
  body?: string;
  contentType?: string;
  auth: string;
  nonce: string;
  idempotencyKey: string;
  operator: string;
}

const attempt = (all: { method: string; path: string }[]) =>
  fc.record({
    route: fc.constantFrom(...all),
    pathValues: fc.array(fc.oneof(nastyString, fc.constant(randomUUID()), fc.constant('sandbox')), { minLength: 3, maxLength: 3 }),
    query: fc.array(fc.tuple(fc.constantFrom('status', 'olderThanSeconds', 'gameId', 'limit', 'channelId', 'userId', 'x'), nastyString), { maxLength: 3 }),
    body,
    contentType,
    auth,
    nonce: fc.oneof(fc.constant(randomBytes(16).toString('hex')), nastyString),
    idempotencyKey: fc.oneof(fc.constant(randomUUID()), nastyString),
    operator: fc.oneof(fc.constant('alice@studio.example'), nastyString),
  });

/** Header values Node cannot send are sent as bytes would be: replaced by their latin1 form, or dropped. */
function headerValue(value: string): string | undefined {
  const latin1 = Buffer.from(value, 'latin1').toString('latin1');
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(latin1) && latin1.length < 8_000 ? latin1 : undefined;
}

/** Percent-encodes any string, lone surrogates included (as the 3 bytes a WTF-8 client would send). */
function percentEncode(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(value.slice(i, i + 2));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(value[i]!);
    }
  }
  return out;
}

function buildRequest(a: Attempt) {
  let i = 0;
  const path = a.route.path
    .replace(/\{[^}]+\}/g, () => percentEncode(a.pathValues[i++ % a.pathValues.length]!).replace(/%25/g, '%'))
    .replace('__SKU__', sku);
  const query = a.query.map(([k, v]) => `${k}=${percentEncode(v)}`).join('&');
  const pathWithQuery = query ? `${path}?${query}` : path;
  const rawBody = a.body?.replace('__SKU__', sku);
  const headers: Record<string, string> = {};
  const put = (name: string, value: string | undefined) => {
    const v = value === undefined ? undefined : headerValue(value);
    if (v !== undefined) headers[name] = v;
  };
  put('Content-Type', a.contentType);
  put('Idempotency-Key', a.idempotencyKey);
  put('X-Operator', a.operator);
  if (a.auth === 'admin') headers.Authorization = `Bearer ${h.config.ADMIN_TOKEN}`;
  if (a.auth.startsWith('game')) {
    const signed = signedHeaders(game.secret, game.gameId, a.route.method, pathWithQuery, rawBody ?? '', a.nonce, Math.floor(Date.now() / 1000));
    if (a.auth === 'game-bad-signature') signed['X-Signature'] = signed['X-Signature']!.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    if (a.auth === 'game-nasty-headers') {
      signed['X-Game-Id'] = a.pathValues[0]!;
      signed['X-Timestamp'] = a.pathValues[1]!;
    }
    for (const [k, v] of Object.entries(signed)) put(k, v);
  }
  return { method: a.route.method, pathWithQuery, headers, rawBody };
}

/** Raw HTTP: fetch would refuse some of the bytes worth sending. */
function send(req: ReturnType<typeof buildRequest>): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(h.api.url);
    const r = httpRequest(
      { host: url.hostname, port: url.port, method: req.method, path: req.pathWithQuery, headers: req.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), type: res.headers['content-type'] ?? '' }),
        );
      },
    );
    r.on('error', reject);
    if (req.rawBody !== undefined) r.write(Buffer.from(req.rawBody, 'latin1'));
    r.end();
  });
}

/** Counts of everything a request could change. */
async function books() {
  const [row] = await h.db.$queryRawUnsafe<Record<string, string>[]>(`SELECT
      (SELECT count(*) FROM orders) AS orders,
      (SELECT count(*) FROM order_history) AS history,
      (SELECT count(*) FROM channel_notifications) AS notifications,
      (SELECT count(*) FROM payment_attempts) AS payment_attempts,
      (SELECT count(*) FROM refunds) AS refunds,
      (SELECT count(*) FROM games) AS games,
      (SELECT count(*) FROM items) AS items,
      (SELECT count(*) FROM item_prices) AS prices,
      (SELECT count(*) FROM risk_blacklist) AS blacklist,
      (SELECT count(*) FROM risk_rules) AS risk_rules,
      (SELECT count(*) FROM sandbox_payments) AS sandbox_payments,
      (SELECT count(*) FROM sandbox_refunds) AS sandbox_refunds,
      (SELECT count(*) FROM ops_actions) AS ops_actions,
      (SELECT count(*) FROM deliveries WHERE acknowledged_at IS NOT NULL) AS delivery_acks,
      (SELECT count(*) FROM revocations WHERE acknowledged_at IS NOT NULL) AS revocation_acks,
      (SELECT coalesce(sum(stock_available), 0) FROM items) AS stock`);
  return row!;
}

describe('every route, any input', () => {
  it('never answers 5xx, always answers errors in the documented shape, and a refusal changes nothing', async () => {
    const all = routes();
    expect(all.length).toBeGreaterThan(15);
    await fc.assert(
      fc.asyncProperty(attempt(all), async (a) => {
        const req = buildRequest(a);
        const before = await books();
        const res = await send(req);
        if (res.status >= 500) throw new Error(`${req.method} ${req.pathWithQuery} answered ${res.status}: ${res.body.slice(0, 300)}`);
        // The sandbox checkout page is a page for people: its 404 is documented as HTML.
        const page = a.route.path.startsWith('/sandbox/checkout/') && res.status === 404 && res.type.startsWith('text/html');
        if (res.status >= 400 && !page) {
          expect(res.type).toMatch(/^application\/json/);
          const parsed = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } };
          expect(typeof parsed.error?.code).toBe('string');
          expect(parsed.error!.code).toMatch(/^[A-Z][A-Z_]+$/);
          expect(typeof parsed.error?.message).toBe('string');
          // Audited refusals of operator actions are records of the refusal, not changes to an order.
          const after = await books();
          const { ops_actions: opsBefore, ...restBefore } = before;
          const { ops_actions: opsAfter, ...restAfter } = after;
          expect(restAfter).toEqual(restBefore);
          if (!req.pathWithQuery.startsWith('/v1/ops/orders/')) expect(opsAfter).toBe(opsBefore);
        }
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 400), seed: process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : undefined },
    );
  }, 300_000);

  it("answers what Node's HTTP parser refuses in the same JSON shape", async () => {
    const raw = (lines: string) =>
      new Promise<string>((resolve, reject) => {
        const url = new URL(h.api.url);
        const socket = require('node:net').connect(Number(url.port), url.hostname, () => socket.end(lines));
        let answer = '';
        socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
        socket.on('close', () => resolve(answer));
        socket.on('error', reject);
      });
    const huge = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'HEADERS_TOO_LARGE' } });
    const badMethod = await raw('FROB /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(badMethod).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(badMethod.slice(badMethod.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'MALFORMED_REQUEST' } });
  });
});
