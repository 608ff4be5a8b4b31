import { createPrivateKey, createPublicKey } from 'node:crypto';
import { GoogleToken, type gaxios, type Transporter } from 'google-auth-library';
import { z } from 'zod';
import { finalError, transientError, type ChannelError, type ChannelHttp, type ChannelResponse } from '../http';
import {
  CallbackRejectedError,
  ChannelUnsupportedError,
  ReceiptRejectedError,
  type ChannelAccount,
  type ChannelAdapter,
  type ChannelDefinition,
  type ChannelDeps,
  type InboundCallback,
  type PaymentQueryResult,
  type PaymentRef,
  type SweepPage,
  type SweptRecord,
  type VerifiedNotification,
} from '../types';
import {
  ANDROID_PUBLISHER_BASE_URL,
  ANDROID_PUBLISHER_SCOPE,
  GOOGLE_CERTS_URL,
  GOOGLE_TOKEN_URL,
  ONE_TIME_PRODUCT_CANCELED,
  ONE_TIME_PRODUCT_PURCHASED,
  PURCHASE_STATE,
  PURCHASE_TYPE_TEST,
  VOIDED_PRODUCT_TYPE_ONE_TIME,
  VOIDED_REASON_UNACKNOWLEDGED,
  VOIDED_REFUND_TYPE_FULL,
  accessTokenSchema,
  channelPaymentIdOf,
  decodePush,
  googleApiErrorSchema,
  googleCertificatesSchema,
  oauthErrorSchema,
  obfuscatedAccountIdOf,
  orderIdOfPurchase,
  paymentCanceled,
  paymentSucceeded,
  productPurchaseSchema,
  productPurchaseV2Schema,
  publisherPaths,
  purchaseVoided,
  receiptSchema,
  verifyPushToken,
  voidedPurchasesPageSchema,
  type DeveloperNotification,
  type ProductPurchase,
  type VoidedPurchase,
} from './wire';

const privateKeyPem = z.string().refine((pem) => parses(() => createPrivateKey(pem)), {
  message: 'not a PEM private key (the private_key of the service account JSON key)',
});
const publicKeyPem = z.string().refine((pem) => parses(() => createPublicKey(pem)), {
  message: 'not a PEM certificate or public key',
});
const httpUrl = z.url({ protocol: /^https?$/ });

/** A Google Play account: the app, the service account that calls the Android Publisher API, the RTDN push subscription. */
export const googleplayCredentials = z.strictObject({
  packageName: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/, 'not an Android package name'),
  serviceAccountEmail: z.email(),
  serviceAccountPrivateKey: privateKeyPem,
  tokenUrl: httpUrl.optional(),
  androidPublisherBaseUrl: httpUrl.optional(),
  /** The audience the Pub/Sub push subscription puts in its tokens (by default, the push endpoint URL). */
  pushAudience: z.string().min(1),
  /** The service account the push subscription authenticates as. */
  pushServiceAccountEmail: z.email(),
  /** Pinned certificates by kid; when absent, Google's published ones are fetched and cached. */
  pushCertificates: z.record(z.string().min(1), publicKeyPem).optional(),
  /** Accept license testers' purchases (purchaseType 0) as paid: for test tracks only. */
  allowTestPurchases: z.boolean().optional(),
});
export type GoogleplayCredentials = z.infer<typeof googleplayCredentials>;

export function googleplayChannel(): ChannelDefinition<GoogleplayCredentials> {
  return { type: 'googleplay', credentials: googleplayCredentials, createAdapter: createGoogleplayAdapter };
}

