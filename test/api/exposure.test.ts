import { connect, type Socket } from 'node:net';
import { Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  // Short, but not so short that a CI machine pausing the event loop for half a second turns a whole,
  // instantly sent request into a 408 (the keep-alive test saw that once).
  h = await Harness.start({ HTTP_HEADERS_TIMEOUT_MS: '1500', HTTP_REQUEST_TIMEOUT_MS: '2500', HTTP_KEEP_ALIVE_TIMEOUT_MS: '500' });
});
afterAll(() => h?.close());

/** A raw connection to the public port that sends `head` and then nothing more; resolves with what came back when it closed. */
function slowClient(head: string): { closed: Promise<{ answer: string; afterMs: number }>; socket: Socket } {
  const { port } = new URL(h.api.url);
  const socket = connect(Number(port), '127.0.0.1');
  const started = Date.now();
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => (answer += chunk));
  socket.on('error', () => {});
  socket.write(head);
  return { socket, closed: new Promise((resolve) => socket.on('close', () => resolve({ answer, afterMs: Date.now() - started }))) };
}

describe('what the API exposes', () => {
  it('serves its metrics on API_METRICS_ADDRESS, not on the public port', async () => {
    expect((await h.request('GET', '/metrics')).status).toBe(404);
    const scrape = await fetch(h.api.metricsUrl);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('payments_http_request_duration_seconds');
    expect(new URL(h.api.metricsUrl).port).not.toBe(new URL(h.api.url).port);
  });

  it('closes a connection whose headers never end, within the headers timeout', async () => {
    const { closed } = slowClient('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const { answer, afterMs } = await closed;
    expect(afterMs).toBeLessThan(5_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('REQUEST_TIMEOUT');
  });

  it('closes many slow-body requests within the request timeout and keeps answering others meanwhile', async () => {
    const head = 'POST /v1/orders HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"userId":';
    const clients = Array.from({ length: 200 }, () => slowClient(head));
    expect((await h.request('GET', '/healthz')).status).toBe(200);
    const results = await Promise.all(clients.map((c) => c.closed));
    // Seconds, not Node's 300 s default (generous: a loaded CI machine stalls the check interval).
    expect(Math.max(...results.map((r) => r.afterMs))).toBeLessThan(15_000);
  });

  it('drops an idle keep-alive connection after the keep-alive timeout', async () => {
    const { closed } = slowClient('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const { answer, afterMs } = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(afterMs).toBeLessThan(3_000); // Node's default is 5 s
  });
});
