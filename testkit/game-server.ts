import { appendFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { checkSignedRequest } from '../domain/signature';
import { startNatsConsumer } from '../examples/nats-consumer';
import { startRabbitConsumer } from '../examples/rabbitmq-consumer';
import { booksInMemory } from '../examples/shared';

/**
 * The reference game server: what a studio's game server must do with our deliveries. It verifies
 * our signature exactly as a game server should, grants each deliveryId once however often it is
 * retried, keeps its own log (in memory, and as JSON lines in `logFile`), and fails on demand.
 * Used by the tests, the benchmarks and `npm run dev`.
 */

export interface ReceivedDelivery {
  deliveryId: string;
  orderId: string;
  body: Record<string, unknown>;
  signatureValid: boolean;
}

export interface Grant extends ReceivedDelivery {
  grantedAt: number;
  /** How many more times the same deliveryId arrived after it was granted (answered 200, not granted again). */
  resent: number;
}

/**
 * `fail`: every delivery answered 500; `hang`: held until released (the caller times out);
 * `take-and-fail`: granted, then answered 500 (the goods are taken, the answer is lost).
 */
export type GameServerMode = 'ok' | 'fail' | 'hang' | 'take-and-fail';

/** Random faults, for the drills. */
export interface GameServerFaults {
  /** Share of deliveries answered 500 without granting. */
  failRate: number;
  /** Share of deliveries granted but answered only after `slowMs` (the caller may time out first). */
  slowRate: number;
  slowMs: number;
}

export interface GameServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  logFile?: string;
  /** Told of every first grant (the dev script prints it). */
  onGrant?: (grant: Grant) => void;
  /**
   * Where the random faults come from: `seededRandom(seed)` makes a drill's or a model run's faults
   * repeat with its seed (default: Math.random).
   */
  random?: () => number;
}

