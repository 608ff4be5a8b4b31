import { generateKeyPairSync, randomInt, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { APPSTORE_API_TOKEN_AUDIENCE, signEs256, verifyEs256 } from '../../channels/appstore/wire';
import type { InboundCallback } from '../../channels/types';
import { createTestApplePki, type TestApplePki } from './appstore-pki';

/**
 * A fake App Store for one app: StoreKit 2 purchases signed as Apple signs them (ES256 JWS with an
 * x5c chain from a test PKI), the Server Notifications V2 Apple would POST for them, and the App
 * Store Server API's Get Transaction Info behind an ES256 bearer token, on 127.0.0.1.
 */

export type AppStoreEnvironment = 'Production' | 'Sandbox';

export interface FakeAppStoreOptions {
  bundleId: string;
  environment: AppStoreEnvironment;
  /** The app's Apple ID; Apple puts it in Production notifications. */
  appAppleId?: number;
  /** Defaults to a fresh test PKI. */
  pki?: TestApplePki;
}

export interface Purchase {
  /** What StoreKit was given as `.appAccountToken(...)` (our order id); absent for purchases made elsewhere. */
  appAccountToken?: string;
  productId: string;
  /** Apple's unit price in milliunits of the major unit (990 USD = 0.99). */
  priceMilliunits: number;
  currency: string;
  quantity?: number;
  purchasedAt?: Date;
}

export interface Revocation {
  revocationDate: number;
  revocationReason: 0 | 1;
  revocationType: 'REFUND_FULL' | 'REFUND_PRORATED' | 'FAMILY_REVOKE';
  /** Milliunits of a percent (100000 = all). */
  revocationPercentage?: number;
}

/** One purchase as the App Store keeps it: the fields of a JWSTransactionDecodedPayload. */
export interface FakeTransaction {
  transactionId: string;
  originalTransactionId: string;
  bundleId: string;
  productId: string;
  purchaseDate: number;
  originalPurchaseDate: number;
  quantity: number;
  type: 'Consumable';
  appAccountToken?: string;
  inAppOwnershipType: 'PURCHASED';
  environment: AppStoreEnvironment;
  storefront: string;
  storefrontId: string;
  transactionReason: 'PURCHASE';
  price: number;
  currency: string;
  revocation?: Revocation;
}

export interface PaidPurchase {
  transactionId: string;
  /** `Transaction.jwsRepresentation`: what the game client hands the game server. */
  signedTransaction: string;
  /** The ONE_TIME_CHARGE notification Apple POSTs. */
  notification: InboundCallback;
}

export interface ApiKey {
  issuerId: string;
  keyId: string;
  /** The .p8 file's contents (PKCS#8 PEM). */
  privateKeyPem: string;
}

export interface ApiRequest {
  method: string;
  path: string;
  authorized: boolean;
}

interface Injected {
  status: number;
  body?: unknown;
}

/** A notification as Apple's Notification History keeps it: the JWS and every try to deliver it. */
export interface SentNotification {
  signedPayload: string;
  signedDate: number;
  sendAttempts: { attemptDate: number; sendAttemptResult: string }[];
}

/** Apple's history page size, and how far back a window may start (Production, Sandbox). */
const HISTORY_PAGE_SIZE = 20;
const HISTORY_DAYS = { Production: 180, Sandbox: 30 } as const;
const DAY_MS = 86_400_000;

export class FakeAppStore {
  readonly bundleId: string;
  readonly environment: AppStoreEnvironment;
  readonly appAppleId?: number;
  readonly pki: TestApplePki;
  /** The App Store Server API key the fake accepts bearer tokens of. */
  readonly apiKey: ApiKey;
  /** Every App Store Server API request, in order. */
  readonly requests: ApiRequest[] = [];
  url = '';
  private readonly apiPublicKey: KeyObject;
  private readonly transactions = new Map<string, FakeTransaction>();
  private readonly injected: Injected[] = [];
  /** Notification History: every notification sent, by its signedPayload. */
  private readonly sent = new Map<string, SentNotification>();
  /** Every consumption information body Apple accepted, per transaction, in order. */
  readonly consumptionAnswers = new Map<string, Record<string, unknown>[]>();
  private sequence = 0;
  /** Ids of one fake never repeat; two fakes' ids rarely meet. */
  private readonly idBase = randomInt(100_000_000) * 10;
  private server?: Server;

  constructor(options: FakeAppStoreOptions) {
    this.bundleId = options.bundleId;
    this.environment = options.environment;
    this.appAppleId = options.appAppleId;
    this.pki = options.pki ?? createTestApplePki();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.apiPublicKey = publicKey;
    this.apiKey = {
      issuerId: randomUUID(),
      keyId: randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase(),
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    };
  }

  /** An account of this app as the platform configures it (the credentials contract of `appstore`); baseUrl once started. */
  credentials() {
    return {
      bundleId: this.bundleId,
      environment: this.environment,
      ...(this.appAppleId !== undefined && { appAppleId: this.appAppleId }),
      rootCertificates: [this.pki.rootCertificatePem],
      issuerId: this.apiKey.issuerId,
      keyId: this.apiKey.keyId,
      privateKey: this.apiKey.privateKeyPem,
      ...(this.url && { baseUrl: this.url }),
    };
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop() {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  // ---- The player and Apple ----

  /** The player buys on the device; Apple then sends ONE_TIME_CHARGE. */
  pay(purchase: Purchase): PaidPurchase {
    const purchaseDate = (purchase.purchasedAt ?? new Date()).getTime();
    const transactionId = this.nextTransactionId();
    const transaction: FakeTransaction = {
      transactionId,
      originalTransactionId: transactionId,
      bundleId: this.bundleId,
      productId: purchase.productId,
      purchaseDate,
      originalPurchaseDate: purchaseDate,
      quantity: purchase.quantity ?? 1,
      type: 'Consumable',
      ...(purchase.appAccountToken !== undefined && { appAccountToken: purchase.appAccountToken }),
      inAppOwnershipType: 'PURCHASED',
      environment: this.environment,
      storefront: 'USA',
      storefrontId: '143441',
      transactionReason: 'PURCHASE',
      price: purchase.priceMilliunits,
      currency: purchase.currency,
    };
    this.transactions.set(transactionId, transaction);
    return { transactionId, signedTransaction: this.signedTransaction(transactionId), notification: this.notify('ONE_TIME_CHARGE', transactionId) };
  }

  /** Apple grants the player's refund request: the transaction is revoked and REFUND is sent. */
  refund(transactionId: string, { percentage, reason = 0 }: { percentage?: number; reason?: 0 | 1 } = {}): InboundCallback {
    this.transaction(transactionId).revocation = {
      revocationDate: Date.now(),
      revocationReason: reason,
      revocationType: percentage === undefined || percentage === 100_000 ? 'REFUND_FULL' : 'REFUND_PRORATED',
      ...(percentage !== undefined && { revocationPercentage: percentage }),
    };
    return this.notify('REFUND', transactionId);
  }

  /** Apple reverses a refund it granted (a dispute won): the transaction stands again. */
  reverseRefund(transactionId: string): InboundCallback {
    delete this.transaction(transactionId).revocation;
    return this.notify('REFUND_REVERSED', transactionId);
  }

  declineRefund(transactionId: string): InboundCallback {
    return this.notify('REFUND_DECLINED', transactionId);
  }

  /** A refund request Apple wants consumption data for. */
  requestConsumption(transactionId: string, reason = 'UNINTENDED_PURCHASE'): InboundCallback {
    return this.notify('CONSUMPTION_REQUEST', transactionId, { consumptionRequestReason: reason });
  }

  /** Family Sharing access withdrawn. */
  revoke(transactionId: string): InboundCallback {
    this.transaction(transactionId).revocation = { revocationDate: Date.now(), revocationReason: 0, revocationType: 'FAMILY_REVOKE' };
    return this.notify('REVOKE', transactionId);
  }

  /** "Request a Test Notification": no transaction. */
  testNotification(): InboundCallback {
    return this.signedNotification(this.notificationPayload('TEST'));
  }

  /** A notification of `type` about a transaction, as it stands now. */
  notify(type: string, transactionId: string, data: Record<string, unknown> = {}, subtype?: string): InboundCallback {
    return this.signedNotification(
      this.notificationPayload(type, { signedTransactionInfo: this.signedTransaction(transactionId), ...data }, subtype),
    );
  }

  /** The transaction as Apple signs it now (receipts, notifications and the API all carry this). */
  signedTransaction(transactionId: string, pki: TestApplePki = this.pki): string {
    const { revocation, ...fields } = this.transaction(transactionId);
    return signEs256({ x5c: pki.x5c }, { ...fields, ...revocation, signedDate: Date.now() }, pki.signingKey);
  }

  transaction(transactionId: string): FakeTransaction {
    const transaction = this.transactions.get(transactionId);
    if (!transaction) throw new Error(`no transaction ${transactionId} at the fake App Store`);
    return transaction;
  }

  /** A ResponseBodyV2DecodedPayload, to sign as is or after a test changed it. */
  notificationPayload(type: string, data: Record<string, unknown> = {}, subtype?: string): Record<string, unknown> {
    return {
      notificationType: type,
      ...(subtype && { subtype }),
      notificationUUID: randomUUID(),
      data: {
        ...(this.appAppleId !== undefined && { appAppleId: this.appAppleId }),
        bundleId: this.bundleId,
        bundleVersion: '1.0',
        environment: this.environment,
        ...data,
      },
      version: '2.0',
      signedDate: Date.now(),
    };
  }

  /** The POST Apple makes: JSON `{"signedPayload": JWS}`. */
  signedNotification(payload: Record<string, unknown>, pki: TestApplePki = this.pki): InboundCallback {
    return {
      headers: { 'content-type': 'application/json' },
      rawBody: Buffer.from(JSON.stringify({ signedPayload: signEs256({ x5c: pki.x5c }, payload, pki.signingKey) })),
    };
  }

  /** Delivers a notification as Apple does: POST of the exact bytes to the account's callback URL; answers the status. */
  async deliver(notification: InboundCallback, callbackUrl: string): Promise<number> {
    const headers = Object.fromEntries(Object.entries(notification.headers).filter((h): h is [string, string] => typeof h[1] === 'string'));
    const res = await fetch(callbackUrl, { method: 'POST', headers, body: new Uint8Array(notification.rawBody) });
    await res.arrayBuffer();
    this.attempted(notification, res.status >= 200 && res.status <= 206 ? 'SUCCESS' : 'UNSUCCESSFUL_HTTP_RESPONSE_CODE');
    return res.status;
  }

  /** A try that never reached us (Apple keeps it in the history as failed and retries later, or gives up). */
  lose(notification: InboundCallback, result = 'TIMED_OUT') {
    this.attempted(notification, result);
  }

  /** What Notification History holds (oldest first). */
  history(): SentNotification[] {
    return [...this.sent.values()];
  }

  private attempted(notification: InboundCallback, sendAttemptResult: string) {
    const signedPayload = JSON.parse(notification.rawBody.toString('utf8')).signedPayload as string;
    const entry = this.sent.get(signedPayload) ?? { signedPayload, signedDate: signedDateOf(signedPayload), sendAttempts: [] };
    // Apple tries at most six times (the first send and five retries).
    if (entry.sendAttempts.length < 6) entry.sendAttempts.push({ attemptDate: Date.now(), sendAttemptResult });
    this.sent.set(signedPayload, entry);
  }

  /** The next API request is answered with this instead (e.g. 429, 500, a retryable 404). */
  failNextRequest(status: number, body?: unknown) {
    this.injected.push({ status, body });
  }

  // ---- App Store Server API ----

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    await new Promise((resolve) => req.on('data', (c: Buffer) => chunks.push(c)).on('end', resolve));
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const authorized = this.authorized(req.headers.authorization);
    this.requests.push({ method: req.method ?? '', path, authorized });
    const answer = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    // Apple answers a missing or bad token with a bare 401.
    if (!authorized) return answer(401);
    const injected = this.injected.shift();
    if (injected) return answer(injected.status, injected.body);
    if (req.method === 'POST' && path === '/inApps/v1/notifications/history') {
      const [status, body] = this.notificationHistory(Buffer.concat(chunks).toString('utf8'), url.searchParams.get('paginationToken'));
      return answer(status, body);
    }
    const consumption = /^\/inApps\/v2\/transactions\/consumption\/([^/]+)$/.exec(path);
    if (req.method === 'PUT' && consumption) {
      const [status, body] = this.consumptionInformation(decodeURIComponent(consumption[1]!), Buffer.concat(chunks).toString('utf8'));
      return answer(status, body);
    }
    const match = /^\/inApps\/v1\/transactions\/([^/]+)$/.exec(path);
    if (req.method !== 'GET' || !match) return answer(404, { errorCode: 4040000, errorMessage: 'Not found.' });
    const transactionId = decodeURIComponent(match[1]!);
    if (!/^\d+$/.test(transactionId)) return answer(400, { errorCode: 4000006, errorMessage: 'Invalid transaction id.' });
    if (!this.transactions.has(transactionId)) return answer(404, { errorCode: 4040010, errorMessage: 'Transaction id not found.' });
    answer(200, { signedTransactionInfo: this.signedTransaction(transactionId) });
  }

  /**
   * Send Consumption Information (v2) as Apple validates it: customerConsented must be true (4000035),
   * deliveryStatus one of five (4000036), sampleContentProvided a boolean (4000041), refundPreference one
   * of three, consumptionPercentage 0-100000 milliunits and above 0 for
   * GRANT_PRORATED, no other field (the V1 fields belong to the v1 endpoint): 202, kept per transaction.
   */
  private consumptionInformation(transactionId: string, rawBody: string): [number, unknown] {
    const refuse = (errorCode: number, errorMessage: string): [number, unknown] => [400, { errorCode, errorMessage }];
    if (!/^\d+$/.test(transactionId)) return refuse(4000006, 'Invalid transaction id.');
    if (!this.transactions.has(transactionId)) return [404, { errorCode: 4040010, errorMessage: 'Transaction id not found.' }];
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(rawBody) as Record<string, unknown>;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return [400, undefined];
    }
    const allowed = new Set(['customerConsented', 'deliveryStatus', 'sampleContentProvided', 'consumptionPercentage', 'refundPreference']);
    if (Object.keys(body).some((k) => !allowed.has(k))) return [400, undefined];
    if (body.customerConsented !== true) return refuse(4000035, 'Invalid request. The customer consented field is invalid or the customer has not consented.');
    if (!['DELIVERED', 'UNDELIVERED_QUALITY_ISSUE', 'UNDELIVERED_WRONG_ITEM', 'UNDELIVERED_SERVER_OUTAGE', 'UNDELIVERED_OTHER'].includes(body.deliveryStatus as string)) {
      return refuse(4000036, 'Invalid request. The delivery status field is invalid.');
    }
    if (typeof body.sampleContentProvided !== 'boolean') return refuse(4000041, 'Invalid request. The sample content provided field is invalid.');
    const percentage = body.consumptionPercentage;
    if (percentage !== undefined && !(Number.isInteger(percentage) && (percentage as number) >= 0 && (percentage as number) <= 100_000)) return [400, undefined];
    if (body.refundPreference !== undefined) {
      if (!['DECLINE', 'GRANT_FULL', 'GRANT_PRORATED'].includes(body.refundPreference as string)) {
        // InvalidRefundPreferenceError; its numeric code is not in the official library's list: a bare 400.
        return [400, undefined];
      }
      if (body.refundPreference === 'GRANT_PRORATED' && !(((percentage as number | undefined) ?? 0) > 0)) return [400, undefined];
    }
    const answers = this.consumptionAnswers.get(transactionId) ?? [];
    answers.push(body);
    this.consumptionAnswers.set(transactionId, answers);
    return [202, undefined];
  }

  /**
   * Get Notification History as Apple validates it: startDate and endDate required (ms), start before
   * end and within 180 days (30 in the sandbox), notificationType or transactionId but not both; 20 a
   * page, the pagination token bound to the request body.
   */
  private notificationHistory(rawBody: string, token: string | null): [number, unknown] {
    const refuse = (errorCode: number, errorMessage: string): [number, unknown] => [400, { errorCode, errorMessage }];
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(rawBody);
    } catch {
      return refuse(4000000, 'Invalid request.');
    }
    const { startDate, endDate, onlyFailures, notificationType, transactionId } = body;
    if (typeof startDate !== 'number' || !Number.isInteger(startDate)) return refuse(4000015, 'Invalid start date.');
    if (typeof endDate !== 'number' || !Number.isInteger(endDate)) return refuse(4000016, 'Invalid end date.');
    if (startDate > endDate) return refuse(4000013, 'Start date after end date.');
    if (startDate < Date.now() - HISTORY_DAYS[this.environment] * DAY_MS) return refuse(4000012, 'Start date too far in the past.');
    if (notificationType !== undefined && transactionId !== undefined) return refuse(4000020, 'Invalid request: notificationType and transactionId together.');
    const bound = JSON.stringify({ startDate, endDate, onlyFailures, notificationType, transactionId });
    let offset = 0;
    if (token !== null) {
      const decoded = decodeToken(token);
      if (!decoded || decoded.bound !== bound) return refuse(4000014, 'Invalid pagination token.');
      offset = decoded.offset;
    }
    const matching = this.history().filter(
      (n) =>
        n.signedDate >= startDate &&
        n.signedDate < endDate &&
        (onlyFailures !== true || !n.sendAttempts.some((a) => a.sendAttemptResult === 'SUCCESS')),
    );
    const page = matching.slice(offset, offset + HISTORY_PAGE_SIZE);
    const hasMore = offset + HISTORY_PAGE_SIZE < matching.length;
    return [
      200,
      {
        notificationHistory: page.map(({ signedPayload, sendAttempts }) => ({ signedPayload, sendAttempts })),
        hasMore,
        ...(hasMore && { paginationToken: encodeToken({ bound, offset: offset + HISTORY_PAGE_SIZE }) }),
      },
    ];
  }

  /** ES256 with the key's id, the issuer, Apple's audience, this app's bundle id, and not expired. */
  private authorized(header: string | undefined): boolean {
    const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    const jwt = token && verifyEs256(token, this.apiPublicKey);
    if (!jwt) return false;
    const { header: h, payload: p } = jwt;
    const nowSeconds = Date.now() / 1000;
    return (
      h.kid === this.apiKey.keyId &&
      p.iss === this.apiKey.issuerId &&
      p.aud === APPSTORE_API_TOKEN_AUDIENCE &&
      p.bid === this.bundleId &&
      typeof p.exp === 'number' &&
      p.exp > nowSeconds &&
      typeof p.iat === 'number' &&
      p.iat <= nowSeconds + 60
    );
  }

  /** Apple's transaction ids are numeric strings; sandbox ones start with 2000000. */
  private nextTransactionId(): string {
    const prefix = this.environment === 'Sandbox' ? '2000000' : '1000000';
    return `${prefix}${String(this.idBase + ++this.sequence).padStart(9, '0')}`;
  }
}

const signedDateOf = (jws: string): number => JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')).signedDate;

const encodeToken = (token: { bound: string; offset: number }) => Buffer.from(JSON.stringify(token)).toString('base64url');

function decodeToken(token: string): { bound: string; offset: number } | undefined {
  try {
    const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return typeof decoded?.bound === 'string' && Number.isInteger(decoded?.offset) ? decoded : undefined;
  } catch {
    return undefined;
  }
}