/** Refresh the access token this long before Google says it expires. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** Google's certificates when its answer names no max-age. */
const DEFAULT_CERTS_TTL_MS = 5 * 60_000;
/** voidedpurchases.list looks back at most 30 days; an hour of margin against clock skew. */
const VOIDED_LOOKBACK_MS = 30 * 24 * 3_600_000 - 3_600_000;
const VOIDED_PAGE_SIZE = 1000;
/** A voided purchase is searched for from a day before its notification (Google lists by its own void time). */
const VOIDED_SEARCH_MARGIN_MS = 24 * 3_600_000;
const VOIDED_MAX_PAGES = 20;
/** A page of up to 1000 voided purchases (each with its ~150-character token): ~400 KB, with room to spare. */
const VOIDED_PAGE_MAX_BYTES = 2 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function createGoogleplayAdapter(account: ChannelAccount<GoogleplayCredentials>, deps: ChannelDeps): ChannelAdapter {
  const { http, now = () => new Date() } = deps;
  const credentials = account.credentials;
  const { packageName } = credentials;
  const publisherBase = (credentials.androidPublisherBaseUrl ?? ANDROID_PUBLISHER_BASE_URL).replace(/\/$/, '');
  const accessTokens = new GoogleToken({
    email: credentials.serviceAccountEmail,
    key: credentials.serviceAccountPrivateKey,
    scope: ANDROID_PUBLISHER_SCOPE,
    eagerRefreshThresholdMillis: TOKEN_REFRESH_MARGIN_MS,
    transporter: tokenEndpointTransport(http, credentials.tokenUrl ?? GOOGLE_TOKEN_URL),
  });
  const pushCertificates = credentials.pushCertificates
    ? async () => credentials.pushCertificates!
    : googleCertificates(http, now);

  const bearer = async (forceRefresh: boolean) => {
    const token = await accessTokens.getToken({ forceRefresh });
    if (!token.access_token) throw finalError('NO_ACCESS_TOKEN', 'googleplay: the token endpoint gave no access token');
    return `Bearer ${token.access_token}`;
  };
  /** One Android Publisher call; a 401 means our cached token was revoked early: one retry with a new one. */
  const publisher = async (
    method: 'GET' | 'POST',
    path: string,
    query?: URLSearchParams,
    maxAnswerBytes?: number,
  ): Promise<ChannelResponse> => {
    const url = `${publisherBase}${path}${query ? `?${query}` : ''}`;
    const send = async (forceRefresh: boolean) =>
      http.send({
        method,
        url,
        headers: { Authorization: await bearer(forceRefresh), Accept: 'application/json' },
        ...(maxAnswerBytes !== undefined && { maxAnswerBytes }),
      });
    const res = await send(false);
    return res.status === 401 ? send(true) : res;
  };
  /** products.get; undefined when Google does not know the token for this product. */
  const productPurchase = async (productId: string, token: string): Promise<ProductPurchase | undefined> => {
    const res = await publisher('GET', publisherPaths.productPurchase(packageName, productId, token));
    if (isUnknownPurchase(res)) return undefined;
    if (res.status !== 200) throw refused(res, 'purchases.products.get');
    return parsed(productPurchaseSchema, res, 'purchases.products.get');
  };
  /** The order and product of a purchase known by its token alone. */
  const purchaseByToken = async (token: string): Promise<{ orderId?: string; productId?: string }> => {
    const res = await publisher('GET', publisherPaths.productPurchaseV2(packageName, token));
    if (isUnknownPurchase(res)) return {};
    if (res.status !== 200) throw refused(res, 'purchases.productsv2.get');
    const purchase = parsed(productPurchaseV2Schema, res, 'purchases.productsv2.get');
    const orderId = orderIdOfPurchase(purchase);
    return {
      ...(orderId !== undefined && UUID.test(orderId) && { orderId }),
      ...(purchase.productLineItem?.[0] && { productId: purchase.productLineItem[0].productId }),
    };
  };
  /**
   * The purchase a payment's token made, and its product: the order's product, or — when the payer
   * bought another one (held for a person as PRODUCT_MISMATCH) — the product Google names for the
   * token, so that such an order can still be refunded or consumed.
   */
  const purchaseOfPayment = async (ref: PaymentRef): Promise<{ purchase?: ProductPurchase; productId: string }> => {
    const token = tokenOf(ref);
    const ordered = productOf(ref);
    const purchase = await productPurchase(ordered, token);
    if (purchase) return { purchase, productId: ordered };
    const bought = (await purchaseByToken(token)).productId;
    if (!bought || bought === ordered) return { productId: ordered };
    return { purchase: await productPurchase(bought, token), productId: bought };
  };
  /** voidedpurchases.list from `since` to now, page by page, until the token is found. */
  const findVoided = async (token: string, since: number): Promise<VoidedPurchase | undefined> => {
    const startTime = Math.max(since, now().getTime() - VOIDED_LOOKBACK_MS);
    let pageToken: string | undefined;
    for (let page = 0; page < VOIDED_MAX_PAGES; page++) {
      const query = new URLSearchParams({ startTime: String(startTime), maxResults: String(VOIDED_PAGE_SIZE) });
      if (pageToken) query.set('token', pageToken);
      const res = await publisher('GET', publisherPaths.voidedPurchases(packageName), query);
      if (res.status !== 200) throw refused(res, 'purchases.voidedpurchases.list');
      const body = parsed(voidedPurchasesPageSchema, res, 'purchases.voidedpurchases.list');
      const found = body.voidedPurchases?.find((v) => v.purchaseToken === token);
      if (found) return found;
      pageToken = body.tokenPagination?.nextPageToken;
      if (!pageToken) return undefined;
    }
    return undefined;
  };

  /** License testers pay nothing: their purchases pay an order only on accounts that accept them. */
  const testPurchaseRefused = (purchase: ProductPurchase) =>
    purchase.purchaseType === PURCHASE_TYPE_TEST && !credentials.allowTestPurchases;
  const TEST_PURCHASE_REFUSED = 'a license tester’s purchase, and this account does not accept test purchases';

  const oneTimeProductEvent = async (
    notification: NonNullable<DeveloperNotification['oneTimeProductNotification']>,
  ): Promise<VerifiedNotification> => {
    const { purchaseToken, sku, notificationType } = notification;
    if (notificationType !== ONE_TIME_PRODUCT_PURCHASED && notificationType !== ONE_TIME_PRODUCT_CANCELED) {
      return { events: [], notice: `one-time product notification of type ${notificationType}: not acted on` };
    }
    // The notification carries no state: the purchase as Google has it now decides.
    const purchase = await productPurchase(sku, purchaseToken);
    if (!purchase) return { events: [], notice: `Google does not know the purchase token of ${sku} it notified` };
    const orderId = orderIdOfPurchase(purchase);
    if (orderId === undefined || !UUID.test(orderId)) {
      return { events: [], notice: `a purchase of ${sku} made outside our orders (no order id in obfuscatedExternalProfileId)` };
    }
    switch (purchase.purchaseState) {
      case PURCHASE_STATE.PURCHASED:
        if (testPurchaseRefused(purchase)) {
          return { events: [], notice: `purchase of ${sku} for order ${orderId} not accepted: ${TEST_PURCHASE_REFUSED}` };
        }
        return { events: [paymentSucceeded(purchase, purchaseToken, sku, orderId)] };
      case PURCHASE_STATE.CANCELED:
        // A pending purchase the payer never completed; the order stays open for another attempt.
        return { events: [paymentCanceled(purchaseToken, purchase.productId ?? sku, orderId)] };
      case PURCHASE_STATE.PENDING:
        return { events: [], notice: `purchase of ${sku} for order ${orderId} is pending (payment not yet made)` };
      default:
        return { events: [], notice: `purchase of ${sku} for order ${orderId} in unknown state ${purchase.purchaseState}` };
    }
  };

  const voidedEvent = async (
    notification: NonNullable<DeveloperNotification['voidedPurchaseNotification']>,
    eventTimeMillis: number,
  ): Promise<VerifiedNotification> => {
    const { purchaseToken, orderId: googleOrderId, productType, refundType } = notification;
    if (productType !== VOIDED_PRODUCT_TYPE_ONE_TIME) {
      return { events: [], notice: `voided subscription ${googleOrderId}: subscriptions are not sold through this channel` };
    }
    if (refundType !== VOIDED_REFUND_TYPE_FULL) {
      // Google gives no price and our orders have no per-unit refund: operations decide.
      return { events: [], notice: `quantity-based partial refund of ${googleOrderId}: not acted on, review it` };
    }
    const [found, entry] = await Promise.all([
      purchaseByToken(purchaseToken),
      // Only the voided purchases list says why (voidedReason 7 is a chargeback).
      findVoided(purchaseToken, eventTimeMillis - VOIDED_SEARCH_MARGIN_MS),
    ]);
    return { events: [purchaseVoided({ purchaseToken, googleOrderId, eventTimeMillis }, { ...found, entry })] };
  };

  /**
   * One entry of the voided purchases list, read as its voided purchase notification would have been:
   * the order from what we already know of the token, else from Google (productsv2, as the live path).
   */
  const voidedRecord = async (entry: VoidedPurchase, knownOrder?: (token: string) => Promise<string | undefined>): Promise<SweptRecord> => {
    const { purchaseToken } = entry;
    const orderId = await knownOrder?.(purchaseToken);
    const found = orderId !== undefined ? { orderId } : await purchaseByToken(purchaseToken);
    const voidedAt = entry.voidedTimeMillis ?? now().getTime();
    const event = purchaseVoided({ purchaseToken, googleOrderId: entry.orderId ?? '', eventTimeMillis: voidedAt }, { ...found, entry });
    // Reason 8: Google refunded a purchase nobody acknowledged within 3 days. For an order we never saw
    // paid, its purchase notification was lost (purchases cannot be listed): a person should know.
    const notice =
      entry.voidedReason === VOIDED_REASON_UNACKNOWLEDGED && orderId === undefined
        ? `purchase ${entry.orderId ?? '(no Google order id)'}${found.orderId ? ` for order ${found.orderId}` : ''} was refunded by Google because it was never acknowledged: if that order was never paid here, its purchase notification was lost`
        : undefined;
    return {
      notification: { events: [event], ...(notice && { notice }) },
      rawBody: JSON.stringify({ voidedPurchase: entry }),
      firstTriedAt: new Date(voidedAt).toISOString(),
    };
  };

  const unsupported = (operation: string, why: string) => new ChannelUnsupportedError('googleplay', operation, why);

  return {
    channelId: account.channelId,
    type: 'googleplay',
    supports: { close: false, refund: true, queryRefund: true, statement: false, receipts: true },

    async createPayment(request) {
      if (!request.storeProductId) {
        throw finalError('NO_STORE_PRODUCT', 'googleplay: the item has no Google Play product id');
      }
      // Nothing is opened at Google: the game client launches the billing flow with these.
      return {
        channelPaymentId: channelPaymentIdOf(request.orderId),
        payment: {
          obfuscatedAccountId: obfuscatedAccountIdOf(request.userId),
          obfuscatedProfileId: request.orderId,
          productId: request.storeProductId,
        },
      };
    },

    async verifyNotification({ headers, rawBody }: InboundCallback): Promise<VerifiedNotification> {
      const jwt = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header(headers, 'authorization') ?? '')?.[1];
      if (!jwt) throw new CallbackRejectedError('INVALID_SIGNATURE', 'no Pub/Sub bearer token');
      // Pub/Sub authenticates the sender, not the body: every state below is read back from Google.
      verifyPushToken(
        jwt,
        await pushCertificates(),
        { audience: credentials.pushAudience, serviceAccountEmail: credentials.pushServiceAccountEmail },
        now(),
      );
      const { notification } = decodePush(rawBody);
      if (notification.packageName !== packageName) {
        throw new CallbackRejectedError('WRONG_MERCHANT', `a notification for ${notification.packageName}, not ${packageName}`);
      }
      if (notification.oneTimeProductNotification) return oneTimeProductEvent(notification.oneTimeProductNotification);
      if (notification.voidedPurchaseNotification) {
        return voidedEvent(notification.voidedPurchaseNotification, notification.eventTimeMillis);
      }
      if (notification.testNotification) return { events: [], notice: 'Play Console test notification' };
      if (notification.subscriptionNotification) {
        return { events: [], notice: 'subscription notification: subscriptions are not sold through this channel' };
      }
      return { events: [], notice: 'developer notification of a kind this adapter does not know' };
    },

    // voidedpurchases.list answers for the last 30 days.
    sweep: { passes: ['VOIDED'], maxLookbackDays: 30 },

    /**
     * voidedpurchases.list: the one-time purchases (type 0, the default; type 1 adds subscriptions, which
     * are keyed by Google's order id, not ours) that Google *recorded* as voided in [start, end), up to
     * 1000 a page. The times go on the first page only: with a token Google ignores them (the token
     * carries the window).
     */
    async sweepPage({ pass, start, end, page, knownOrder }): Promise<SweepPage> {
      if (pass !== 'VOIDED') throw unsupported(`sweepPage(${pass})`, 'Google Play lists voided purchases only');
      const query =
        page === undefined
          ? new URLSearchParams({ startTime: String(start.getTime()), endTime: String(end.getTime()), maxResults: String(VOIDED_PAGE_SIZE) })
          : new URLSearchParams({ token: page, maxResults: String(VOIDED_PAGE_SIZE) });
      const res = await publisher('GET', publisherPaths.voidedPurchases(packageName), query, VOIDED_PAGE_MAX_BYTES);
      if (res.status !== 200) throw refused(res, 'purchases.voidedpurchases.list');
      const body = parsed(voidedPurchasesPageSchema, res, 'purchases.voidedpurchases.list');
      const records: SweptRecord[] = [];
      for (const entry of body.voidedPurchases ?? []) records.push(await voidedRecord(entry, knownOrder));
      const next = body.tokenPagination?.nextPageToken;
      return { records, ...(next && { nextPage: next }) };
    },

    // Pub/Sub takes 102, 200, 201, 202 or 204 as the acknowledgement; anything else is redelivered.
    acknowledgement: () => ({ status: 204, contentType: 'text/plain', body: '' }),

    async queryPayment(ref): Promise<PaymentQueryResult> {
      // Google knows a purchase by its token only, which the payer's device gets when it pays.
      if (!ref.channelTradeNo) return { state: 'PENDING' };
      const productId = productOf(ref);
      const purchase = await productPurchase(productId, ref.channelTradeNo);
      if (!purchase) return { state: 'NOT_FOUND' };
      switch (purchase.purchaseState) {
        case PURCHASE_STATE.PURCHASED:
          if (orderIdOfPurchase(purchase) !== ref.orderId.toLowerCase()) return { state: 'NOT_FOUND' };
          if (testPurchaseRefused(purchase)) return { state: 'FAILED' };
          return { state: 'SUCCEEDED', event: paymentSucceeded(purchase, ref.channelTradeNo, productId, ref.orderId) };
        case PURCHASE_STATE.PENDING:
          return { state: 'PENDING' };
        default:
          return { state: 'FAILED' };
      }
    },

    async closePayment() {
      throw unsupported('closePayment', 'nothing is opened at Google Play before the payer buys; an unpaid order simply expires');
    },

    async refund({ payment, amount, paid }) {
      if (paid !== undefined && (amount.currency !== paid.currency || amount.value !== paid.value)) {
        throw unsupported('partial refund', 'orders.refund returns the whole order');
      }
      const { purchase } = await purchaseOfPayment(payment);
      if (!purchase) throw finalError('UNKNOWN_PURCHASE', 'googleplay refund: Google does not know this purchase token');
      if (!purchase.orderId) {
        throw finalError('NO_GOOGLE_ORDER', 'googleplay refund: Google names no order for this purchase (promo or rewarded), nothing was paid');
      }
      // Refunded or canceled already (a repeated request): Google voids an order once.
      if (purchase.purchaseState === PURCHASE_STATE.CANCELED) return { channelRefundId: purchase.orderId, state: 'SUCCEEDED' };
      const query = new URLSearchParams({ revoke: 'true' });
      const res = await publisher('POST', publisherPaths.refundOrder(packageName, purchase.orderId), query);
      if (res.status !== 200 && res.status !== 204) throw refused(res, 'orders.refund');
      // Google accepted; the void shows in the voided purchases list and as a voided purchase notification.
      return { channelRefundId: purchase.orderId, state: 'PROCESSING' };
    },

    async queryRefund({ payment }) {
      if (!payment.channelTradeNo) return { state: 'NOT_FOUND' };
      const voided = await findVoided(payment.channelTradeNo, 0);
      if (voided) return { state: 'SUCCEEDED', ...(voided.orderId !== undefined && { channelRefundId: voided.orderId }) };
      // Older than the list's 30 days: the purchase itself says canceled.
      const { purchase } = payment.storeProductId ? await purchaseOfPayment(payment) : {};
      if (purchase?.purchaseState === PURCHASE_STATE.CANCELED) {
        return { state: 'SUCCEEDED', ...(purchase.orderId !== undefined && { channelRefundId: purchase.orderId }) };
      }
      return { state: 'NOT_FOUND' };
    },

    fetchStatement() {
      throw unsupported(
        'fetchStatement',
        'Google Play has no per-transaction daily statement by API; earnings and sales reports are monthly files in the developer account’s Cloud Storage bucket',
      );
    },

    async verifyReceipt(receipt, context) {
      const proof = receiptSchema.safeParse(receipt);
      if (!proof.success) throw new ReceiptRejectedError('INVALID_RECEIPT', 'a Google Play receipt is { purchaseToken, productId }');
      // Another product's purchase for this order is verified too: `paymentResultOf` holds it for a person.
      const { purchaseToken, productId } = proof.data;
      const purchase = await productPurchase(productId, purchaseToken);
      if (!purchase) throw new ReceiptRejectedError('INVALID_RECEIPT', `Google does not know this purchase token for ${productId}`);
      if (purchase.productId !== undefined && purchase.productId !== productId) {
        throw new ReceiptRejectedError('WRONG_PRODUCT', `Google says this token bought ${purchase.productId}`);
      }
      if (purchase.purchaseState !== PURCHASE_STATE.PURCHASED) {
        const state = purchase.purchaseState === PURCHASE_STATE.PENDING ? 'pending (not yet paid)' : 'canceled';
        throw new ReceiptRejectedError('NOT_PURCHASED', `the purchase is ${state}`);
      }
      if (orderIdOfPurchase(purchase) !== context.orderId.toLowerCase()) {
        throw new ReceiptRejectedError('WRONG_ORDER', 'the purchase was not made for this order (obfuscatedProfileId)');
      }
      if (testPurchaseRefused(purchase)) throw new ReceiptRejectedError('NOT_PURCHASED', TEST_PURCHASE_REFUSED);
      return paymentSucceeded(purchase, purchaseToken, productId, context.orderId);
    },

    async confirmDelivery(ref) {
      // Consume, not acknowledge: the items sold are consumables (currency, packs) the payer may buy
      // again; consuming also acknowledges, which stops Google's refund of unacknowledged purchases after 3 days.
      const token = tokenOf(ref);
      const { purchase, productId } = await purchaseOfPayment(ref);
      if (!purchase) throw finalError('UNKNOWN_PURCHASE', 'googleplay consume: Google does not know this purchase token');
      if (purchase.consumptionState === 1) return;
      if (purchase.purchaseState !== PURCHASE_STATE.PURCHASED) {
        throw finalError('PURCHASE_NOT_ACTIVE', 'googleplay consume: the purchase is no longer purchased (voided or canceled)');
      }
      const res = await publisher('POST', publisherPaths.consume(packageName, productId, token));
      if (res.status !== 200 && res.status !== 204) throw refused(res, 'purchases.products.consume');
    },
  };
}

