import { createHash, createVerify } from 'node:crypto';
import { z } from 'zod';
import { CallbackRejectedError, type ChannelEvent } from '../types';

/**
 * Google Play Billing on the wire: the Android Publisher API (REST, bearer token of a service
 * account), Real-time developer notifications (RTDN) pushed by Cloud Pub/Sub with an OIDC token
 * in `Authorization`, and how a purchase's state becomes a ChannelEvent. Google gives no price on
 * the server side (the client shows `priceAmountMicros`), so no event here carries an amount.
 */

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const ANDROID_PUBLISHER_BASE_URL = 'https://androidpublisher.googleapis.com';
/** Google's published certificates for the OIDC tokens it signs (Pub/Sub push included), PEM by kid. */
export const GOOGLE_CERTS_URL = 'https://www.googleapis.com/oauth2/v1/certs';
export const ANDROID_PUBLISHER_SCOPE = 'https://www.googleapis.com/auth/androidpublisher';
export const PUSH_TOKEN_ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];

// ---- Android Publisher paths ----

const v3 = (packageName: string) => `/androidpublisher/v3/applications/${encodeURIComponent(packageName)}`;
export const publisherPaths = {
  productPurchase: (packageName: string, productId: string, token: string) =>
    `${v3(packageName)}/purchases/products/${encodeURIComponent(productId)}/tokens/${encodeURIComponent(token)}`,
  consume: (packageName: string, productId: string, token: string) =>
    `${publisherPaths.productPurchase(packageName, productId, token)}:consume`,
  /** The one read by token alone (a voided purchase's notification does not name the product). */
  productPurchaseV2: (packageName: string, token: string) =>
    `${v3(packageName)}/purchases/productsv2/tokens/${encodeURIComponent(token)}`,
  voidedPurchases: (packageName: string) => `${v3(packageName)}/purchases/voidedpurchases`,
  refundOrder: (packageName: string, orderId: string) => `${v3(packageName)}/orders/${encodeURIComponent(orderId)}:refund`,
};

// ---- Android Publisher bodies ----

/** int64 fields come as decimal strings. */
const int64 = z.union([z.string().regex(/^\d{1,16}$/), z.number().int().nonnegative()]).transform(Number);

export const PURCHASE_STATE = { PURCHASED: 0, CANCELED: 1, PENDING: 2 } as const;
/** purchaseType is set only outside the standard billing flow: 0 license tester, 1 promo code, 2 rewarded ad. */
export const PURCHASE_TYPE_TEST = 0;

/** purchases.products.get → ProductPurchase. */
export const productPurchaseSchema = z.object({
  purchaseState: z.number().int(),
  consumptionState: z.number().int().optional(),
  acknowledgementState: z.number().int().optional(),
  purchaseType: z.number().int().optional(),
  purchaseTimeMillis: int64.optional(),
  orderId: z.string().min(1).optional(),
  productId: z.string().optional(),
  quantity: z.number().int().optional(),
  obfuscatedExternalAccountId: z.string().optional(),
  obfuscatedExternalProfileId: z.string().optional(),
  regionCode: z.string().optional(),
});
export type ProductPurchase = z.infer<typeof productPurchaseSchema>;

/** purchases.productsv2.getproductpurchasev2 → ProductPurchaseV2 (only what names the order). */
export const productPurchaseV2Schema = z.object({
  productLineItem: z.array(z.object({ productId: z.string() })).optional(),
  orderId: z.string().optional(),
  obfuscatedExternalProfileId: z.string().optional(),
});

/** voidedReason 7: the payer's bank took the money back (the other reasons are refunds). */
export const VOIDED_REASON_CHARGEBACK = 7;
/** voidedReason 8: Google refunded a purchase nobody acknowledged (consumed) within 3 days. */
export const VOIDED_REASON_UNACKNOWLEDGED = 8;

export const voidedPurchaseSchema = z.object({
  purchaseToken: z.string(),
  orderId: z.string().optional(),
  purchaseTimeMillis: int64.optional(),
  voidedTimeMillis: int64.optional(),
  voidedSource: z.number().int().optional(),
  voidedReason: z.number().int().optional(),
  voidedQuantity: z.number().int().optional(),
});
export type VoidedPurchase = z.infer<typeof voidedPurchaseSchema>;

export const voidedPurchasesPageSchema = z.object({
  voidedPurchases: z.array(voidedPurchaseSchema).optional(),
  tokenPagination: z.object({ nextPageToken: z.string().optional() }).optional(),
});

