import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { checkSignedRequest } from '../domain/signature';

/** Faults the game server injects, for the drills. */
export interface GameServerFaults {
  /** Share of deliveries answered 500 without granting. */
  failRate: number;
  /** Share of deliveries granted but answered only after `slowMs` (the caller may time out first). */
  slowRate: number;
  slowMs: number;
}

export interface Grant {
  deliveryId: string;
  orderId: string;
  grantedAt: number;
  /** How many more times the same deliveryId arrived after it was granted (answered 200, not granted again). */
  resent: number;
}

const NO_FAULTS: GameServerFaults = { failRate: 0, slowRate: 0, slowMs: 0 };

/**
 * A studio's game server for benchmarks and drills: checks our signature, grants each deliveryId
 * once, keeps its own log (in memory and as JSON lines in `logFile`), and tells waiters when an
 * order's goods arrive.
 */
export class BenchGameServer {
  faults: GameServerFaults = NO_FAULTS;
  readonly grants = new Map<string, Grant>();
  /** Every orderId for which a second, different deliveryId was granted: must stay empty. */
  readonly ordersGrantedTwice = new Set<string>();
  attempts = 0;
  rejectedSignatures = 0;
  injectedFailures = 0;
  slowAnswers = 0;
  url = '';
  private readonly secrets = new Map<string, string>();
  private readonly grantedOrders = new Map<string, string>();
  private readonly waiters = new Map<string, () => void>();
  private server?: Server;

  constructor(private readonly logFile?: string) {
    if (logFile) mkdirSync(path.dirname(logFile), { recursive: true });
  }

  setSecret(gameId: string, secret: string) {
    this.secrets.set(gameId, secret);
  }

  deliveryUrl(gameId: string) {
    return `${this.url}/games/${encodeURIComponent(gameId)}/deliveries`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop() {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Resolves when the goods of `orderId` have been granted (at once if they already were). */
  delivered(orderId: string): Promise<void> {
    if (this.grantedOrders.has(orderId)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.set(orderId, resolve));
  }

  grantOf(orderId: string): Grant | undefined {
    const deliveryId = this.grantedOrders.get(orderId);
    return deliveryId ? this.grants.get(deliveryId) : undefined;
  }

  /** Re-sent deliveries the game server recognised by deliveryId and did not grant again. */
  duplicatesSeen(orderIds?: Set<string>): number {
    let n = 0;
    for (const g of this.grants.values()) if (!orderIds || orderIds.has(g.orderId)) n += g.resent;
    return n;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    this.attempts++;
    const gameId = String(req.headers['x-game-id'] ?? '');
    const check = checkSignedRequest(
      this.secrets.get(gameId) ?? '',
      {
        method: req.method ?? '',
        pathWithQuery: req.url ?? '',
        timestamp: req.headers['x-timestamp'] as string | undefined,
        nonce: req.headers['x-nonce'] as string | undefined,
        body: raw,
      },
      req.headers['x-signature'] as string | undefined,
      Math.floor(Date.now() / 1000),
      300,
    );
    if (!check.ok) {
      this.rejectedSignatures++;
      res.writeHead(401).end();
      return;
    }
    const { deliveryId, orderId } = JSON.parse(raw.toString('utf8')) as { deliveryId: string; orderId: string };
    const roll = Math.random();
    if (roll < this.faults.failRate) {
      this.injectedFailures++;
      res.writeHead(500).end('injected failure');
      return;
    }
    this.grant(deliveryId, orderId);
    if (roll < this.faults.failRate + this.faults.slowRate) {
      this.slowAnswers++;
      await new Promise((resolve) => setTimeout(resolve, this.faults.slowMs));
    }
    if (!res.destroyed) res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
  }

  private grant(deliveryId: string, orderId: string) {
    const existing = this.grants.get(deliveryId);
    if (existing) {
      existing.resent++;
      this.log({ event: 'resent', deliveryId, orderId });
      return;
    }
    const earlier = this.grantedOrders.get(orderId);
    if (earlier && earlier !== deliveryId) this.ordersGrantedTwice.add(orderId);
    this.grants.set(deliveryId, { deliveryId, orderId, grantedAt: Date.now(), resent: 0 });
    this.grantedOrders.set(orderId, deliveryId);
    this.log({ event: 'granted', deliveryId, orderId });
    this.waiters.get(orderId)?.();
    this.waiters.delete(orderId);
  }

  private log(entry: Record<string, string>) {
    if (this.logFile) appendFileSync(this.logFile, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
  }
}
