import { sign, verify, type KeyObject } from 'node:crypto';
import { NotificationTypeV2, VerificationStatus } from '@apple/app-store-server-library';
import { z } from 'zod';
import type { Money } from '../../domain/money';
import { AmountError, fromMilliunits } from '../amounts';
import type { CallbackRejectedError, ChannelEvent, VerifiedNotification } from '../types';

/**
 * The App Store's wire formats: Server Notifications V2 (`{"signedPayload": JWS}`), StoreKit 2
 * signed transactions (JWS, ES256, x5c chain to Apple's root) and the App Store Server API (JSON
 * over HTTPS with an ES256 bearer token). Signatures of Apple's JWS are checked by the official
 * library (SignedDataVerifier); what is read from the verified payloads is parsed here.
 */

export const APPSTORE_API_BASE_URL = {
  Production: 'https://api.storekit.apple.com',
  Sandbox: 'https://api.storekit-sandbox.apple.com',
} as const;

/** Apple accepts bearer tokens of at most 60 minutes; a short one limits what a leaked log line could do. */
const API_TOKEN_LIFETIME_SECONDS = 300;
export const APPSTORE_API_TOKEN_AUDIENCE = 'appstoreconnect-v1';

// ---- Bodies ----

/** What Apple POSTs to the notification URL (ResponseBodyV2). */
export const notificationBody = z.object({ signedPayload: z.string().min(1) });

/** What the game server submits after a StoreKit 2 purchase: `Transaction.jwsRepresentation`. */
export const receiptBody = z.object({ signedTransaction: z.string().min(1) });

/** App Store Server API `GET /inApps/v1/transactions/{transactionId}` (TransactionInfoResponse). */
export const transactionInfoResponse = z.object({ signedTransactionInfo: z.string().min(1) });

/** App Store Server API `POST /inApps/v1/notifications/history` (NotificationHistoryResponse). */
export const notificationHistoryResponse = z.object({
  notificationHistory: z.array(
    z.object({
      signedPayload: z.string().min(1),
      sendAttempts: z.array(z.object({ attemptDate: z.number().int().nonnegative(), sendAttemptResult: z.string() })).max(6).optional(),
    }),
  ),
  hasMore: z.boolean(),
  paginationToken: z.string().optional(),
});

/** The body of every page of one window: Apple binds the pagination token to it. */
export const notificationHistoryRequest = (start: Date, end: Date, onlyFailures: boolean) => ({
  startDate: start.getTime(),
  endDate: end.getTime(),
  ...(onlyFailures && { onlyFailures: true }),
});

/** Every App Store Server API refusal with a body: `{ errorCode, errorMessage }`. */
export const apiErrorBody = z.object({ errorCode: z.number().int(), errorMessage: z.string().optional() });

const currencyCode = z.string().regex(/^[A-Z]{3}$/);

/** The fields of a verified JWSTransactionDecodedPayload this adapter acts on. */
export const decodedTransaction = z.object({
  transactionId: z.string().min(1),
  productId: z.string().min(1),
  purchaseDate: z.number().int().nonnegative(),
  quantity: z.number().int().positive().optional(),
  appAccountToken: z.string().min(1).optional(),
  /** Milliunits of the major unit, per unit bought. */
  price: z.number().int().nonnegative().optional(),
  currency: currencyCode.optional(),
  revocationDate: z.number().int().nonnegative().optional(),
  revocationType: z.string().optional(),
  /** Milliunits of a percent: 100000 is a full refund. */
  revocationPercentage: z.number().int().min(0).max(100_000).optional(),
});
export type DecodedTransaction = z.infer<typeof decodedTransaction>;

/** The fields of a verified ResponseBodyV2DecodedPayload this adapter acts on. */
export const decodedNotification = z.object({
  notificationType: z.string().min(1),
  subtype: z.string().optional(),
  notificationUUID: z.string().min(1),
  signedDate: z.number().int().nonnegative().optional(),
  data: z
    .object({
      signedTransactionInfo: z.string().min(1).optional(),
      consumptionRequestReason: z.string().optional(),
    })
    .optional(),
});
export type DecodedNotification = z.infer<typeof decodedNotification>;

// ---- Library verdicts ----

/**
 * SignedDataVerifier checks the signature and chain first, then the bundle id / appAppleId
 * (INVALID_APP_IDENTIFIER) and environment (INVALID_ENVIRONMENT): those two are authentic data
 * for another app or environment. FAILURE means the payload did not have the expected shape
 * (decoded before any signature check). Everything else is a signature or chain that does not verify.
 */
