import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { signedHeaders } from '../domain/signature';
import { DEMO_GEMS, itemUpsert, type DemoItem } from '../api/shared/demo-catalog';

/**
 * The one client of the REST API for tests, benchmarks and the dev script: what a game server, an
 * administrator and a payer (on the sandbox checkout page) send.
 */

export interface Answer {
  status: number;
  body: any;
}

/** A game server's identity: its id and the secret it signs with. */
export interface GameCredentials {
  gameId: string;
  secret: string;
}

/** A registered game with one item to sell. */
export interface GameWithItem extends GameCredentials {
  sku: string;
}

/** What the clients saw, for the drills' reports: every non-success answer by status and code. */
export class AnswerLog {
  readonly counts = new Map<string, number>();
  add(kind: string) {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }
  toJSON() {
    return Object.fromEntries([...this.counts].sort());
  }
}

/** A 201 answer; `payment` is absent when the order is not payable (e.g. closed by a retried create). */
export interface CreatedOrder {
  orderId: string;
  status: string;
  payment?: { channelPaymentId: string; payUrl?: string };
}

export interface RetryPolicy {
  /** Give up after this long (the drills' clients retry through outages). */
  deadlineMs: number;
  delayMs: number;
}

const NO_RETRY: RetryPolicy = { deadlineMs: 0, delayMs: 0 };

/**
 * A create answered `502 CHANNEL_UNAVAILABLE`, and the same again on a retry with the same key: the
 * workflow closed the order because its channel payment could not be opened, so this key will never
 * be payable (a game server starts a new purchase with a new key). Final, not retried further.
 */
export class ChannelUnavailableError extends Error {
  constructor(readonly idempotencyKey: string) {
    super(`create order: 502 CHANNEL_UNAVAILABLE, again on a retry with the same key (${idempotencyKey})`);
  }
}

export class ApiClient {
  /** Every API process's base URL: calls take them in turn, so a retry with the same key may reach another. */
  readonly baseUrls: string[];
  private nextBase = 0;

  constructor(
    baseUrl: string | string[],
    readonly adminToken: string,
    readonly answers = new AnswerLog(),
  ) {
    this.baseUrls = typeof baseUrl === 'string' ? [baseUrl] : baseUrl;
    if (this.baseUrls.length === 0) throw new Error('ApiClient needs at least one base URL');
  }

  /** The first API's base URL. */
  get baseUrl(): string {
    return this.baseUrls[0]!;
  }

  async request(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
    const base = this.baseUrls[this.nextBase++ % this.baseUrls.length];
    const res = await fetch(`${base}${path}`, { method, headers, body, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (an HTML page, a channel acknowledgement)
    }
    return { status: res.status, body: parsed };
  }

  /** An administrator's call (admin token); `token` overrides it, to test refusals. */
  admin(method: string, path: string, body?: unknown, token = this.adminToken, extraHeaders: Record<string, string> = {}) {
    return this.request(method, path, body === undefined ? undefined : JSON.stringify(body), {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      ...extraHeaders,
    });
  }

  /** An administrator's call that must succeed. */
  async adminOk(method: string, path: string, body?: unknown): Promise<Answer> {
    const answer = await this.admin(method, path, body);
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer;
  }

  /** A request signed the way a game server signs it. */
  signed(game: GameCredentials, method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}) {
    const raw = body === undefined ? '' : JSON.stringify(body);
    const headers = signedHeaders(game.secret, game.gameId, method, path, raw, randomBytes(12).toString('hex'), Math.floor(Date.now() / 1000));
    return this.request(method, path, raw || undefined, {
      ...headers,
      ...(raw ? { 'Content-Type': 'application/json' } : {}),
      ...extraHeaders,
    });
  }

  createOrder(game: GameCredentials, body: Record<string, unknown>, idempotencyKey: string = randomUUID()) {
    return this.signed(game, 'POST', '/v1/orders', body, { 'Idempotency-Key': idempotencyKey });
  }

  /**
   * Pays (or fails) a sandbox payment through the provider's test route (admin token), which also
   * takes what a payer cannot choose: another paid amount, repeated notifications.
   */
  pay(channelPaymentId: string, body: Record<string, unknown> = { result: 'SUCCESS' }) {
    return this.admin('POST', `/sandbox/payments/${encodeURIComponent(channelPaymentId)}/complete`, body);
  }

