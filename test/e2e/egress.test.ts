import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Harness, sleep, type TestGame } from '../support/harness';

let h: Harness;
/** A proxy in front of a game server (an SSO or a WAF): `/<status>/...` answers with a redirect to `/target`, which answers 200 to anything. */
let redirector: Server;
let redirectorUrl: string;
const targetReceived: { method?: string; headers: Record<string, unknown> }[] = [];

beforeAll(async () => {
  h = await Harness.start();
  redirector = createServer((req, res) => {
    if (req.url === '/target') {
      targetReceived.push({ method: req.method, headers: req.headers });
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    }
    const [, status] = /^\/(\d{3})\//.exec(req.url ?? '') ?? [];
    res.writeHead(Number(status ?? 404), { Location: `${redirectorUrl}/target` }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => redirector?.close(resolve));
  await h?.close();
});
afterEach(() => {
  h.config.EGRESS_ALLOW_PRIVATE_NETWORKS = true;
  h.config.EGRESS_ALLOW_HTTP = true;
});

const putGame = (gameId: string, fields: Record<string, unknown>) =>
  h.admin('PUT', `/v1/admin/games/${gameId}`, { name: 'Egress game', secret: 's'.repeat(32), ...fields });

/** A game whose deliveryUrl answers every call with a redirect `status`. */
async function gameBehindRedirect(status: number): Promise<{ game: TestGame; sku: string }> {
  const game = await h.http.registerGame((gameId) => `${redirectorUrl}/${status}/${gameId}`);
  return { game, sku: await h.createItem(game) };
}

describe('calls to game servers', () => {
  it.each([302, 307])('a deliveryUrl answering %i is a failed attempt: not delivered, the target never called, the Location in ops', async (status) => {
    const { game, sku } = await gameBehindRedirect(status);
    const created = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
    expect(created.status).toBe(201);
    const { orderId } = created.body as { orderId: string };
    await h.pay(created.body.payment.channelPaymentId);
    await h.waitForStatus(orderId, 'DELIVERING');

    const target = `${redirectorUrl}/target`;
    let stuck: { orderId?: string; lastError: string } | undefined;
    for (const deadline = Date.now() + 10_000; !stuck && Date.now() < deadline; await sleep(100)) {
      const answer = await h.request('GET', '/v1/ops/stuck?olderThanSeconds=0&limit=500', undefined, {
        Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
        'X-Operator': 'ops@studio.example',
      });
      stuck = (answer.body.stuck as { orderId?: string; lastError: string }[]).find((s) => s.orderId === orderId);
    }
    expect(stuck?.lastError).toContain(`game server answered ${status} (redirect to ${target}`);
    const delivery = await h.db.delivery.findFirst({ where: { orderId } });
    expect(delivery).toMatchObject({ lastStatusCode: status, deliveredAt: null });
    expect(delivery!.attempts).toBeGreaterThanOrEqual(1);
    expect(await h.orderStatus(orderId)).toBe('DELIVERING');
    // Neither a GET without body (302) nor the signed POST again (307) reached the redirect's target.
    expect(targetReceived).toHaveLength(0);
  });
});

describe('configured URLs are judged when written', () => {
  const gameId = () => `egress-${randomUUID().slice(0, 8)}`;

  it.each([
    ['the cloud metadata address', { deliveryUrl: 'http://169.254.169.254/latest/meta-data/' }, 'deliveryUrl', /link-local/],
    ['a link-local IPv6 revokeUrl', { deliveryUrl: 'https://game.example.com/d', revokeUrl: 'https://[fe80::1]/r' }, 'revokeUrl', /link-local/],
    ['credentials in the URL', { deliveryUrl: 'https://user:pw@game.example.com/d' }, 'deliveryUrl', /credentials/],
  ])('refuses a game whose URL has %s (400 VALIDATION_ERROR)', async (_what, urls, path, message) => {
    const answer = await putGame(gameId(), urls);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { issues: [{ path, message: expect.stringMatching(message) }] } });
  });

  it('keeps a game\'s requireDeliveryEcho (false unless set)', async () => {
    const id = gameId();
    expect((await putGame(id, { deliveryUrl: 'https://game.example.com/d' })).body.requireDeliveryEcho).toBe(false);
    expect((await putGame(id, { deliveryUrl: 'https://game.example.com/d', requireDeliveryEcho: true })).body.requireDeliveryEcho).toBe(true);
    expect(await h.db.game.findUnique({ where: { id }, select: { requireDeliveryEcho: true } })).toEqual({ requireDeliveryEcho: true });
  });

  it('refuses a non-http(s) deliveryUrl', async () => {
    expect((await putGame(gameId(), { deliveryUrl: 'file:///etc/passwd' })).body.error.code).toBe('VALIDATION_ERROR');
  });

  it('refuses private addresses and plain http when the settings refuse them, and takes them when they allow them', async () => {
    const id = gameId();
    expect((await putGame(id, { deliveryUrl: 'http://10.0.0.8/d' })).status).toBe(200);
    h.config.EGRESS_ALLOW_PRIVATE_NETWORKS = false;
    h.config.EGRESS_ALLOW_HTTP = false;
    for (const deliveryUrl of ['https://10.0.0.8/d', 'https://127.0.0.1:5432/', 'https://[::1]/d', 'https://0x7f000001/d', 'https://2130706433/d']) {
      const answer = await putGame(id, { deliveryUrl });
      expect(answer.status).toBe(400);
      expect(answer.body.error.details.issues[0].message).toMatch(/private or loopback/);
    }
    expect((await putGame(id, { deliveryUrl: 'http://game.example.com/d' })).body.error.details.issues[0].message).toMatch(/https is required/);
    expect((await putGame(id, { deliveryUrl: 'https://game.example.com/d' })).status).toBe(200);
  });

  it("refuses a channel account whose base URL is link-local, naming the field, never its value", async () => {
    const answer = await h.admin('PUT', `/v1/admin/channels/sandbox-${randomUUID().slice(0, 6)}`, {
      type: 'sandbox',
      enabled: false,
      credentials: { baseUrl: 'http://169.254.169.254/sandbox' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { issues: [{ path: 'credentials.baseUrl' }] } });
    expect(JSON.stringify(answer.body)).not.toContain('169.254.169.254');
  });
});