function tokenOf(ref: PaymentRef): string {
  if (!ref.channelTradeNo) throw finalError('NO_PURCHASE_TOKEN', 'googleplay: no purchase token is known for this payment yet');
  return ref.channelTradeNo;
}

function productOf(ref: PaymentRef): string {
  if (!ref.storeProductId) throw finalError('NO_STORE_PRODUCT', 'googleplay: the payment names no Google Play product id');
  return ref.storeProductId;
}

/**
 * google-auth-library signs the service account's JWT assertion and caches the access token; this
 * transport makes its one call (the token request) through the shared client, at `tokenUrl`. The
 * library builds the assertion with `aud` = Google's token URL whatever the URL posted to.
 */
function tokenEndpointTransport(http: ChannelHttp, tokenUrl: string): Transporter {
  return {
    async request<T>(options: gaxios.GaxiosOptions): Promise<gaxios.GaxiosResponse<T>> {
      if (!(options.data instanceof URLSearchParams)) throw finalError('TOKEN_REQUEST', 'googleplay: unexpected token request shape');
      const res = await http.send({
        method: 'POST',
        url: tokenUrl,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: options.data.toString(),
      });
      if (res.status !== 200) {
        const refusal = oauthErrorSchema.safeParse(safeJson(res));
        const code = refusal.success ? refusal.data.error : `HTTP_${res.status}`;
        const why = refusal.success ? `${refusal.data.error}${refusal.data.error_description ? `: ${refusal.data.error_description}` : ''}` : `HTTP ${res.status}`;
        throw finalError(code, `googleplay: the token endpoint refused the service account (${why})`);
      }
      const token = accessTokenSchema.safeParse(safeJson(res));
      if (!token.success) throw finalError('BAD_TOKEN_RESPONSE', 'googleplay: the token endpoint answered without an access token');
      // Only `data` is read by the library; the response carries the request options it asks for.
      return Object.assign(new Response(null, { status: res.status }), {
        config: options as gaxios.GaxiosOptionsPrepared,
        data: token.data as T,
      });
    },
  };
}

