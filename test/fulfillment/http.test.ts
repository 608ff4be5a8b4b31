import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGameServerClient } from '../../fulfillment/registry';
import { httpTransport } from '../../fulfillment/http';
import { createEgress, MAX_ANSWER_BYTES } from '../../infra/egress';
import { transportDeps } from '../support/brokers';
import { localEgress } from '../support/egress';
import { describeTransportConformance, type GameServerBehaviour, type ReceivedCall } from './conformance';

/** A real local game server: each path answers its own way, and records what it received. */
class LocalGameServer {
  readonly received = new Map<string, ReceivedCall[]>();
  /** Bytes of the endless answer written before the client dropped the connection. */
  hugeBytesWritten = 0;
  hugeAborted = false;
  private server?: Server;
  private base = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  url(path: string, host = '127.0.0.1'): string {
    return this.base.replace('127.0.0.1', host) + path;
  }

  receivedAt(path: string): ReceivedCall[] {
    return this.received.get(path) ?? [];
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url!, 'http://x').pathname;
    const calls = this.received.get(path) ?? [];
    calls.push({ method: req.method!, pathWithQuery: req.url!, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
    this.received.set(path, calls);
    switch (path) {
      case '/grant':
      case '/target':
        return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
      case '/echo':
        return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ deliveryId: JSON.parse(calls.at(-1)!.body).deliveryId }));
      case '/fail':
        return void res.writeHead(500).end('internal detail: stack trace and player data');
      case '/silent':
        return; // never answers
      case '/redirect-302':
        return void res.writeHead(302, { Location: `${this.base}/target?token=sso-secret` }).end();
      case '/redirect-307':
        return void res.writeHead(307, { Location: `${this.base}/target` }).end();
      case '/huge':
        return this.streamForever(res);
    }
    res.writeHead(404).end();
  }

  /** Writes 64 KiB chunks until the client goes away (or 64 MiB, so a broken client cannot hang the test). */
  private streamForever(res: ServerResponse): void {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.on('close', () => {
      this.hugeAborted = !res.writableFinished;
    });
    const write = () => {
      while (!res.destroyed && this.hugeBytesWritten < 64 * 1024 * 1024) {
        this.hugeBytesWritten += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', write);
      }
      if (!res.destroyed) res.end();
    };
    write();
  }
}

const PATHS: Record<GameServerBehaviour, string> = { GRANT: '/grant', ECHO: '/echo', FAIL: '/fail', SILENT: '/silent' };

describeTransportConformance('http', 'HTTP', async () => {
  const game = await new LocalGameServer().start();
  const closed = await new LocalGameServer().start();
  const unreachable = closed.url('/grant');
  await closed.close();
  const transport = httpTransport.create(transportDeps(localEgress));
  return {
    transport,
    addressFor: (behaviour) => game.url(PATHS[behaviour]),
    unreachable: () => ({ transport, address: unreachable }),
    received: async (address, id) => game.receivedAt(new URL(address).pathname).filter((call) => call.body.includes(id)),
    close: () => game.close(),
  };
});

describe('http game-server transport, beyond the suite', () => {
  let game: LocalGameServer;
  const transport = httpTransport.create(transportDeps(localEgress));
  const delivery = (url: string) => ({
    kind: 'DELIVERY' as const,
    gameId: 'g1',
    secret: 'a-secret-of-at-least-32-characters!!',
    url,
    payload: { deliveryId: 'd1', grants: [{ item: 'gems', count: 60 }] },
    timeoutMs: 2_000,
  });
  beforeAll(async () => {
    game = await new LocalGameServer().start();
  });
  afterAll(() => game.close());

  it.each([
    ['/redirect-302', 302],
    ['/redirect-307', 307],
  ])('never follows a redirect: %s is a RETRY with its Location, and the target receives nothing', async (path, status) => {
    const answer = await transport.send(delivery(game.url(path)));
    expect(answer).toEqual({
      outcome: 'RETRY',
      reason: 'REDIRECT',
      statusCode: status,
      location: game.url('/target'),
      error: expect.stringContaining(`answered ${status} (redirect to ${game.url('/target')}`),
    });
    // The query of a Location may carry tokens: not recorded.
    expect(answer.outcome === 'RETRY' && answer.error).not.toContain('sso-secret');
    expect(game.receivedAt('/target')).toHaveLength(0);
  });

  it('stops reading an answer past 64 KiB: a RETRY, the connection dropped, not the whole body read', async () => {
    const answer = await transport.send(delivery(game.url('/huge')));
    expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'ANSWER_TOO_LARGE', statusCode: 200 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(game.hugeAborted).toBe(true);
    // Socket buffers hold a little more than what was read; nowhere near the 64 MiB the server would send.
    expect(game.hugeBytesWritten).toBeLessThan(MAX_ANSWER_BYTES * 64);
  });

  describe('through the egress guard with private networks refused', () => {
    const guarded = httpTransport.create(transportDeps(createEgress({ allowPrivateNetworks: false, allowHttp: true })));

    it('refuses a loopback address before connecting (EGRESS_REFUSED, nothing received)', async () => {
      const before = game.receivedAt('/grant').length;
      expect(await guarded.send(delivery(game.url('/grant')))).toMatchObject({ outcome: 'RETRY', reason: 'EGRESS_REFUSED' });
      expect(game.receivedAt('/grant')).toHaveLength(before);
    });

    it('refuses a name that resolves to a loopback address, judged on the address connected to', async () => {
      const before = game.receivedAt('/grant').length;
      const answer = await guarded.send(delivery(game.url('/grant', 'localhost')));
      expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'EGRESS_REFUSED', error: expect.stringMatching(/localhost resolves to a private or loopback address/) });
      expect(game.receivedAt('/grant')).toHaveLength(before);
    });

    it('refuses the cloud metadata address even where private networks are allowed', async () => {
      const answer = await transport.send(delivery('http://169.254.169.254/latest/meta-data/'));
      expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'EGRESS_REFUSED', error: expect.stringMatching(/link-local/) });
    });

    it('refuses credentials in the URL', async () => {
      const answer = await transport.send(delivery(game.url('/grant').replace('http://', 'http://user:pw@')));
      expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'EGRESS_REFUSED', error: expect.stringMatching(/credentials/) });
    });

    it('requires https where plain http is not allowed', async () => {
      const httpsOnly = httpTransport.create(transportDeps(createEgress({ allowPrivateNetworks: true, allowHttp: false })));
      expect(await httpsOnly.send(delivery(game.url('/grant')))).toMatchObject({ outcome: 'RETRY', reason: 'EGRESS_REFUSED', error: expect.stringMatching(/https is required/) });
    });
  });

  it('the client picks the transport by the URL scheme; one no transport serves is a RETRY', async () => {
    const client = createGameServerClient(transportDeps(localEgress));
    expect(await client.send(delivery(game.url('/grant')))).toEqual({ outcome: 'GRANTED', statusCode: 200 });
    expect(await client.send(delivery('ftp://127.0.0.1/deliveries'))).toMatchObject({ outcome: 'RETRY', reason: 'UNREACHABLE', error: 'no transport for ftp:' });
  });
});