/** A small seeded generator (mulberry32): the same seed, the same rolls. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const NO_FAULTS: GameServerFaults = { failRate: 0, slowRate: 0, slowMs: 0 };
const MAX_SKEW_SECONDS = 300;

export class ReferenceGameServer {
  mode: GameServerMode = 'ok';
  faults: GameServerFaults = NO_FAULTS;
  readonly attempts: ReceivedDelivery[] = [];
  /** Granted deliveries by deliveryId. */
  readonly grants = new Map<string, Grant>();
  /** Every orderId for which a second, different deliveryId was granted: must stay empty. */
  readonly ordersGrantedTwice = new Set<string>();
  /** Goods taken back, by revocationId (each once, however often it is sent). */
  readonly revocations = new Map<string, { revocationId: string; orderId: string; body: Record<string, unknown>; resent: number }>();
  rejectedSignatures = 0;
  injectedFailures = 0;
  slowAnswers = 0;
  url = '';
  private server?: Server;
  private readonly secrets = new Map<string, string>();
  private readonly grantedOrders = new Map<string, string>();
  private readonly waiters = new Map<string, () => void>();
  private readonly hanging = new Set<() => void>();

  constructor(private readonly options: GameServerOptions = {}) {
    if (options.logFile) mkdirSync(path.dirname(options.logFile), { recursive: true });
  }

  setSecret(gameId: string, secret: string) {
    this.secrets.set(gameId, secret);
  }

  /** Where a game's deliveries go (with a query string: our signature covers it). */
  deliveryUrl(gameId: string) {
    return `${this.url}/games/${encodeURIComponent(gameId)}/deliveries?v=1`;
  }

  /** Where a game is told to take goods back. */
  revokeUrl(gameId: string) {
    return `${this.url}/games/${encodeURIComponent(gameId)}/revocations`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop() {
    this.releaseHanging();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Lets held requests go (they then time out on the caller's side or get a 200). */
  releaseHanging() {
    for (const release of this.hanging) release();
    this.hanging.clear();
  }

  /**
   * Takes a game's deliveries and revocations from NATS JetStream or RabbitMQ instead of HTTP, through the
   * reference consumer of examples/ (signature checked there, acked over REST at `apiUrl`); grants land in
   * the same books as HTTP ones. Returns the consumer's stop.
   */
  async consumeFrom(
    broker: { mode: 'NATS'; natsUrl: string } | { mode: 'RABBITMQ'; amqpUrl: string },
    apiUrl: string,
    game: { gameId: string; secret: string },
  ): Promise<{ stop(): Promise<void> }> {
    const books = booksInMemory(
      async (body) => {
        this.grant({ deliveryId: body.deliveryId, orderId: body.orderId, body, signatureValid: true });
        return 'GRANTED';
      },
      async (body) => {
        const existing = this.revocations.get(body.revocationId);
        if (existing) existing.resent++;
        else this.revocations.set(body.revocationId, { revocationId: body.revocationId, orderId: body.orderId, body, resent: 0 });
      },
    );
    return broker.mode === 'NATS'
      ? startNatsConsumer({ natsUrl: broker.natsUrl, apiUrl, game, books })
      : startRabbitConsumer({ amqpUrl: broker.amqpUrl, apiUrl, game, books });
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

  /** The card days granted, in the order they were granted. */
  cardDaysGranted(cardId: string): Grant[] {
    return [...this.grants.values()].filter((g) => g.body.kind === 'MONTHLY_CARD_DAILY' && g.body.cardId === cardId);
  }

  grantsFor(orderId: string): Grant[] {
    return [...this.grants.values()].filter((g) => g.orderId === orderId);
  }

  attemptsFor(orderId: string): ReceivedDelivery[] {
    return this.attempts.filter((d) => d.orderId === orderId);
  }

  /** Re-sent deliveries recognised by deliveryId and not granted again. */
  duplicatesSeen(orderIds?: Set<string>): number {
    let n = 0;
    for (const g of this.grants.values()) if (!orderIds || orderIds.has(g.orderId)) n += g.resent;
    return n;
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
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
      MAX_SKEW_SECONDS,
    );
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      res.writeHead(400).end('not JSON');
      return;
    }
    if (req.url?.includes('/revocations')) {
      // Revocations: checked and recorded once per revocationId, like deliveries.
      if (!check.ok) {
        this.rejectedSignatures++;
        res.writeHead(401).end();
        return;
      }
      if (this.mode === 'fail') {
        res.writeHead(500).end('maintenance');
        return;
      }
      const revocationId = String(body.revocationId);
      const known = this.revocations.get(revocationId);
      if (known) known.resent++;
      else this.revocations.set(revocationId, { revocationId, orderId: String(body.orderId), body, resent: 0 });
      this.log({ event: known ? 'revocation resent' : 'revoked', revocationId, orderId: String(body.orderId) });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
      return;
    }
    const delivery: ReceivedDelivery = {
      deliveryId: String(body.deliveryId),
      orderId: String(body.orderId),
      body,
      signatureValid: check.ok,
    };
    this.attempts.push(delivery);
    if (!check.ok) {
      this.rejectedSignatures++;
      res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: check.reason }));
      return;
    }
    const roll = (this.options.random ?? Math.random)();
    if (this.mode === 'fail' || roll < this.faults.failRate) {
      this.injectedFailures++;
      res.writeHead(500).end('maintenance');
      return;
    }
    if (this.mode === 'hang') await new Promise<void>((resolve) => this.hanging.add(resolve));
    this.grant(delivery);
    if (this.mode === 'take-and-fail') {
      res.writeHead(500).end('granted, then failed');
      return;
    }
    if (roll < this.faults.failRate + this.faults.slowRate) {
      this.slowAnswers++;
      await new Promise((resolve) => setTimeout(resolve, this.faults.slowMs));
    }
    if (!res.destroyed) res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
  }

  private grant(delivery: ReceivedDelivery) {
    const { deliveryId, orderId } = delivery;
    const existing = this.grants.get(deliveryId);
    if (existing) {
      existing.resent++;
      this.log({ event: 'resent', deliveryId, orderId });
      return;
    }
    const grant: Grant = { ...delivery, grantedAt: Date.now(), resent: 0 };
    if (delivery.body.kind === 'MONTHLY_CARD_DAILY') {
      // A monthly card's day: a delivery of its own (one deliveryId per card day), not the order's goods again.
      this.grants.set(deliveryId, grant);
      this.log({ event: 'granted', deliveryId, orderId, userId: String(delivery.body.userId ?? '') });
      return;
    }
    const earlier = this.grantedOrders.get(orderId);
    if (earlier && earlier !== deliveryId) this.ordersGrantedTwice.add(orderId);
    this.grants.set(deliveryId, grant);
    this.grantedOrders.set(orderId, deliveryId);
    this.log({ event: 'granted', deliveryId, orderId, userId: String(delivery.body.userId ?? '') });
    this.options.onGrant?.(grant);
    this.waiters.get(orderId)?.();
    this.waiters.delete(orderId);
  }

  private log(entry: Record<string, string>) {
    if (this.options.logFile) appendFileSync(this.options.logFile, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
  }
}
