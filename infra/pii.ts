import { createHash, createHmac } from 'node:crypto';
import { decryptCredentials, encryptCredentials, parseKeyring, type CredentialsKeyring } from './credentials';

/**
 * Personal data at rest (client IPs, device ids): sealed with AES-256-GCM under a key id
 * (`PII_KEYS`, `PII_ACTIVE_KEY`, the form of `CREDENTIALS_KEYS`; old keys stay readable), and an
 * HMAC-SHA256 under `PII_HASH_KEY` to look values up and count them (blacklist, risk windows)
 * without ever storing them in the clear. The sealed form is one string, `<keyId>:<base64>`.
 */
export interface PiiKeyring {
  sealing: CredentialsKeyring;
  hashKey: Buffer;
}

/** Development only: a public hash key (production refuses to start without its own). */
const DEV_HASH_KEY = createHash('sha256').update('game-payment-center development PII hash key').digest();

export function parsePiiKeyring(keys: string | undefined, activeKeyId: string | undefined, hashKey: string | undefined): PiiKeyring {
  const hash = hashKey === undefined ? DEV_HASH_KEY : Buffer.from(hashKey, 'base64');
  if (hash.length < 32) throw new Error('PII_HASH_KEY must be base64 of at least 32 bytes');
  return { sealing: parseKeyring(keys, activeKeyId), hashKey: hash };
}

export function sealPii(keyring: PiiKeyring, value: string): string {
  const { ciphertext, keyId } = encryptCredentials(keyring.sealing, value);
  return `${keyId}:${ciphertext}`;
}

export function openPii(keyring: PiiKeyring, sealed: string): string {
  const at = sealed.indexOf(':');
  if (at < 1) throw new Error('not a sealed value');
  return decryptCredentials(keyring.sealing, sealed.slice(at + 1), sealed.slice(0, at)) as string;
}

/** A lookup digest of a personal value of one kind (`ip`, `device`, ...): equal values, equal digests. */
export function piiDigest(keyring: PiiKeyring, kind: string, value: string): string {
  return createHmac('sha256', keyring.hashKey).update(`${kind}\u0000${value}`).digest('base64url');
}

const keyrings = new WeakMap<object, PiiKeyring>();
/** The PII keyring of a process's configuration, parsed once. */
export function piiKeyring(config: { PII_KEYS?: string; PII_ACTIVE_KEY?: string; PII_HASH_KEY?: string }): PiiKeyring {
  let keyring = keyrings.get(config);
  if (!keyring) keyrings.set(config, (keyring = parsePiiKeyring(config.PII_KEYS, config.PII_ACTIVE_KEY, config.PII_HASH_KEY)));
  return keyring;
}

/** An order's personal data as workflows carry and the books keep it: sealed, with lookup digests. */
export interface SealedOrderPii {
  clientIpSealed?: string;
  clientIpDigest?: string;
  deviceIdSealed?: string;
  deviceIdDigest?: string;
}

/** The digest kinds of an order's personal data (the risk counters and blacklist look them up by these). */
export const PII_KINDS = { clientIp: 'ip', deviceId: 'device' } as const;

export function sealOrderPii(keyring: PiiKeyring, plain: { clientIp?: string; deviceId?: string }): SealedOrderPii {
  return {
    ...(plain.clientIp !== undefined && { clientIpSealed: sealPii(keyring, plain.clientIp), clientIpDigest: piiDigest(keyring, PII_KINDS.clientIp, plain.clientIp) }),
    ...(plain.deviceId !== undefined && { deviceIdSealed: sealPii(keyring, plain.deviceId), deviceIdDigest: piiDigest(keyring, PII_KINDS.deviceId, plain.deviceId) }),
  };
}