/** Google's published push-token certificates, fetched through the shared client and kept for their max-age. */
function googleCertificates(http: ChannelHttp, now: () => Date): () => Promise<Record<string, string>> {
  let cached: { certificates: Record<string, string>; expiresAt: number } | undefined;
  let inFlight: Promise<Record<string, string>> | undefined;
  const fetchCertificates = async () => {
    const res = await http.send({ method: 'GET', url: GOOGLE_CERTS_URL, headers: { Accept: 'application/json' } });
    // Without the certificates nothing can be verified: Pub/Sub redelivers once we answer again.
    if (res.status !== 200) throw transientError('CERTS_UNAVAILABLE', `googleplay: Google's certificates: HTTP ${res.status}`);
    const certificates = googleCertificatesSchema.safeParse(safeJson(res));
    if (!certificates.success) throw transientError('CERTS_UNAVAILABLE', "googleplay: Google's certificates are not a kid → PEM map");
    const maxAge = /max-age=(\d+)/.exec(res.headers.get('cache-control') ?? '')?.[1];
    cached = {
      certificates: certificates.data,
      expiresAt: now().getTime() + (maxAge === undefined ? DEFAULT_CERTS_TTL_MS : Number(maxAge) * 1000),
    };
    return certificates.data;
  };
  return async () => {
    if (cached && now().getTime() < cached.expiresAt) return cached.certificates;
    inFlight ??= fetchCertificates().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

/** 400 "Invalid Value", 404 and 410 (purchaseTokenNoLongerValid) all mean: no such purchase for us. */
function isUnknownPurchase(res: ChannelResponse): boolean {
  return res.status === 400 || res.status === 404 || res.status === 410;
}

/** A Google API refusal: final, except the concurrency conflict (409) Google asks to retry. */
function refused(res: ChannelResponse, what: string): ChannelError {
  const body = googleApiErrorSchema.safeParse(safeJson(res));
  const error = body.success ? body.data.error : undefined;
  const code = error?.errors?.[0]?.reason ?? error?.status ?? `HTTP_${res.status}`;
  const message = `googleplay ${what}: HTTP ${res.status}${error?.message ? ` ${error.message}` : ''}`;
  return res.status === 409 || res.status === 408 ? transientError(code, message) : finalError(code, message);
}

function parsed<T>(schema: z.ZodType<T>, res: ChannelResponse, what: string): T {
  const result = schema.safeParse(safeJson(res));
  if (!result.success) throw finalError('UNEXPECTED_RESPONSE', `googleplay ${what}: the answer is not the documented shape`);
  return result.data;
}

function safeJson(res: ChannelResponse): unknown {
  try {
    return JSON.parse(res.text());
  } catch {
    return undefined;
  }
}

function parses(attempt: () => unknown): boolean {
  try {
    attempt();
    return true;
  } catch {
    return false;
  }
}

/** Header names are case-insensitive; a repeated Authorization header is refused, not guessed at. */
function header(headers: InboundCallback['headers'], name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return typeof value === 'string' ? value : undefined;
}