export function rejectionCodeOf(status: VerificationStatus): CallbackRejectedError['code'] {
  switch (status) {
    case VerificationStatus.INVALID_APP_IDENTIFIER:
    case VerificationStatus.INVALID_ENVIRONMENT:
      return 'WRONG_MERCHANT';
    case VerificationStatus.FAILURE:
      return 'MALFORMED_NOTIFICATION';
    default:
      return 'INVALID_SIGNATURE';
  }
}

export const verificationStatusName = (status: VerificationStatus): string => VerificationStatus[status] ?? String(status);

// ---- Ids, keys and events ----

/** Nothing is opened at Apple: the payment's id is the order's, so the same order gives the same id. */
export const appstorePaymentId = (orderId: string) => `appstore:${orderId.toLowerCase()}`;

/** One key per purchase, whether it arrives as a receipt, a ONE_TIME_CHARGE or a query answer. */
const paymentKey = (transactionId: string) => `appstore:${transactionId}:paid`;

/** What the payer paid: the unit price times the quantity, when Apple says it in whole minor units. */
export function paidAmount(tx: DecodedTransaction): Money | undefined {
  if (tx.price === undefined || tx.currency === undefined) return undefined;
  return milliunitsToMoney(BigInt(tx.price) * BigInt(tx.quantity ?? 1), tx.currency);
}

/** What a refund returned: all of it, or `revocationPercentage` of it when that is a whole amount. */
export function refundedAmount(tx: DecodedTransaction): Money | undefined {
  if (tx.price === undefined || tx.currency === undefined) return undefined;
  const paidMilli = BigInt(tx.price) * BigInt(tx.quantity ?? 1);
  if (tx.revocationType !== 'REFUND_PRORATED' || tx.revocationPercentage === undefined) {
    return milliunitsToMoney(paidMilli, tx.currency);
  }
  const scaled = paidMilli * BigInt(tx.revocationPercentage);
  if (scaled % 100_000n !== 0n) return undefined;
  return milliunitsToMoney(scaled / 100_000n, tx.currency);
}

