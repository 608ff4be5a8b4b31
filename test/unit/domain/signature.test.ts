import { createHash, createHmac } from 'node:crypto';
import { canonicalRequest, checkSignedRequest, signRequest, signedHeaders } from '../../../domain/signature';

const secret = 's'.repeat(32);
const parts = {
  method: 'post',
  pathWithQuery: '/v1/orders?x=1',
  timestamp: '1700000000',
  nonce: 'abcdefghijklmnop',
  body: '{"a":1}',
};

describe('request signatures', () => {
  it('signs METHOD, path, timestamp, nonce and the body hash with HMAC-SHA256', () => {
    const bodyHash = createHash('sha256').update('{"a":1}').digest('hex');
    const expectedCanonical = `POST\n/v1/orders?x=1\n1700000000\nabcdefghijklmnop\n${bodyHash}`;
    expect(canonicalRequest(parts)).toBe(expectedCanonical);
    expect(signRequest(secret, parts)).toBe(createHmac('sha256', secret).update(expectedCanonical).digest('hex'));
  });

  it('accepts a genuine request and rejects every kind of tampering', () => {
    const signature = signRequest(secret, parts);
    const now = 1700000100;
    expect(checkSignedRequest(secret, parts, signature, now, 300)).toEqual({ ok: true });
    expect(checkSignedRequest(secret, { ...parts, body: '{"a":2}' }, signature, now, 300)).toEqual({
      ok: false,
      reason: 'BAD_SIGNATURE',
    });
    expect(checkSignedRequest(secret, { ...parts, pathWithQuery: '/v1/orders' }, signature, now, 300).ok).toBe(false);
    expect(checkSignedRequest('t'.repeat(32), parts, signature, now, 300).ok).toBe(false);
    expect(checkSignedRequest(secret, parts, signature.toUpperCase(), now, 300).ok).toBe(false);
    expect(checkSignedRequest(secret, parts, undefined, now, 300)).toEqual({ ok: false, reason: 'MISSING_HEADERS' });
    expect(checkSignedRequest(secret, parts, signature, 1700000301, 300)).toEqual({ ok: false, reason: 'CLOCK_SKEW' });
    expect(checkSignedRequest(secret, { ...parts, nonce: 'short' }, signRequest(secret, { ...parts, nonce: 'short' }), now, 300)).toEqual({
      ok: false,
      reason: 'BAD_NONCE',
    });
    expect(checkSignedRequest(secret, { ...parts, timestamp: '17e8' }, signature, now, 300)).toEqual({
      ok: false,
      reason: 'BAD_TIMESTAMP',
    });
  });

  it('builds the headers a game server sends', () => {
    const headers = signedHeaders(secret, 'game-1', 'POST', '/v1/orders', '{}', 'n'.repeat(16), 1700000000);
    expect(headers).toEqual({
      'X-Game-Id': 'game-1',
      'X-Timestamp': '1700000000',
      'X-Nonce': 'n'.repeat(16),
      'X-Signature': signRequest(secret, {
        method: 'POST',
        pathWithQuery: '/v1/orders',
        timestamp: '1700000000',
        nonce: 'n'.repeat(16),
        body: '{}',
      }),
    });
  });
});
