import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Request signing shared by game servers calling us and by our deliveries to them:
 * lowercase hex HMAC-SHA256(secret, METHOD \n PATH_WITH_QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(body))).
 */
export interface SignedRequestParts {
  method: string;
  pathWithQuery: string;
  timestamp: string;
  nonce: string;
  body: Buffer | string;
}

export const MIN_NONCE_LENGTH = 16;

export function canonicalRequest(parts: SignedRequestParts): string {
  const bodyHash = createHash('sha256').update(parts.body).digest('hex');
  return [parts.method.toUpperCase(), parts.pathWithQuery, parts.timestamp, parts.nonce, bodyHash].join('\n');
}

export function signRequest(secret: string, parts: SignedRequestParts): string {
  return createHmac('sha256', secret).update(canonicalRequest(parts)).digest('hex');
}

export function signatureMatches(secret: string, parts: SignedRequestParts, signature: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(signRequest(secret, parts), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}

export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: 'MISSING_HEADERS' | 'BAD_TIMESTAMP' | 'CLOCK_SKEW' | 'BAD_NONCE' | 'BAD_SIGNATURE' };

/** Everything about a signed request except nonce reuse, which needs storage. */
export function checkSignedRequest(
  secret: string,
  parts: Partial<SignedRequestParts> & Pick<SignedRequestParts, 'method' | 'pathWithQuery' | 'body'>,
  signature: string | undefined,
  nowSeconds: number,
  maxSkewSeconds: number,
): SignatureCheck {
  if (!parts.timestamp || !parts.nonce || !signature) return { ok: false, reason: 'MISSING_HEADERS' };
  if (!/^\d{1,12}$/.test(parts.timestamp)) return { ok: false, reason: 'BAD_TIMESTAMP' };
  if (Math.abs(nowSeconds - Number(parts.timestamp)) > maxSkewSeconds) return { ok: false, reason: 'CLOCK_SKEW' };
  if (parts.nonce.length < MIN_NONCE_LENGTH) return { ok: false, reason: 'BAD_NONCE' };
  const full = { ...parts, timestamp: parts.timestamp, nonce: parts.nonce };
  return signatureMatches(secret, full, signature) ? { ok: true } : { ok: false, reason: 'BAD_SIGNATURE' };
}

/** Headers for a signed outbound request (our deliveries, test clients, the demo). */
export function signedHeaders(
  secret: string,
  gameId: string,
  method: string,
  pathWithQuery: string,
  body: string,
  nonce: string,
  nowSeconds: number,
): Record<string, string> {
  const timestamp = String(nowSeconds);
  return {
    'X-Game-Id': gameId,
    'X-Timestamp': timestamp,
    'X-Nonce': nonce,
    'X-Signature': signRequest(secret, { method, pathWithQuery, timestamp, nonce, body }),
  };
}
