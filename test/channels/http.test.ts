import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChannelError, createChannelHttp } from '../../channels/http';
import { createEgress } from '../../infra/egress';
import { localEgress } from '../support/egress';

/** A channel's HTTP API that misbehaves: a 503 with details in its body, an endless answer. */
let server: Server;
let base: string;
let endlessBytesWritten = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/busy') return void res.writeHead(503).end('upstream db-7 password=hunter2 failed');
    if (req.url === '/endless') {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const write = () => {
        while (!res.destroyed && endlessBytesWritten < 64 * 1024 * 1024) {
          endlessBytesWritten += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        if (!res.destroyed) res.end();
      };
      return write();
    }
    res.writeHead(200).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function failureOf(promise: Promise<unknown>): Promise<ChannelError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof ChannelError)) throw new Error(`expected a ChannelError, got ${String(err)}`);
  return err;
}

describe('channel HTTP client', () => {
  const http = createChannelHttp({ timeoutMs: 2_000, egress: localEgress });

  it("records a channel's failure by its status, never its body", async () => {
    const err = await failureOf(http.send({ method: 'POST', url: `${base}/busy` }));
    expect(err).toMatchObject({ kind: 'TRANSIENT', code: 'HTTP_503' });
    expect(err.message).toBe(`POST ${base}/busy: HTTP 503`);
  });

  it('fails an answer past 64 KiB as transient without reading the rest', async () => {
    const err = await failureOf(http.send({ method: 'GET', url: `${base}/endless` }));
    expect(err).toMatchObject({ kind: 'TRANSIENT', code: 'ANSWER_TOO_LARGE' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(endlessBytesWritten).toBeLessThan(4 * 1024 * 1024);
  });

  it('refuses, for good, a channel URL the egress guard refuses (loopback with private networks off)', async () => {
    const guarded = createChannelHttp({ timeoutMs: 2_000, egress: createEgress({ allowPrivateNetworks: false, allowHttp: true }) });
    expect(await failureOf(guarded.send({ method: 'GET', url: `${base}/ok` }))).toMatchObject({ kind: 'FINAL', code: 'EGRESS_REFUSED' });
    expect(await failureOf(guarded.send({ method: 'GET', url: base.replace('127.0.0.1', 'localhost') + '/ok' }))).toMatchObject({
      kind: 'FINAL',
      code: 'EGRESS_REFUSED',
    });
  });
});