/** Every refusal of a Google API: `{ error: { code, message, status?, errors?: [{ reason }] } }`. */
export const googleApiErrorSchema = z.object({
  error: z.object({
    code: z.number().int().optional(),
    message: z.string().optional(),
    status: z.string().optional(),
    errors: z.array(z.object({ reason: z.string().optional() })).optional(),
  }),
});

/** The OAuth token endpoint: the access token, or `{ error, error_description }`. */
export const accessTokenSchema = z.object({ access_token: z.string().min(1), expires_in: z.number().optional() });
export const oauthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

export const googleCertificatesSchema = z.record(z.string().min(1), z.string().min(1));

// ---- The game server's proof of purchase ----

export const receiptSchema = z.object({
  purchaseToken: z.string().min(1).max(4096),
  productId: z.string().min(1).max(256),
});

// ---- RTDN by Pub/Sub push ----

export const pubsubPushSchema = z.object({
  message: z.object({
    data: z.string(),
    messageId: z.string().min(1),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
});

export const ONE_TIME_PRODUCT_PURCHASED = 1;
export const ONE_TIME_PRODUCT_CANCELED = 2;
/** voidedPurchaseNotification.productType / refundType. */
export const VOIDED_PRODUCT_TYPE_ONE_TIME = 2;
export const VOIDED_REFUND_TYPE_FULL = 1;

export const developerNotificationSchema = z.object({
  version: z.string(),
  packageName: z.string().min(1),
  eventTimeMillis: int64,
  oneTimeProductNotification: z
    .object({ notificationType: z.number().int(), purchaseToken: z.string().min(1), sku: z.string().min(1) })
    .optional(),
  voidedPurchaseNotification: z
    .object({
      purchaseToken: z.string().min(1),
      orderId: z.string().min(1),
      // Read as a full refund of a one-time product when absent, rather than refusing a genuine void.
      productType: z.number().int().default(VOIDED_PRODUCT_TYPE_ONE_TIME),
      refundType: z.number().int().default(VOIDED_REFUND_TYPE_FULL),
    })
    .optional(),
  subscriptionNotification: z.looseObject({ notificationType: z.number().int().optional() }).optional(),
  testNotification: z.looseObject({ version: z.string().optional() }).optional(),
});
export type DeveloperNotification = z.infer<typeof developerNotificationSchema>;

/** The push body, decoded: the Pub/Sub message id and the developer notification in its base64 data. */
export function decodePush(rawBody: Buffer): { messageId: string; notification: DeveloperNotification } {
  let push: z.infer<typeof pubsubPushSchema>;
  try {
    push = pubsubPushSchema.parse(JSON.parse(rawBody.toString('utf8')));
  } catch {
    throw new CallbackRejectedError('MALFORMED_NOTIFICATION', 'the body is not a Pub/Sub push message');
  }
  const data = Buffer.from(push.message.data, 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    throw new CallbackRejectedError('MALFORMED_NOTIFICATION', 'message.data is not base64 JSON');
  }
  const notification = developerNotificationSchema.safeParse(parsed);
  if (!notification.success) {
    const issues = notification.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`);
    throw new CallbackRejectedError('MALFORMED_NOTIFICATION', `not a developer notification: ${issues.join('; ')}`);
  }
  return { messageId: push.message.messageId, notification: notification.data };
}

// ---- Push authentication ----

/** Google issues push tokens for an hour; google-auth-library refuses lifetimes beyond a day, and so do we. */
const MAX_TOKEN_LIFETIME_S = 86_400;
/** The clock skew google-auth-library allows either side of iat and exp. */
const CLOCK_SKEW_S = 300;

const pushTokenHeader = z.looseObject({ alg: z.literal('RS256'), kid: z.string() });
const pushTokenClaims = z.looseObject({
  iss: z.string(),
  aud: z.string(),
  iat: z.number(),
  exp: z.number(),
  email: z.string().optional(),
  email_verified: z.boolean().optional(),
});

/**
 * Authenticates a Pub/Sub push: the OIDC token's RS256 signature against Google's certificates (by
 * kid), its issuer, audience and lifetime, then the push service account — the checks of
 * google-auth-library's verifySignedJwtWithCertsAsync, but with times judged at the adapter's clock
 * (the library reads the wall clock). Messages never quote the token or its claims.
 */
export function verifyPushToken(
  jwt: string,
  certificates: Record<string, string>,
  expected: { audience: string; serviceAccountEmail: string },
  now: Date,
): void {
  const rejected = (why: string) => new CallbackRejectedError('INVALID_SIGNATURE', why);
  const [head = '', body = '', signature = ''] = jwt.split('.');
  const header = pushTokenHeader.safeParse(jsonOfBase64Url(head));
  if (!header.success) throw rejected('the token is not an RS256 JWT naming its key');
  const certificate = certificates[header.data.kid];
  if (!certificate) throw rejected('the token is signed with a key Google does not publish');
  if (!createVerify('RSA-SHA256').update(`${head}.${body}`).verify(certificate, Buffer.from(signature, 'base64url'))) {
    throw rejected('the token’s signature does not verify');
  }
  const claims = pushTokenClaims.safeParse(jsonOfBase64Url(body));
  if (!claims.success) throw rejected('the token lacks its issuer, audience or times');
  const { iss, aud, iat, exp, email, email_verified } = claims.data;
  if (!PUSH_TOKEN_ISSUERS.includes(iss)) throw rejected('the token is not issued by accounts.google.com');
  if (aud !== expected.audience) throw rejected('the token’s audience is not this push endpoint');
  const seconds = now.getTime() / 1000;
  if (exp >= seconds + MAX_TOKEN_LIFETIME_S) throw rejected('the token lives longer than Google issues tokens for');
  if (seconds < iat - CLOCK_SKEW_S) throw rejected('the token is issued in the future');
  // Checked after the signature: an authentic token that has expired is a replay or a late copy.
  if (seconds > exp + CLOCK_SKEW_S) throw new CallbackRejectedError('STALE_NOTIFICATION', 'the push token has expired');
  if (email !== expected.serviceAccountEmail) throw rejected('the token is not the push service account’s');
  if (email_verified !== true) throw rejected('the token’s email is not verified');
}

function jsonOfBase64Url(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

// ---- Ids and events ----

const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** Nothing is opened at Google: our id of the payment is the order's. */
export const channelPaymentIdOf = (orderId: string) => `googleplay:${orderId}`;

/** BillingFlowParams.setObfuscatedAccountId takes at most 64 characters and no personal data. */
export const obfuscatedAccountIdOf = (userId: string) => sha256Hex(userId);

/** One effect per purchase token, whichever of receipt, push or query reports it first. */
export const paymentDedupeKey = (purchaseToken: string) => `purchase:${sha256Hex(purchaseToken)}`;
export const canceledDedupeKey = (purchaseToken: string) => `canceled:${sha256Hex(purchaseToken)}`;
/** A one-time purchase is voided once (full refunds; partial ones are not acted on). */
export const voidedDedupeKey = (purchaseToken: string) => `voided:${sha256Hex(purchaseToken)}`;

const isoOf = (millis: number | undefined) => (millis === undefined ? undefined : new Date(millis).toISOString());

/** The order a purchase names: the profile id our createPayment handed to the billing flow. */
export const orderIdOfPurchase = (purchase: { obfuscatedExternalProfileId?: string }) =>
  purchase.obfuscatedExternalProfileId?.toLowerCase();

export function paymentSucceeded(purchase: ProductPurchase, purchaseToken: string, productId: string, orderId: string): ChannelEvent {
  const occurredAt = isoOf(purchase.purchaseTimeMillis);
  return {
    kind: 'PAYMENT_SUCCEEDED',
    dedupeKey: paymentDedupeKey(purchaseToken),
    merchantOrderId: orderId,
    channelPaymentId: channelPaymentIdOf(orderId),
    // The token, not Google's GPA order id: consume, query and refund all start from it.
    channelTradeNo: purchaseToken,
    storeProductId: purchase.productId ?? productId,
    ...(occurredAt !== undefined && { occurredAt }),
  };
}

export function paymentCanceled(purchaseToken: string, productId: string, orderId: string): ChannelEvent {
  return {
    kind: 'PAYMENT_FAILED',
    dedupeKey: canceledDedupeKey(purchaseToken),
    merchantOrderId: orderId,
    channelPaymentId: channelPaymentIdOf(orderId),
    channelTradeNo: purchaseToken,
    storeProductId: productId,
  };
}

export function purchaseVoided(
  voided: { purchaseToken: string; googleOrderId: string; eventTimeMillis: number },
  found: { orderId?: string; productId?: string; entry?: VoidedPurchase },
): ChannelEvent {
  const { orderId, productId, entry } = found;
  return {
    kind: entry?.voidedReason === VOIDED_REASON_CHARGEBACK ? 'CHARGEBACK' : 'REFUND_SUCCEEDED',
    dedupeKey: voidedDedupeKey(voided.purchaseToken),
    ...(orderId !== undefined && { merchantOrderId: orderId, channelPaymentId: channelPaymentIdOf(orderId) }),
    channelTradeNo: voided.purchaseToken,
    channelRefundId: voided.googleOrderId,
    ...(productId !== undefined && { storeProductId: productId }),
    occurredAt: isoOf(entry?.voidedTimeMillis ?? voided.eventTimeMillis)!,
  };
}
