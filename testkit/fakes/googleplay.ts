import { createSign, createVerify, generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import type { GoogleplayCredentials } from '../../channels/googleplay/adapter';

/**
 * A fake of Google's side of Google Play Billing, on 127.0.0.1: the OAuth token endpoint (checks
 * the service account's JWT-bearer assertion), Google's published certificates, the Android
 * Publisher API (products.get / consume, productsv2, voided purchases, orders.refund) with Google's
 * request and error formats, and the payer's device: purchases are made here, and the Pub/Sub push
 * of each Real-time developer notification is produced exactly as it arrives (headers + raw body).
 * Every key is made when the fake is constructed.
 */

export const GOOGLE_TOKEN_AUDIENCE = 'https://oauth2.googleapis.com/token';
const ANDROID_PUBLISHER_SCOPE = 'https://www.googleapis.com/auth/androidpublisher';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DAY_MS = 24 * 3_600_000;

export const PURCHASE_STATE = { PURCHASED: 0, CANCELED: 1, PENDING: 2 } as const;
export const PURCHASE_TYPE = { TEST: 0, PROMO: 1, REWARDED: 2 } as const;
export const VOIDED_SOURCE = { USER: 0, DEVELOPER: 1, GOOGLE: 2 } as const;
export const VOIDED_REASON = {
  OTHER: 0, REMORSE: 1, NOT_RECEIVED: 2, DEFECTIVE: 3, ACCIDENTAL_PURCHASE: 4, FRAUD: 5, FRIENDLY_FRAUD: 6, CHARGEBACK: 7, UNACKNOWLEDGED: 8,
} as const;
export const ONE_TIME_NOTIFICATION = { PURCHASED: 1, CANCELED: 2 } as const;

export interface RsaKeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function rsaKeyPair(): RsaKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A one-time product purchase as Google holds it. */
export interface FakePurchase {
  purchaseToken: string;
  productId: string;
  /** Google's order id (GPA.…); promo and rewarded purchases have none. */
  orderId?: string;
  purchaseState: 0 | 1 | 2;
  consumptionState: 0 | 1;
  acknowledgementState: 0 | 1;
  purchaseType?: 0 | 1 | 2;
  purchaseTimeMillis: number;
  quantity: number;
  obfuscatedExternalAccountId?: string;
  obfuscatedExternalProfileId?: string;
  regionCode: string;
  /**
   * voidedTimeMillis: when the purchase was voided; recordedTimeMillis: when Google's systems saw it as
   * voided (what voidedpurchases.list filters on; later, e.g. a chargeback the bank reports days after).
   */
  voided?: { voidedTimeMillis: number; recordedTimeMillis: number; voidedSource: number; voidedReason: number };
  /** The revoke flag of the orders.refund that voided it, when one did. */
  refundRevoke?: boolean;
}

/** A push exactly as Pub/Sub POSTs it to the callback URL. */
export interface GooglePlayPush {
  headers: Record<string, string>;
  rawBody: Buffer;
}

export interface PushTokenClaims {
  iss: string;
  aud: string;
  azp: string;
  sub: string;
  email: string;
  email_verified: boolean;
  iat: number;
  exp: number;
}

export interface PushOptions {
  /** Overrides of the OIDC token's claims (a wrong audience, an expired token...). */
  claims?: Partial<PushTokenClaims>;
  /** Signs with another key (Google's kid is kept unless given). */
  signingKey?: { privateKeyPem: string; kid?: string };
}

export interface FakeGooglePlayOptions {
  packageName: string;
  serviceAccountEmail?: string;
  /** The push subscription's audience (Pub/Sub's default is the push endpoint URL). */
  pushAudience?: string;
  pushServiceAccountEmail?: string;
  /** Voided purchases per page at most, whatever maxResults asks (to exercise paging). */
  voidedPageSize?: number;
  certificatesMaxAgeSeconds?: number;
}

interface RequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
}

