import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { APIError, Environment, SignedDataVerifier, VerificationException } from '@apple/app-store-server-library';
import { z } from 'zod';
import { finalError, transientError, type ChannelResponse } from '../http';
import {
  CallbackRejectedError,
  ChannelUnsupportedError,
  ReceiptRejectedError,
  type ChannelAccount,
  type ChannelAdapter,
  type ChannelDefinition,
  type ChannelDeps,
  type PaymentQueryResult,
  type SweepPage,
  type SweptRecord,
  type VerifiedNotification,
} from '../types';
import {
  APPSTORE_API_BASE_URL,
  apiBearerToken,
  apiErrorBody,
  appstorePaymentId,
  decodedNotification,
  decodedTransaction,
  notificationBody,
  notificationHistoryRequest,
  notificationHistoryResponse,
  notificationOutcome,
  paymentEvent,
  receiptBody,
  rejectionCodeOf,
  transactionInfoResponse,
  verificationStatusName,
  type AppStoreApiKey,
  type DecodedTransaction,
} from './wire';

const isCertificatePem = (pem: string) => {
  try {
    return new X509Certificate(pem) !== undefined;
  } catch {
    return false;
  }
};

/** The .p8 key App Store Connect gives for the App Store Server API is a PKCS#8 P-256 key. */
const isP256PrivateKeyPem = (pem: string) => {
  try {
    const key = createPrivateKey(pem);
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  } catch {
    return false;
  }
};

/**
 * An App Store account: one app (bundle id) in one environment. Xcode and LocalTesting are not
 * accepted: the library skips every signature check for them.
 */
