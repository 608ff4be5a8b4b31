import { createServer, type IncomingMessage, type Server } from 'node:http';
import { checkSignedRequest } from '../../domain/signature';

export interface ReceivedDelivery {
  deliveryId: string;
  orderId: string;
  body: Record<string, unknown>;
  signatureValid: boolean;
}

export type GameServerMode = 'ok' | 'fail' | 'hang';

/**
 * Stands in for a studio's game server (the edge we cannot reach): verifies our signature exactly
 * as a game server would and grants each deliveryId once, however often it is retried.
 */
export class FakeGameServer {
  mode: GameServerMode = 'ok';
  readonly attempts: ReceivedDelivery[] = [];
  readonly granted = new Map<string, ReceivedDelivery>();
  private server?: Server;
  private readonly hanging = new Set<() => void>();
  private readonly secrets = new Map<string, string>();
  url = '';

  setSecret(gameId: string, secret: string) {
    this.secrets.set(gameId, secret);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  deliveryUrl(gameId: string) {
    return `${this.url}/games/${gameId}/deliveries?v=1`;
  }

  grantsFor(orderId: string) {
    return [...this.granted.values()].filter((d) => d.orderId === orderId);
  }

  attemptsFor(orderId: string) {
    return this.attempts.filter((d) => d.orderId === orderId);
  }

  /** Lets hanging requests go (they then time out on the caller's side or get a 200). */
  releaseHanging() {
    for (const release of this.hanging) release();
    this.hanging.clear();
  }

  async stop() {
    this.releaseHanging();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const gameId = String(req.headers['x-game-id'] ?? '');
    const check = checkSignedRequest(
      this.secrets.get(gameId) ?? '',
      {
        method: req.method ?? '',
        pathWithQuery: req.url ?? '',
        timestamp: req.headers['x-timestamp'] as string,
        nonce: req.headers['x-nonce'] as string,
        body: raw,
      },
      req.headers['x-signature'] as string,
      Math.floor(Date.now() / 1000),
      300,
    );
    const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    const delivery: ReceivedDelivery = {
      deliveryId: String(body.deliveryId),
      orderId: String(body.orderId),
      body,
      signatureValid: check.ok,
    };
    this.attempts.push(delivery);
    if (!check.ok) {
      res.writeHead(401).end();
      return;
    }
    if (this.mode === 'fail') {
      res.writeHead(500).end('maintenance');
      return;
    }
    if (this.mode === 'hang') {
      await new Promise<void>((resolve) => this.hanging.add(resolve));
    }
    if (!this.granted.has(delivery.deliveryId)) this.granted.set(delivery.deliveryId, delivery);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
  }
}