export class FakeGooglePlay {
  readonly packageName: string;
  readonly serviceAccount: { email: string } & RsaKeyPair;
  readonly push: { audience: string; serviceAccountEmail: string; kid: string; privateKeyPem: string; certificatePem: string };
  /** Every call the fake received, in order (tests assert on what the adapter asked). */
  readonly requests: RequestRecord[] = [];
  private readonly purchases = new Map<string, FakePurchase>();
  private readonly accessTokens = new Map<string, number>();
  private readonly failures: number[] = [];
  private server?: Server;
  private baseUrl?: string;

  constructor(private readonly options: FakeGooglePlayOptions) {
    this.packageName = options.packageName;
    this.serviceAccount = { email: options.serviceAccountEmail ?? 'play-publisher@studio-project.iam.gserviceaccount.com', ...rsaKeyPair() };
    const pushKey = rsaKeyPair();
    this.push = {
      audience: options.pushAudience ?? 'https://payments.test/v1/callbacks/googleplay',
      serviceAccountEmail: options.pushServiceAccountEmail ?? 'rtdn-push@studio-project.iam.gserviceaccount.com',
      kid: randomBytes(20).toString('hex'),
      privateKeyPem: pushKey.privateKeyPem,
      certificatePem: selfSignedCertificate(pushKey.privateKeyPem),
    };
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => send(res, 500, { error: { code: 500, message: String(err) } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The Android Publisher base URL. */
  get url(): string {
    if (!this.baseUrl) throw new Error('the Google Play fake is not started');
    return this.baseUrl;
  }

  get tokenUrl(): string {
    return `${this.url}/token`;
  }

  /** Where this fake publishes its certificates (Google's: https://www.googleapis.com/oauth2/v1/certs). */
  get certificatesUrl(): string {
    return `${this.url}/oauth2/v1/certs`;
  }

  /** Google's push-token certificates, by kid. */
  certificates(): Record<string, string> {
    return { [this.push.kid]: this.push.certificatePem };
  }

  /** An account's credentials pointing at this fake, certificates pinned. */
  credentials(overrides: Partial<GoogleplayCredentials> = {}): GoogleplayCredentials {
    return {
      packageName: this.packageName,
      serviceAccountEmail: this.serviceAccount.email,
      serviceAccountPrivateKey: this.serviceAccount.privateKeyPem,
      tokenUrl: this.tokenUrl,
      androidPublisherBaseUrl: this.url,
      pushAudience: this.push.audience,
      pushServiceAccountEmail: this.push.serviceAccountEmail,
      pushCertificates: this.certificates(),
      ...overrides,
    };
  }

  // ---- The payer's device and the Play Console ----

  /** The payer buys a product through the billing flow with the ids the game gave it. */
  purchase(input: {
    productId: string;
    obfuscatedAccountId?: string;
    obfuscatedProfileId?: string;
    /** A license tester's purchase (purchaseType 0). */
    test?: boolean;
    /** Paid later (cash, bank transfer): purchaseState 2 until completed or canceled. */
    pending?: boolean;
  }): FakePurchase {
    const purchase: FakePurchase = {
      purchaseToken: newPurchaseToken(),
      productId: input.productId,
      orderId: newGoogleOrderId(),
      purchaseState: input.pending ? PURCHASE_STATE.PENDING : PURCHASE_STATE.PURCHASED,
      consumptionState: 0,
      acknowledgementState: 0,
      ...(input.test && { purchaseType: PURCHASE_TYPE.TEST }),
      purchaseTimeMillis: Date.now(),
      quantity: 1,
      ...(input.obfuscatedAccountId !== undefined && { obfuscatedExternalAccountId: input.obfuscatedAccountId }),
      ...(input.obfuscatedProfileId !== undefined && { obfuscatedExternalProfileId: input.obfuscatedProfileId }),
      regionCode: 'US',
    };
    this.purchases.set(purchase.purchaseToken, purchase);
    return { ...purchase };
  }

  /** The payer pays a pending purchase. */
  completePending(purchaseToken: string): FakePurchase {
    const purchase = this.pendingPurchase(purchaseToken);
    purchase.purchaseState = PURCHASE_STATE.PURCHASED;
    purchase.purchaseTimeMillis = Date.now();
    return { ...purchase };
  }

  /** The payer never pays a pending purchase: Google cancels it. */
  cancelPending(purchaseToken: string): FakePurchase {
    const purchase = this.pendingPurchase(purchaseToken);
    purchase.purchaseState = PURCHASE_STATE.CANCELED;
    return { ...purchase };
  }

  /** Google voids a purchase (refund from the Play Console or by Google, chargeback by the payer's bank). */
  voidPurchase(
    purchaseToken: string,
    voided: { reason?: number; source?: number; voidedAt?: number; recordedAt?: number } = {},
  ): FakePurchase {
    const purchase = this.known(purchaseToken);
    purchase.purchaseState = PURCHASE_STATE.CANCELED;
    const voidedTimeMillis = voided.voidedAt ?? Date.now();
    purchase.voided = {
      voidedTimeMillis,
      recordedTimeMillis: voided.recordedAt ?? Math.max(voidedTimeMillis, Date.now()),
      voidedSource: voided.source ?? VOIDED_SOURCE.USER,
      voidedReason: voided.reason ?? VOIDED_REASON.REMORSE,
    };
    return { ...purchase };
  }

  purchaseOf(purchaseToken: string): FakePurchase | undefined {
    const purchase = this.purchases.get(purchaseToken);
    return purchase && { ...purchase };
  }

  /** Google's next answers to the Android Publisher API are these HTTP statuses (e.g. 503), then normal again. */
  failNext(...statuses: number[]): void {
    this.failures.push(...statuses);
  }

  /** Google forgets the access tokens it issued (the next call with one gets 401). */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** How many access tokens the service account obtained. */
  get tokenRequests(): number {
    return this.requests.filter((r) => r.path === '/token').length;
  }

  /** How many voidedpurchases.list calls Google answered (they count against the API quota). */
  get voidedListCalls(): number {
    return this.requests.filter((r) => r.path.endsWith('/purchases/voidedpurchases')).length;
  }

  get certificateRequests(): number {
    return this.requests.filter((r) => r.path === '/oauth2/v1/certs').length;
  }

  // ---- Real-time developer notifications, as Pub/Sub pushes them ----

  /** A DeveloperNotification of this app, now. */
  notification(fields: Record<string, unknown>): Record<string, unknown> {
    return { version: '1.0', packageName: this.packageName, eventTimeMillis: String(Date.now()), ...fields };
  }

  purchasedPush(purchaseToken: string, options?: PushOptions): GooglePlayPush {
    return this.oneTimeProductPush(ONE_TIME_NOTIFICATION.PURCHASED, purchaseToken, options);
  }

  canceledPush(purchaseToken: string, options?: PushOptions): GooglePlayPush {
    return this.oneTimeProductPush(ONE_TIME_NOTIFICATION.CANCELED, purchaseToken, options);
  }

  voidedPush(purchaseToken: string, options: PushOptions & { refundType?: 1 | 2 } = {}): GooglePlayPush {
    const purchase = this.known(purchaseToken);
    const voidedPurchaseNotification = {
      purchaseToken,
      orderId: purchase.orderId,
      productType: 2,
      refundType: options.refundType ?? 1,
    };
    return this.pushOf(this.notification({ voidedPurchaseNotification }), options);
  }

  /** What the Play Console's "Send test notification" sends. */
  testPush(options?: PushOptions): GooglePlayPush {
    return this.pushOf(this.notification({ testNotification: { version: '1.0' } }), options);
  }

  /** Any developer notification (see notification()), pushed. */
  pushOf(notification: Record<string, unknown>, options: PushOptions = {}): GooglePlayPush {
    const messageId = `${randomInt(1e7, 1e8)}${randomInt(1e7, 1e8)}`;
    const publishTime = new Date().toISOString();
    const body = {
      message: {
        attributes: {},
        data: Buffer.from(JSON.stringify(notification)).toString('base64'),
        messageId,
        message_id: messageId,
        publishTime,
        publish_time: publishTime,
      },
      subscription: 'projects/studio-project/subscriptions/play-rtdn-push',
    };
    return this.withToken({ headers: {}, rawBody: Buffer.from(JSON.stringify(body)) }, options);
  }

  /** The same message as Pub/Sub redelivers it: the same body, a fresh token. */
  withToken(push: GooglePlayPush, options: PushOptions = {}): GooglePlayPush {
    return {
      headers: {
        ...push.headers,
        'content-type': 'application/json',
        authorization: `Bearer ${this.pushToken(options)}`,
        'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
      },
      rawBody: push.rawBody,
    };
  }

  /** The OIDC token Pub/Sub puts in Authorization: RS256 by Google's key, for the push service account. */
  pushToken(options: PushOptions = {}): string {
    const iat = Math.floor(Date.now() / 1000);
    const claims: PushTokenClaims = {
      aud: this.push.audience,
      azp: '112233445566778899000',
      email: this.push.serviceAccountEmail,
      email_verified: true,
      exp: iat + 3600,
      iat,
      iss: 'https://accounts.google.com',
      sub: '112233445566778899000',
      ...options.claims,
    };
    const kid = options.signingKey?.kid ?? this.push.kid;
    return signJwt({ alg: 'RS256', kid, typ: 'JWT' }, claims, options.signingKey?.privateKeyPem ?? this.push.privateKeyPem);
  }

  /** Pub/Sub delivers a push to the callback URL; returns the HTTP status it got. */
  async deliver(push: GooglePlayPush, callbackUrl: string): Promise<number> {
    const res = await fetch(callbackUrl, { method: 'POST', headers: push.headers, body: new Uint8Array(push.rawBody) });
    await res.arrayBuffer();
    return res.status;
  }

  private oneTimeProductPush(notificationType: number, purchaseToken: string, options?: PushOptions): GooglePlayPush {
    const { productId } = this.known(purchaseToken);
    return this.pushOf(
      this.notification({ oneTimeProductNotification: { version: '1.0', notificationType, purchaseToken, sku: productId } }),
      options,
    );
  }

  private known(purchaseToken: string): FakePurchase {
    const purchase = this.purchases.get(purchaseToken);
    if (!purchase) throw new Error('no such purchase in the Google Play fake');
    return purchase;
  }

  private pendingPurchase(purchaseToken: string): FakePurchase {
    const purchase = this.known(purchaseToken);
    if (purchase.purchaseState !== PURCHASE_STATE.PENDING) throw new Error('the purchase is not pending');
    return purchase;
  }

  // ---- Google's HTTP side ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams });
    if (req.method === 'POST' && url.pathname === '/token') return this.token(res, body);
    if (req.method === 'GET' && url.pathname === '/oauth2/v1/certs') {
      const maxAge = this.options.certificatesMaxAgeSeconds ?? 21_600;
      return send(res, 200, this.certificates(), { 'Cache-Control': `public, max-age=${maxAge}, must-revalidate, no-transform` });
    }
    const failure = this.failures.shift();
    if (failure !== undefined) return send(res, failure, apiError(failure, 'backendError', 'Backend Error'));
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || (this.accessTokens.get(bearer) ?? 0) < Date.now()) {
      return send(res, 401, apiError(401, 'authError', 'Request had invalid authentication credentials.', 'UNAUTHENTICATED'));
    }
    const route = matchPublisherRoute(req.method ?? 'GET', url.pathname);
    if (!route) return send(res, 404, apiError(404, 'notFound', 'Not Found', 'NOT_FOUND'));
    if (route.packageName !== this.packageName) {
      return send(res, 403, apiError(403, 'forbidden', 'The caller does not have permission', 'PERMISSION_DENIED'));
    }
    switch (route.name) {
      case 'products.get':
      case 'products.consume': {
        const purchase = this.purchases.get(route.token);
        if (!purchase || purchase.productId !== route.productId) return send(res, 400, apiError(400, 'invalid', 'Invalid Value'));
        if (route.name === 'products.get') return send(res, 200, productPurchaseView(purchase));
        if (purchase.purchaseState !== PURCHASE_STATE.PURCHASED) {
          return send(res, 400, apiError(400, 'purchaseNotOwned', 'The purchase is not owned by the user.'));
        }
        purchase.consumptionState = 1;
        purchase.acknowledgementState = 1;
        return send(res, 204);
      }
      case 'productsv2.get': {
        const purchase = this.purchases.get(route.token);
        if (!purchase) return send(res, 400, apiError(400, 'invalid', 'Invalid Value'));
        return send(res, 200, productPurchaseV2View(purchase));
      }
      case 'voidedpurchases.list':
        return this.voidedPurchases(res, url.searchParams);
      case 'orders.refund': {
        const purchase = [...this.purchases.values()].find((p) => p.orderId === route.orderId);
        if (!purchase) return send(res, 404, apiError(404, 'notFound', 'The order was not found.', 'NOT_FOUND'));
        // Google does not document its answer to a second refund of one order; a refusal is the safe guess.
        if (purchase.purchaseState !== PURCHASE_STATE.PURCHASED) {
          return send(res, 400, apiError(400, 'orderNotRefundable', 'The order is not refundable.', 'FAILED_PRECONDITION'));
        }
        this.voidPurchase(purchase.purchaseToken, { source: VOIDED_SOURCE.DEVELOPER, reason: VOIDED_REASON.OTHER });
        purchase.refundRevoke = url.searchParams.get('revoke') === 'true';
        return send(res, 204);
      }
    }
  }

  /** The JWT-bearer grant: the assertion must be the service account's, for Google's token URL, short-lived. */
  private token(res: ServerResponse, body: string): void {
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== JWT_BEARER_GRANT) {
      return send(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type: ' + form.get('grant_type') });
    }
    const claims = verifyJwt(form.get('assertion') ?? '', this.serviceAccount.publicKeyPem);
    if (!claims) return send(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    const now = Math.floor(Date.now() / 1000);
    const { iss, aud, scope, iat, exp } = claims as { iss?: unknown; aud?: unknown; scope?: unknown; iat?: unknown; exp?: unknown };
    if (iss !== this.serviceAccount.email) return send(res, 401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' });
    if (aud !== GOOGLE_TOKEN_AUDIENCE) return send(res, 400, { error: 'invalid_grant', error_description: 'Invalid JWT: audience.' });
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 3600 || now < iat - 300 || now > exp) {
      return send(res, 400, {
        error: 'invalid_grant',
        error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
      });
    }
    if (typeof scope !== 'string' || !scope.split(' ').includes(ANDROID_PUBLISHER_SCOPE)) {
      return send(res, 400, { error: 'invalid_scope', error_description: 'Invalid OAuth scope or ID token audience provided.' });
    }
    const accessToken = `ya29.${randomBytes(48).toString('base64url')}`;
    this.accessTokens.set(accessToken, Date.now() + 3599_000);
    return send(res, 200, { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' });
  }

  /**
   * voidedpurchases.list as Google documents it: startTime/endTime (ms) filter on when Google recorded
   * the void, not voidedTimeMillis; startTime at most 30 days back, endTime not in the future; a `token`
   * carries its window and the times sent with it are ignored; type 0 (one-time products) unless 1.
   */
  private voidedPurchases(res: ServerResponse, query: URLSearchParams): void {
    const now = Date.now();
    const tokenParam = query.get('token');
    const page = tokenParam !== null ? decodePageToken(tokenParam) : undefined;
    if (tokenParam !== null && !page) return send(res, 400, apiError(400, 'invalid', 'Invalid pagination token.', 'INVALID_ARGUMENT'));
    const int = (name: string, fallback: number) => (query.get(name) === null ? fallback : Number(query.get(name)));
    const startTime = page?.startTime ?? int('startTime', now - 30 * DAY_MS);
    const endTime = page?.endTime ?? int('endTime', now);
    const maxResults = int('maxResults', 1000);
    const type = int('type', 0);
    if (!Number.isSafeInteger(startTime) || !Number.isSafeInteger(endTime) || startTime < now - 30 * DAY_MS - 60_000) {
      return send(res, 400, apiError(400, 'invalid', 'startTime must be within the last 30 days.', 'INVALID_ARGUMENT'));
    }
    if (endTime > now + 60_000 || endTime < startTime) {
      return send(res, 400, apiError(400, 'invalid', 'endTime must not be in the future nor before startTime.', 'INVALID_ARGUMENT'));
    }
    if (!Number.isSafeInteger(maxResults) || maxResults < 1 || maxResults > 1000 || (type !== 0 && type !== 1)) {
      return send(res, 400, apiError(400, 'invalid', 'Invalid Value', 'INVALID_ARGUMENT'));
    }
    const all = [...this.purchases.values()]
      .filter((p) => p.voided && p.voided.recordedTimeMillis >= startTime && p.voided.recordedTimeMillis <= endTime)
      .sort((a, b) => a.voided!.recordedTimeMillis - b.voided!.recordedTimeMillis);
    const size = Math.min(maxResults, this.options.voidedPageSize ?? 1000);
    const from = page?.index ?? 0;
    const slice = all.slice(from, from + size);
    const next = from + size < all.length ? encodePageToken({ startTime, endTime, index: from + size }) : undefined;
    return send(res, 200, {
      pageInfo: { totalResults: slice.length, resultPerPage: size, startIndex: from },
      ...(next && { tokenPagination: { nextPageToken: next } }),
      voidedPurchases: slice.map((p) => ({
        kind: 'androidpublisher#voidedPurchase',
        purchaseToken: p.purchaseToken,
        purchaseTimeMillis: String(p.purchaseTimeMillis),
        voidedTimeMillis: String(p.voided!.voidedTimeMillis),
        ...(p.orderId && { orderId: p.orderId }),
        voidedSource: p.voided!.voidedSource,
        voidedReason: p.voided!.voidedReason,
      })),
    });
  }
}

type PublisherRoute =
  | { name: 'products.get' | 'products.consume'; packageName: string; productId: string; token: string }
  | { name: 'productsv2.get'; packageName: string; token: string }
  | { name: 'voidedpurchases.list'; packageName: string }
  | { name: 'orders.refund'; packageName: string; orderId: string };

function matchPublisherRoute(method: string, path: string): PublisherRoute | undefined {
  const prefix = /^\/androidpublisher\/v3\/applications\/([^/]+)\/(.*)$/.exec(path);
  if (!prefix) return undefined;
  const packageName = decodeURIComponent(prefix[1]!);
  const rest = prefix[2]!;
  let m: RegExpExecArray | null;
  if ((m = /^purchases\/products\/([^/]+)\/tokens\/([^/:]+)(:consume)?$/.exec(rest))) {
    const name = m[3] ? 'products.consume' : 'products.get';
    if ((name === 'products.get') !== (method === 'GET')) return undefined;
    return { name, packageName, productId: decodeURIComponent(m[1]!), token: decodeURIComponent(m[2]!) };
  }
  if (method === 'GET' && (m = /^purchases\/productsv2\/tokens\/([^/:]+)$/.exec(rest))) {
    return { name: 'productsv2.get', packageName, token: decodeURIComponent(m[1]!) };
  }
  if (method === 'GET' && rest === 'purchases/voidedpurchases') return { name: 'voidedpurchases.list', packageName };
  if (method === 'POST' && (m = /^orders\/([^/:]+):refund$/.exec(rest))) {
    return { name: 'orders.refund', packageName, orderId: decodeURIComponent(m[1]!) };
  }
  return undefined;
}

/** ProductPurchase as products.get answers it: int64 as strings, purchaseType only when set. */
function productPurchaseView(p: FakePurchase) {
  return {
    kind: 'androidpublisher#productPurchase',
    purchaseTimeMillis: String(p.purchaseTimeMillis),
    purchaseState: p.purchaseState,
    consumptionState: p.consumptionState,
    developerPayload: '',
    ...(p.orderId && { orderId: p.orderId }),
    ...(p.purchaseType !== undefined && { purchaseType: p.purchaseType }),
    acknowledgementState: p.acknowledgementState,
    productId: p.productId,
    quantity: p.quantity,
    ...(p.obfuscatedExternalAccountId !== undefined && { obfuscatedExternalAccountId: p.obfuscatedExternalAccountId }),
    ...(p.obfuscatedExternalProfileId !== undefined && { obfuscatedExternalProfileId: p.obfuscatedExternalProfileId }),
    regionCode: p.regionCode,
    refundableQuantity: p.purchaseState === PURCHASE_STATE.CANCELED ? 0 : p.quantity,
  };
}

/** ProductPurchaseV2: enums as names, one line item per product. */
function productPurchaseV2View(p: FakePurchase) {
  const state = ['PURCHASED', 'CANCELLED', 'PENDING'][p.purchaseState];
  return {
    kind: 'androidpublisher#productPurchaseV2',
    productLineItem: [
      {
        productId: p.productId,
        productOfferDetails: {
          quantity: p.quantity,
          refundableQuantity: p.purchaseState === PURCHASE_STATE.CANCELED ? 0 : p.quantity,
          consumptionState: p.consumptionState ? 'CONSUMPTION_STATE_CONSUMED' : 'CONSUMPTION_STATE_YET_TO_BE_CONSUMED',
        },
      },
    ],
    purchaseStateContext: { purchaseState: state },
    ...(p.purchaseType === PURCHASE_TYPE.TEST && { testPurchaseContext: { fopType: 'TEST' } }),
    ...(p.orderId && { orderId: p.orderId }),
    ...(p.obfuscatedExternalAccountId !== undefined && { obfuscatedExternalAccountId: p.obfuscatedExternalAccountId }),
    ...(p.obfuscatedExternalProfileId !== undefined && { obfuscatedExternalProfileId: p.obfuscatedExternalProfileId }),
    regionCode: p.regionCode,
    purchaseCompletionTime: new Date(p.purchaseTimeMillis).toISOString(),
    acknowledgementState: p.acknowledgementState ? 'ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED' : 'ACKNOWLEDGEMENT_STATE_PENDING',
  };
}

function apiError(code: number, reason: string, message: string, status?: string) {
  return { error: { code, message, errors: [{ message, domain: 'global', reason }], ...(status && { status }) } };
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', ...headers }).end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

function signJwt(header: object, claims: object, privateKeyPem: string): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${createSign('RSA-SHA256').update(signingInput).sign(privateKeyPem, 'base64url')}`;
}

/** The claims of an RS256 JWT signed by the key, else undefined. */
function verifyJwt(jwt: string, publicKeyPem: string): Record<string, unknown> | undefined {
  const [header, payload, signature] = jwt.split('.');
  if (!header || !payload || !signature) return undefined;
  try {
    if ((JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: string }).alg !== 'RS256') return undefined;
    const valid = createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(publicKeyPem, Buffer.from(signature, 'base64url'));
    return valid ? (JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Google publishes its OIDC keys as self-signed X.509 certificates. */
function selfSignedCertificate(privateKeyPem: string): string {
  const key = forge.pki.privateKeyFromPem(privateKeyPem);
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  certificate.serialNumber = randomBytes(8).toString('hex');
  certificate.validity.notBefore = new Date(Date.now() - DAY_MS);
  certificate.validity.notAfter = new Date(Date.now() + 14 * DAY_MS);
  const name = [{ name: 'commonName', value: 'federated-signon.system.gserviceaccount.com' }];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.sign(key, forge.md.sha256.create());
  return forge.pki.certificateToPem(certificate);
}

/** Tokens are opaque to us: letters, then a long base64url tail with dots, as Google's look. */
function newPurchaseToken(): string {
  return `${randomBytes(18).toString('base64url').replace(/[-_]/g, 'a')}.AO-J1O${randomBytes(96).toString('base64url')}`;
}

function newGoogleOrderId(): string {
  const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
  return `GPA.${digits(4)}-${digits(4)}-${digits(4)}-${digits(5)}`;
}

function encodePageToken(page: { startTime: number; endTime: number; index: number }): string {
  return base64url(JSON.stringify(page));
}

function decodePageToken(token: string): { startTime: number; endTime: number; index: number } | undefined {
  try {
    const page = JSON.parse(Buffer.from(token, 'base64url').toString()) as { startTime?: unknown; endTime?: unknown; index?: unknown };
    const { startTime, endTime, index } = page;
    return typeof startTime === 'number' && typeof endTime === 'number' && typeof index === 'number' ? { startTime, endTime, index } : undefined;
  } catch {
    return undefined;
  }
}
