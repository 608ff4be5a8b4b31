import { createSign, generateKeyPairSync } from 'node:crypto';
import { escapeHtml, formatAmount } from '../../sandbox/routes';
import {
  sandboxNotificationSchema,
  serializeNotification,
  signNotification,
  verifyNotification,
  type SandboxNotificationBody,
} from '../../channels/sandbox/wire';

const pemPair = () => {
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
};

const keys = pemPair();
const other = pemPair();

const body: SandboxNotificationBody = {
  notifyId: 'ntf_1',
  event: 'PAYMENT_RESULT',
  paymentId: 'sbx_1',
  merchantOrderId: 'order-1',
  result: 'SUCCESS',
  txnId: 'sbxtxn_1',
  amount: 1999,
  currency: 'USD',
  paidAt: '2026-11-27T10:00:00.000Z',
};
const rawBody = serializeNotification(body);
const timestamp = 1_800_000_000;

describe('sandbox notification signatures', () => {
  it('is RSA-SHA256 PKCS#1 v1.5 over "timestamp\\nbody\\n", base64', () => {
    const expected = createSign('sha256').update(`${timestamp}\n${rawBody}\n`).sign(keys.privateKeyPem, 'base64');
    // PKCS#1 v1.5 is deterministic, so the exact bytes can be compared.
    expect(signNotification(keys.privateKeyPem, rawBody, timestamp)).toBe(expected);
  });

  it('verifies its own signature, for string and Buffer bodies and string timestamps', () => {
    const signature = signNotification(keys.privateKeyPem, rawBody, timestamp);
    expect(verifyNotification(keys.publicKeyPem, rawBody, timestamp, signature)).toBe(true);
    expect(verifyNotification(keys.publicKeyPem, Buffer.from(rawBody), String(timestamp), signature)).toBe(true);
  });

  it('rejects a tampered body, another timestamp, another key and garbage', () => {
    const signature = signNotification(keys.privateKeyPem, rawBody, timestamp);
    const tampered = rawBody.replace('"amount":1999', '"amount":1');
    expect(tampered).not.toBe(rawBody);
    expect(verifyNotification(keys.publicKeyPem, tampered, timestamp, signature)).toBe(false);
    expect(verifyNotification(keys.publicKeyPem, `${rawBody} `, timestamp, signature)).toBe(false);
    expect(verifyNotification(keys.publicKeyPem, rawBody, timestamp + 1, signature)).toBe(false);
    const forged = signNotification(other.privateKeyPem, rawBody, timestamp);
    expect(verifyNotification(keys.publicKeyPem, rawBody, timestamp, forged)).toBe(false);
    expect(verifyNotification(keys.publicKeyPem, rawBody, timestamp, 'not base64!')).toBe(false);
    expect(verifyNotification(keys.publicKeyPem, rawBody, timestamp, '')).toBe(false);
  });
});

describe('sandbox notification body', () => {
  it('serialises in a fixed key order and omits absent fields', () => {
    expect(rawBody).toBe(
      '{"notifyId":"ntf_1","event":"PAYMENT_RESULT","paymentId":"sbx_1","merchantOrderId":"order-1",' +
        '"result":"SUCCESS","txnId":"sbxtxn_1","amount":1999,"currency":"USD","paidAt":"2026-11-27T10:00:00.000Z"}',
    );
    const failed = serializeNotification({ ...body, result: 'FAILED', txnId: undefined, paidAt: undefined });
    expect(JSON.parse(failed)).toEqual({
      notifyId: 'ntf_1',
      event: 'PAYMENT_RESULT',
      paymentId: 'sbx_1',
      merchantOrderId: 'order-1',
      result: 'FAILED',
      amount: 1999,
      currency: 'USD',
    });
    expect(sandboxNotificationSchema.safeParse(JSON.parse(failed)).success).toBe(true);
  });

  it('requires txnId and paidAt on a success, and integer minor units', () => {
    expect(sandboxNotificationSchema.safeParse(body).success).toBe(true);
    expect(sandboxNotificationSchema.safeParse({ ...body, txnId: undefined }).success).toBe(false);
    expect(sandboxNotificationSchema.safeParse({ ...body, amount: 19.99 }).success).toBe(false);
    expect(sandboxNotificationSchema.safeParse({ ...body, currency: 'usd' }).success).toBe(false);
    expect(sandboxNotificationSchema.safeParse({ ...body, event: 'REFUND' }).success).toBe(false);
  });
});

describe('checkout page helpers', () => {
  it('formats minor units with the currency’s own decimals', () => {
    expect(formatAmount(1999, 'USD')).toBe('$19.99');
    expect(formatAmount(500, 'JPY')).toBe('¥500');
    expect(formatAmount(1234, 'KWD')).toMatch(/^KWD\s1\.234$/);
  });

  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });
});