export const appstoreCredentials = z
  .strictObject({
    bundleId: z.string().min(1).max(255),
    /** The app's Apple ID in App Store Connect; notifications of the Production environment carry it. */
    appAppleId: z.number().int().positive().optional(),
    environment: z.enum(['Production', 'Sandbox']),
    /** Apple Root CA - G3 (PEM); tests put their own root here. */
    rootCertificates: z.array(z.string().refine(isCertificatePem, 'not a PEM X.509 certificate')).min(1),
    issuerId: z.string().min(1).optional(),
    keyId: z.string().min(1).optional(),
    privateKey: z.string().refine(isP256PrivateKeyPem, 'not a PEM P-256 private key (the .p8 file from App Store Connect)').optional(),
    /** App Store Server API base URL (default: Apple's, per environment). */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((c) => c.environment !== 'Production' || c.appAppleId !== undefined, {
    path: ['appAppleId'],
    message: 'appAppleId is required for the Production environment',
  })
  .refine((c) => [c.issuerId, c.keyId, c.privateKey].every((f) => f === undefined) || [c.issuerId, c.keyId, c.privateKey].every((f) => f !== undefined), {
    path: ['privateKey'],
    message: 'issuerId, keyId and privateKey go together (the App Store Server API key)',
  });
export type AppStoreCredentials = z.infer<typeof appstoreCredentials>;

export function appstoreChannel(): ChannelDefinition<AppStoreCredentials> {
  return { type: 'appstore', credentials: appstoreCredentials, createAdapter: createAppStoreAdapter };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** 404s Apple marks as worth asking again (its data is not there yet). */
const RETRYABLE_API_ERRORS = new Set<number>([
  APIError.ACCOUNT_NOT_FOUND_RETRYABLE,
  APIError.APP_NOT_FOUND_RETRYABLE,
  APIError.ORIGINAL_TRANSACTION_ID_NOT_FOUND_RETRYABLE,
]);

/** A Notification History page: 20 records of about 10 KB, with room to spare. */
const HISTORY_PAGE_MAX_BYTES = 1024 * 1024;

type Verdict<T> = { ok: true; value: T } | { ok: false; code: CallbackRejectedError['code']; why: string };

/** Runs one of the library's verifications and reads what this adapter needs from the result. */
async function verified<T>(verify: () => Promise<unknown>, schema: z.ZodType<T>): Promise<Verdict<T>> {
  let decoded: unknown;
  try {
    decoded = await verify();
  } catch (err) {
    if (err instanceof VerificationException) {
      return { ok: false, code: rejectionCodeOf(err.status), why: verificationStatusName(err.status) };
    }
    throw err;
  }
  const parsed = schema.safeParse(decoded);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`).join('; ');
    return { ok: false, code: 'MALFORMED_NOTIFICATION', why };
  }
  return { ok: true, value: parsed.data };
}

function createAppStoreAdapter(account: ChannelAccount<AppStoreCredentials>, { http, now = () => new Date() }: ChannelDeps): ChannelAdapter {
  const credentials = account.credentials;
  const environment = credentials.environment === 'Production' ? Environment.PRODUCTION : Environment.SANDBOX;
  // Offline checks, no OCSP (the library would call Apple's OCSP responder itself, outside deps.http
  // and its timeout, on every new chain); certificate dates at signedDate and at our clock.
  const verifier = new ClockedVerifier(
    now,
    credentials.rootCertificates.map((pem) => new X509Certificate(pem).raw),
    environment,
    credentials.bundleId,
    credentials.appAppleId,
  );
  const apiBase = (credentials.baseUrl ?? APPSTORE_API_BASE_URL[credentials.environment]).replace(/\/$/, '');
  const apiKey: AppStoreApiKey | undefined =
    credentials.issuerId && credentials.keyId && credentials.privateKey
      ? { issuerId: credentials.issuerId, keyId: credentials.keyId, privateKey: createPrivateKey(credentials.privateKey), bundleId: credentials.bundleId }
      : undefined;

  const verifiedTransaction = (signed: string) => verified(() => verifier.verifyAndDecodeTransaction(signed), decodedTransaction);

  /** A verified ResponseBodyV2 JWS, read; CallbackRejectedError for anything that is not authentic and current. */
  const readNotification = async (signedPayload: string): Promise<VerifiedNotification> => {
    const notification = await verified(() => verifier.verifyAndDecodeNotification(signedPayload), decodedNotification);
    if (!notification.ok) throw new CallbackRejectedError(notification.code, `signedPayload: ${notification.why}`);
    const signedTransaction = notification.value.data?.signedTransactionInfo;
    const transaction = signedTransaction === undefined ? undefined : await verifiedTransaction(signedTransaction);
    if (transaction && !transaction.ok) {
      throw new CallbackRejectedError(transaction.code, `signedTransactionInfo: ${transaction.why}`);
    }
    const outcome = notificationOutcome(notification.value, transaction?.value);
    if (!outcome) {
      throw new CallbackRejectedError(
        'MALFORMED_NOTIFICATION',
        `${notification.value.notificationType} ${notification.value.notificationUUID} carries no signedTransactionInfo`,
      );
    }
    return outcome;
  };

  /** Apple's refusal, final unless Apple marks it retryable; 5xx and 429 never get here (transient in http). */
  const refused = (res: ChannelResponse, what: string) => {
    const parsed = apiErrorBody.safeParse(parseJson(res.body));
    if (!parsed.success) return finalError(`HTTP_${res.status}`, `App Store Server API ${what}: HTTP ${res.status}`);
    const { errorCode, errorMessage } = parsed.data;
    const message = `App Store Server API ${what}: ${errorCode} ${errorMessage ?? ''}`.trim();
    const code = APIError[errorCode] ?? String(errorCode);
    return RETRYABLE_API_ERRORS.has(errorCode) ? transientError(code, message) : finalError(code, message);
  };

  return {
    channelId: account.channelId,
    type: 'appstore',
    supports: { close: false, refund: false, queryRefund: false, statement: false, receipts: true },

    async createPayment(request) {
      if (!request.storeProductId) {
        throw finalError('NO_STORE_PRODUCT', `order ${request.orderId}: the item has no App Store product`);
      }
      if (!UUID.test(request.orderId)) {
        throw finalError('INVALID_ORDER_ID', `order ${request.orderId}: StoreKit's appAccountToken must be a UUID`);
      }
      // The purchase happens on the device: StoreKit's Product.purchase(options: [.appAccountToken(<orderId>)]).
      return {
        channelPaymentId: appstorePaymentId(request.orderId),
        payment: { appAccountToken: request.orderId.toLowerCase(), productId: request.storeProductId },
      };
    },

    async verifyNotification({ rawBody }): Promise<VerifiedNotification> {
      const body = notificationBody.safeParse(parseJson(rawBody));
      if (!body.success) throw new CallbackRejectedError('MALFORMED_NOTIFICATION', 'the body is not {"signedPayload": "<JWS>"}');
      return readNotification(body.data.signedPayload);
    },

    // Notification History reaches 180 days back (30 in the sandbox).
    sweep: { passes: ['FAILURES', 'ALL'], maxLookbackDays: credentials.environment === 'Production' ? 180 : 30 },

    /**
     * Notification History: the notifications Apple sent this app in the window (≤ 20 a page), each
     * verified and read as its live POST would have been. Every page repeats the window's body (Apple
     * binds the token to it); FAILURES asks only for those never answered 2xx.
     */
    async sweepPage({ pass, start, end, page }): Promise<SweepPage> {
      if (!apiKey) {
        throw new ChannelUnsupportedError('appstore', 'sweepPage', 'this account has no App Store Server API key (issuerId, keyId, privateKey)');
      }
      const query = page === undefined ? '' : `?paginationToken=${encodeURIComponent(page)}`;
      const res = await http.send({
        method: 'POST',
        url: `${apiBase}/inApps/v1/notifications/history${query}`,
        headers: { Authorization: `Bearer ${apiBearerToken(apiKey, now())}`, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(notificationHistoryRequest(start, end, pass === 'FAILURES')),
        // 20 records, each a JWS with its x5c chain and the transaction's own JWS inside: ~10 KB apiece.
        maxAnswerBytes: HISTORY_PAGE_MAX_BYTES,
      });
      if (res.status !== 200) throw refused(res, 'Get Notification History');
      const answer = notificationHistoryResponse.safeParse(parseJson(res.body));
      if (!answer.success) throw transientError('BAD_RESPONSE', 'Get Notification History: not a NotificationHistoryResponse');
      const records: SweptRecord[] = [];
      for (const item of answer.data.notificationHistory) {
        const rawBody = JSON.stringify({ signedPayload: item.signedPayload });
        const attempts = (item.sendAttempts ?? []).map((a) => a.attemptDate);
        const firstTriedAt = attempts.length ? new Date(Math.min(...attempts)).toISOString() : undefined;
        try {
          records.push({ notification: await readNotification(item.signedPayload), rawBody, ...(firstTriedAt && { firstTriedAt }) });
        } catch (err) {
          if (!(err instanceof CallbackRejectedError)) throw err;
          records.push({ rejected: `${err.code}: ${err.message}`, rawBody, ...(firstTriedAt && { firstTriedAt }) });
        }
      }
      const more = answer.data.hasMore && answer.data.paginationToken !== undefined;
      return { records, ...(more && { nextPage: answer.data.paginationToken }) };
    },

    // Apple wants any 200-206; the body is not read.
    acknowledgement: () => ({ status: 200, contentType: 'text/plain', body: '' }),

    async queryPayment(ref): Promise<PaymentQueryResult> {
      // The purchase happens on the device; Apple can be asked once a receipt or notification named the transaction.
      if (!ref.channelTradeNo) return { state: 'PENDING' };
      if (!apiKey) {
        throw new ChannelUnsupportedError('appstore', 'queryPayment', 'this account has no App Store Server API key (issuerId, keyId, privateKey)');
      }
      const transactionId = ref.channelTradeNo;
      const res = await http.send({
        method: 'GET',
        url: `${apiBase}/inApps/v1/transactions/${encodeURIComponent(transactionId)}`,
        headers: { Authorization: `Bearer ${apiBearerToken(apiKey, now())}`, Accept: 'application/json' },
      });
      if (res.status !== 200) {
        const refusal = refused(res, `Get Transaction Info ${transactionId}`);
        if (refusal.code === APIError[APIError.TRANSACTION_ID_NOT_FOUND]) return { state: 'NOT_FOUND' };
        throw refusal;
      }
      const body = transactionInfoResponse.safeParse(parseJson(res.body));
      if (!body.success) throw transientError('BAD_RESPONSE', `Get Transaction Info ${transactionId}: no signedTransactionInfo in the answer`);
      const transaction = await verifiedTransaction(body.data.signedTransactionInfo);
      if (!transaction.ok) {
        throw finalError('INVALID_SIGNED_TRANSACTION', `Get Transaction Info ${transactionId}: ${transaction.why}`);
      }
      const tx = transaction.value;
      const foreign = notThisOrder(tx, ref.orderId);
      if (foreign) throw finalError('WRONG_ORDER', foreign);
      if (tx.revocationDate !== undefined) return { state: 'REFUNDED' };
      return { state: 'SUCCEEDED', event: paymentEvent(tx) };
    },

    async closePayment() {
      throw new ChannelUnsupportedError('appstore', 'closePayment', 'nothing is opened at Apple before the player buys on the device');
    },

    async refund() {
      throw new ChannelUnsupportedError('appstore', 'refund', 'only Apple refunds App Store purchases, on the player\'s request (reportaproblem.apple.com); the REFUND notification reports it');
    },

    async queryRefund() {
      throw new ChannelUnsupportedError('appstore', 'queryRefund', 'refunds are Apple\'s alone and arrive as REFUND notifications');
    },

    fetchStatement() {
      throw new ChannelUnsupportedError(
        'appstore',
        'fetchStatement',
        'Apple publishes no per-transaction statement: Sales and Trends and financial reports are aggregates per product, storefront and period',
      );
    },

    async verifyReceipt(receipt, context) {
      const body = receiptBody.safeParse(receipt);
      if (!body.success) throw new ReceiptRejectedError('INVALID_RECEIPT', 'expected { signedTransaction: "<JWS>" }');
      const transaction = await verifiedTransaction(body.data.signedTransaction);
      if (!transaction.ok) throw new ReceiptRejectedError('INVALID_RECEIPT', `signedTransaction: ${transaction.why}`);
      const tx = transaction.value;
      const foreign = notThisOrder(tx, context.orderId);
      if (foreign) throw new ReceiptRejectedError('WRONG_ORDER', foreign);
      if (tx.revocationDate !== undefined) {
        throw new ReceiptRejectedError('NOT_PURCHASED', `transaction ${tx.transactionId} was refunded or revoked`);
      }
      return paymentEvent(tx);
    },

    /** Send Consumption Information (v2): `PUT /inApps/v2/transactions/consumption/{transactionId}` → 202. */
    async sendConsumptionInformation(transactionId, body) {
      if (!apiKey) {
        throw new ChannelUnsupportedError('appstore', 'sendConsumptionInformation', 'this account has no App Store Server API key (issuerId, keyId, privateKey)');
      }
      const res = await http.send({
        method: 'PUT',
        url: `${apiBase}/inApps/v2/transactions/consumption/${encodeURIComponent(transactionId)}`,
        headers: { Authorization: `Bearer ${apiBearerToken(apiKey, now())}`, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 202 && res.status !== 200) throw refused(res, `Send Consumption Information ${transactionId}`);
    },

    async confirmDelivery() {
      // Nothing to tell Apple: the game client finishes the StoreKit transaction on the device
      // (Transaction.finish()), and Apple has no server-side acknowledgement deadline like Google's.
    },
  };
}

/**
 * The library's verifier, offline, with certificate validity judged at the adapter's clock too: offline
 * it checks the chain's dates at the payload's own signedDate only, which the signer chooses, so a chain
 * that has expired (or is not yet valid) by our clock would still verify.
 */
class ClockedVerifier extends SignedDataVerifier {
  constructor(
    private readonly now: () => Date,
    rootCertificates: Buffer[],
    environment: Environment,
    bundleId: string,
    appAppleId: number | undefined,
  ) {
    super(rootCertificates, false, environment, bundleId, appAppleId);
  }

  protected override async verifyCertificateChain(
    roots: X509Certificate[],
    leaf: X509Certificate,
    intermediate: X509Certificate,
    signedAt: Date,
  ): Promise<KeyObject> {
    await super.verifyCertificateChain(roots, leaf, intermediate, this.now());
    return super.verifyCertificateChain(roots, leaf, intermediate, signedAt);
  }
}

/**
 * A transaction is this order's when its appAccountToken is the order id. Its product is compared by
 * `paymentResultOf` (channels/events.ts): another product's purchase is the order's money, held for a person.
 */
function notThisOrder(tx: DecodedTransaction, orderId: string): string | undefined {
  if (tx.appAccountToken?.toLowerCase() === orderId.toLowerCase()) return undefined;
  return `transaction ${tx.transactionId} was not bought for order ${orderId}`;
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}
