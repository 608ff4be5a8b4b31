import { randomUUID } from 'node:crypto';
import { purchaseWorkflowId } from '../../domain/ids';
import { Harness, logCapture, sleep, type TestGame } from '../support/harness';

let h: Harness;
let game: TestGame;

beforeAll(async () => {
  h = await Harness.start({ LOG_LEVEL: 'debug' });
  game = await h.createGame();
});
afterAll(() => h?.close());

type LogLine = Record<string, unknown> & { msg: string; level: number };

describe('structured logs', () => {
  it('follow one purchase by request, order and workflow, and never show secrets or personal data', async () => {
    const sku = await h.createItem(game);
    const clientIp = '203.0.113.77';
    const deviceId = `device-${randomUUID()}`;
    const requestId = `req-${randomUUID()}`;
    logCapture.lines.length = 0;
    logCapture.recording = true;
    try {
      h.gameServer.mode = 'fail';
      const created = await h.signed(
        game,
        'POST',
        '/v1/orders',
        { userId: 'player-1', sku, region: 'CN', clientIp, deviceId },
        { 'Idempotency-Key': randomUUID(), 'X-Request-Id': requestId },
      );
      expect(created.status).toBe(201);
      const { orderId, payment } = created.body;
      await h.pay(payment.channelPaymentId);
      while (h.gameServer.attemptsFor(orderId).length < 1) await sleep(20);
      h.gameServer.mode = 'ok';
      await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('DELIVERED');

      const lines = logCapture.lines.map((l) => JSON.parse(l) as LogLine);
      const workflowId = purchaseWorkflowId(orderId);
      // The API's access log carries the caller's request id.
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: 'request', requestId, method: 'POST', path: '/v1/orders', status: 201 }),
      );
      // Workflow logs carry the order, its workflow and the request that created it.
      const transitions = lines.filter((l) => l.msg === 'order status changed' && l.orderId === orderId);
      expect(transitions.map((l) => l.status)).toEqual(['PENDING_PAYMENT', 'PAID', 'DELIVERING', 'DELIVERED']);
      for (const line of transitions) expect(line).toMatchObject({ workflowId, requestId });
      // Activity logs carry the workflow too.
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'delivery attempt failed', orderId, workflowId }));
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'payment notification', orderId }));

      const text = logCapture.lines.join('\n');
      const forbidden = {
        gameSecret: game.secret,
        adminToken: h.config.ADMIN_TOKEN,
        sandboxKey: h.config.SANDBOX_PRIVATE_KEY!.split('\n')[1],
        clientIp,
        deviceId,
      };
      for (const [what, value] of Object.entries(forbidden)) {
        expect({ what, found: text.includes(value) }).toEqual({ what, found: false });
      }
      // No HMAC (64 hex) or RSA (base64) signature value appears either.
      expect(text).not.toMatch(/"x-signature"|"sandbox-signature"/i);
      expect(text).not.toMatch(/\b[0-9a-f]{64}\b/);
    } finally {
      logCapture.recording = false;
    }
  });

  it('redacts sensitive fields wherever they are nested', async () => {
    const { createLogger } = await import('../../infra/logger');
    const { LogCapture } = await import('../support/log-capture');
    const sink = new LogCapture();
    sink.recording = true;
    const log = createLogger({ LOG_LEVEL: 'info', NODE_ENV: 'test' }, 'redaction', sink);
    log.info({ game: { secret: 's3cret-value' }, order: { clientIp: '198.51.100.1', deviceId: 'dev-1' }, privateKey: 'PEM' }, 'x');
    await new Promise((resolve) => setImmediate(resolve));
    const line = sink.lines.join('\n');
    expect(line).toContain('[redacted]');
    for (const value of ['s3cret-value', '198.51.100.1', 'dev-1', '"PEM"']) expect(line).not.toContain(value);
  });
});
