import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Channel credentials at rest: AES-256-GCM under a key named by a key id, so keys can rotate (new
 * writes use the active key; old rows stay readable while their key is configured). The stored form
 * is `base64(iv ‖ ciphertext ‖ tag)`; the key id is stored beside it. Plain credentials exist only in
 * memory, in the processes that use them.
 */
export interface CredentialsKeyring {
  activeKeyId: string;
  keys: Map<string, Buffer>;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The development keyring: a fixed, public key (production refuses to start without its own). */
export const DEV_KEY_ID = 'dev';
const DEV_KEY = createHash('sha256').update('game-payment-center development credentials key').digest();

/** `kid:base64key,kid2:base64key` (32-byte keys); the active one is named separately. */
export function parseKeyring(keys: string | undefined, activeKeyId: string | undefined): CredentialsKeyring {
  if (!keys) return { activeKeyId: DEV_KEY_ID, keys: new Map([[DEV_KEY_ID, DEV_KEY]]) };
  const map = new Map<string, Buffer>();
  for (const entry of keys.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [kid, encoded] = entry.split(':');
    const key = Buffer.from(encoded ?? '', 'base64');
    if (!kid || key.length !== 32) throw new Error(`credentials key ${kid ?? '(unnamed)'} must be kid:base64 of 32 bytes`);
    map.set(kid, key);
  }
  const active = activeKeyId ?? [...map.keys()][0]!;
  if (!map.has(active)) throw new Error(`the active credentials key ${active} is not among the configured keys`);
  return { activeKeyId: active, keys: map };
}

export function encryptCredentials(keyring: CredentialsKeyring, credentials: unknown): { ciphertext: string; keyId: string } {
  const key = keyring.keys.get(keyring.activeKeyId)!;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  return { ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64'), keyId: keyring.activeKeyId };
}

export function decryptCredentials(keyring: CredentialsKeyring, ciphertext: string, keyId: string): unknown {
  const key = keyring.keys.get(keyId);
  if (!key) throw new Error(`credentials encrypted under key ${keyId}, which is not configured`);
  const raw = Buffer.from(ciphertext, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
  return JSON.parse(plain.toString('utf8'));
}

const keyrings = new WeakMap<object, CredentialsKeyring>();
/** The keyring of a process's configuration, parsed once. */
export function credentialsKeyring(config: { CREDENTIALS_KEYS?: string; CREDENTIALS_ACTIVE_KEY?: string }): CredentialsKeyring {
  let keyring = keyrings.get(config);
  if (!keyring) keyrings.set(config, (keyring = parseKeyring(config.CREDENTIALS_KEYS, config.CREDENTIALS_ACTIVE_KEY)));
  return keyring;
}