  /** Registers a game whose deliveries go to `deliveryUrl(gameId)`, with a new secret. */
  async registerGame(deliveryUrl: (gameId: string) => string, opts: { prefix?: string; name?: string } = {}): Promise<GameCredentials> {
    const gameId = `${opts.prefix ?? 'game'}-${randomUUID().slice(0, 8)}`;
    const secret = randomBytes(24).toString('hex');
    await this.adminOk('PUT', `/v1/admin/games/${gameId}`, { name: opts.name ?? `Game ${gameId}`, secret, deliveryUrl: deliveryUrl(gameId) });
    return { gameId, secret };
  }

  /** Puts an item (the demo gems unless told otherwise) in a game's catalog; returns its sku. */
  async registerItem(game: GameCredentials, item: DemoItem = DEMO_GEMS, overrides: Record<string, unknown> = {}): Promise<string> {
    const sku = `${game.gameId}-${randomUUID().slice(0, 6)}`;
    await this.adminOk('PUT', `/v1/admin/items/${sku}`, { ...itemUpsert(item, game.gameId), ...overrides });
    return sku;
  }

  /** A game with one item to sell, in one call. */
  async registerGameWithItem(
    deliveryUrl: (gameId: string) => string,
    opts: { prefix?: string; item?: Record<string, unknown> } = {},
  ): Promise<GameWithItem> {
    const game = await this.registerGame(deliveryUrl, opts);
    return { ...game, sku: await this.registerItem(game, DEMO_GEMS, opts.item) };
  }

  /**
   * Creates the order, retrying with the same idempotency key through network errors and 5xx
   * answers until the deadline, as a game server should. Returns the 201 answer's body.
   */
  async createOrderWithRetry(game: GameCredentials, body: Record<string, unknown>, idempotencyKey: string, retry = NO_RETRY) {
    const deadline = Date.now() + retry.deadlineMs;
    let channelUnavailable = 0;
    for (;;) {
      const answer = await this.attempt('create', () => this.createOrder(game, body, idempotencyKey));
      if (answer?.status === 201) return answer.body as CreatedOrder;
      // Retried once with the same key, so that the retried answer is checked too (it must agree, never a 201 without payment).
      if (answer?.status === 502 && answer.body?.error?.code === 'CHANNEL_UNAVAILABLE' && ++channelUnavailable > 1) {
        throw new ChannelUnavailableError(idempotencyKey);
      }
      if (answer && !retryable(answer)) throw new Error(`create order: ${answer.status} ${JSON.stringify(answer.body)}`);
      if (Date.now() >= deadline) throw new Error(`create order: still failing after ${retry.deadlineMs} ms (${answer?.status ?? 'network error'})`);
      await sleep(retry.delayMs);
    }
  }

  /** The payer presses Pay; 409 PAYMENT_NOT_PAYABLE on a retry means an earlier attempt already paid. */
  async payWithRetry(channelPaymentId: string, options: Record<string, unknown> = {}, retry = NO_RETRY): Promise<void> {
    const deadline = Date.now() + retry.deadlineMs;
    let attempts = 0;
    for (;;) {
      attempts++;
      const answer = await this.attempt('pay', () => this.pay(channelPaymentId, { result: 'SUCCESS', ...options }));
      if (answer?.status === 202) return;
      if (answer?.status === 409 && attempts > 1) return;
      if (answer && !retryable(answer)) throw new Error(`pay: ${answer.status} ${JSON.stringify(answer.body)}`);
      if (Date.now() >= deadline) throw new Error(`pay: still failing after ${retry.deadlineMs} ms`);
      await sleep(retry.delayMs);
    }
  }

  /** One call; a network failure is recorded and returned as undefined. */
  private async attempt(what: string, call: () => Promise<Answer>): Promise<Answer | undefined> {
    try {
      const answer = await call();
      if (answer.status >= 300) this.answers.add(`${what} ${answer.status} ${answer.body?.error?.code ?? ''}`.trim());
      return answer;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      this.answers.add(`${what} network error ${cause?.code ?? (err as Error).name}`);
      return undefined;
    }
  }
}

/**
 * Answers a client tries again: a 5xx, and a 408 (the server gave up waiting for the request, so it
 * took nothing; a starved API process answers it under load).
 */
const retryable = (answer: Answer) => answer.status >= 500 || answer.status === 408;

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function runPool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        try {
          await task(i);
        } catch (err) {
          errors.push(err);
        }
      }
    }),
  );
  if (errors.length) {
    const first = errors[0] as Error;
    throw new Error(`${errors.length} of ${count} tasks failed; first: ${first?.message ?? String(first)}`);
  }
}