/** Apple's prices are set in the currency's own precision; a price that is not is left unsaid, not rounded. */
function milliunitsToMoney(milli: bigint, currency: string): Money | undefined {
  if (milli > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  try {
    return fromMilliunits(Number(milli), currency);
  } catch (err) {
    if (err instanceof AmountError) return undefined;
    throw err;
  }
}

/** The order a transaction names: StoreKit's appAccountToken, which createPayment set to the order id. */
function orderFields(tx: DecodedTransaction): Pick<ChannelEvent, 'merchantOrderId' | 'channelPaymentId'> {
  if (tx.appAccountToken === undefined) return {};
  const orderId = tx.appAccountToken.toLowerCase();
  return { merchantOrderId: orderId, channelPaymentId: appstorePaymentId(orderId) };
}

const isoOf = (epochMillis: number) => new Date(epochMillis).toISOString();

export function paymentEvent(tx: DecodedTransaction): ChannelEvent {
  const amount = paidAmount(tx);
  return {
    kind: 'PAYMENT_SUCCEEDED',
    dedupeKey: paymentKey(tx.transactionId),
    ...orderFields(tx),
    channelTradeNo: tx.transactionId,
    storeProductId: tx.productId,
    ...(amount && { amount }),
    occurredAt: isoOf(tx.purchaseDate),
  };
}

/** Apple refunds on the player's request: there is no refund id of ours, and Apple gives none. */
export function refundEvent(tx: DecodedTransaction): ChannelEvent {
  const amount = refundedAmount(tx);
  return {
    kind: 'REFUND_SUCCEEDED',
    dedupeKey: `appstore:${tx.transactionId}:refunded`,
    ...orderFields(tx),
    channelTradeNo: tx.transactionId,
    storeProductId: tx.productId,
    ...(amount && { amount }),
    ...(tx.revocationDate !== undefined && { occurredAt: isoOf(tx.revocationDate) }),
  };
}

/** Access withdrawn without a refund to this payer (Family Sharing revocation). */
export function revokedEvent(tx: DecodedTransaction): ChannelEvent {
  return {
    kind: 'REVOKED',
    dedupeKey: `appstore:${tx.transactionId}:revoked`,
    ...orderFields(tx),
    channelTradeNo: tx.transactionId,
    storeProductId: tx.productId,
    ...(tx.revocationDate !== undefined && { occurredAt: isoOf(tx.revocationDate) }),
  };
}

// ---- ES256 compact JWS (App Store Server API bearer tokens; Apple's own JWS in the fake) ----

const base64url = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

/** JWS ES256 wants the raw r||s signature (IEEE P1363), not the DER that node signs by default. */
export function signEs256(header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: KeyObject): string {
  const signingInput = `${base64url({ ...header, alg: 'ES256' })}.${base64url(payload)}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** The header and payload of an ES256 JWS whose signature `publicKey` verifies, else undefined. */
export function verifyEs256(
  jws: string,
  publicKey: KeyObject,
): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature] = parts as [string, string, string];
  try {
    const valid = verify('sha256', Buffer.from(`${header}.${payload}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
    if (!valid) return undefined;
    const decoded = { header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')), payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) };
    return decoded.header?.alg === 'ES256' ? decoded : undefined;
  } catch {
    return undefined;
  }
}

export interface AppStoreApiKey {
  issuerId: string;
  keyId: string;
  privateKey: KeyObject;
  bundleId: string;
}

/** The App Store Server API's bearer token: ES256, `kid` = key id, issuer id, audience, bundle id. */
export function apiBearerToken(key: AppStoreApiKey, now: Date): string {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return signEs256(
    { kid: key.keyId, typ: 'JWT' },
    { iss: key.issuerId, iat: issuedAt, exp: issuedAt + API_TOKEN_LIFETIME_SECONDS, aud: APPSTORE_API_TOKEN_AUDIENCE, bid: key.bundleId },
    key.privateKey,
  );
}

// ---- Notifications V2 ----

const describeTransaction = (tx: DecodedTransaction) =>
  `transaction ${tx.transactionId} (${tx.productId}${tx.appAccountToken ? `, order ${tx.appAccountToken.toLowerCase()}` : ''})`;

/**
 * What a verified notification reports. One-time purchases: ONE_TIME_CHARGE pays, REFUND refunds,
 * REVOKE revokes; REFUND_REVERSED, REFUND_DECLINED, CONSUMPTION_REQUEST and TEST are recorded for
 * operations; subscription types are not this platform's and are acknowledged as notices. Undefined
 * when a type that must name a transaction does not.
 */
export function notificationOutcome(n: DecodedNotification, tx: DecodedTransaction | undefined): VerifiedNotification | undefined {
  const type = n.notificationType;
  const id = `${type}${n.subtype ? `/${n.subtype}` : ''} ${n.notificationUUID}`;
  if (type === NotificationTypeV2.TEST) return { events: [], notice: `${id}: test notification from App Store Connect` };
  if (!TRANSACTION_NOTIFICATIONS.has(type)) return { events: [], notice: `${id}: not about a one-time purchase, ignored` };
  if (!tx) return undefined;
  switch (type) {
    case NotificationTypeV2.ONE_TIME_CHARGE:
      return { events: [paymentEvent(tx)] };
    case NotificationTypeV2.REFUND:
      return { events: [refundEvent(tx)] };
    case NotificationTypeV2.REVOKE:
      return { events: [revokedEvent(tx)] };
    case NotificationTypeV2.REFUND_REVERSED:
      return { events: [], notice: `${id}: Apple reversed the refund of ${describeTransaction(tx)}` };
    case NotificationTypeV2.REFUND_DECLINED:
      return { events: [], notice: `${id}: Apple declined the player's refund request for ${describeTransaction(tx)}` };
    default: {
      // CONSUMPTION_REQUEST: answered by the consumption workflow of the transaction within 12 hours.
      const reason = n.data?.consumptionRequestReason;
      return {
        events: [],
        notice: `${id}: Apple asks for consumption data on ${describeTransaction(tx)}${reason ? ` (reason ${reason})` : ''} before deciding a refund; the answer is due within 12 hours`,
        consumptionRequest: {
          transactionId: tx.transactionId,
          ...(tx.appAccountToken !== undefined && { merchantOrderId: tx.appAccountToken.toLowerCase() }),
          storeProductId: tx.productId,
          ...(reason !== undefined && { reason }),
          signedDate: new Date(n.signedDate ?? Date.now()).toISOString(),
        },
      };
    }
  }
}

const TRANSACTION_NOTIFICATIONS = new Set<string>([
  NotificationTypeV2.ONE_TIME_CHARGE,
  NotificationTypeV2.REFUND,
  NotificationTypeV2.REVOKE,
  NotificationTypeV2.REFUND_REVERSED,
  NotificationTypeV2.REFUND_DECLINED,
  NotificationTypeV2.CONSUMPTION_REQUEST,
]);
