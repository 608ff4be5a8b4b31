import { createServer, type Server } from 'node:http';
import { runInNewContext } from 'node:vm';
import express from 'express';
import { docsRouter } from '../../api/docs/routes';
import { Harness, type TestGame } from '../support/harness';

let h: Harness;
let game: TestGame;
let sku: string;
beforeAll(async () => ({ h, game, sku } = await Harness.startWithGame()));
afterAll(() => h?.close());

/** The page's start-up script, run as the browser runs it; returns the Swagger UI options it sets. */
async function swaggerOptions(scriptUrl: string): Promise<Record<string, unknown>> {
  const script = await (await fetch(scriptUrl)).text();
  let options: Record<string, unknown> = {};
  const SwaggerUIBundle = Object.assign((o: Record<string, unknown>) => (options = o), { presets: { apis: {} } });
  runInNewContext(script, { window: { location: { origin: h.api.url } }, crypto: globalThis.crypto, SwaggerUIBundle, URL, TextEncoder, Uint8Array, Array, String, Math, Date });
  return options;
}

describe('the API documentation page', () => {
  it("signs 'Try it out' requests as the demo game in development, so a newcomer creates an order from the page", async () => {
    const app = express().use(docsRouter({ sandbox: true, demoSigner: game }));
    const server: Server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const options = await swaggerOptions(`http://127.0.0.1:${(server.address() as { port: number }).port}/docs/assets/start-swagger-ui.js`);
      const intercept = options.requestInterceptor as (req: Record<string, unknown>) => Promise<{ url: string; method: string; headers: Record<string, string>; body: string }>;
      const req = await intercept({
        url: `${h.api.url}/v1/orders`,
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ userId: 'docs-newcomer', sku, region: 'CN' }),
      });
      expect(req.headers).toMatchObject({ 'X-Game-Id': game.gameId, 'Idempotency-Key': expect.any(String) });
      const res = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
      expect(res.status).toBe(201);
      const read = await intercept({ url: `${h.api.url}/v1/orders/${((await res.json()) as { orderId: string }).orderId}`, method: 'GET', headers: {} });
      expect((await fetch(read.url, { headers: read.headers })).status).toBe(200);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('only documents outside development: no secret in the page', async () => {
    const options = await swaggerOptions(`${h.api.url}/docs/assets/start-swagger-ui.js`);
    expect(options.requestInterceptor).toBeUndefined();
    const script = await (await fetch(`${h.api.url}/docs/assets/start-swagger-ui.js`)).text();
    expect(script).not.toContain('secret');
  });
});
