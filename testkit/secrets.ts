import { randomBytes } from 'node:crypto';

/**
 * The secrets a test or benchmark deployment runs with: outside NODE_ENV=development nothing has a
 * default, so each run makes its own (never the public development ones), passed on through the environment.
 */
export function freshSecrets(): { ADMIN_TOKEN: string; CREDENTIALS_KEYS: string; PII_KEYS: string; PII_HASH_KEY: string } {
  return {
    ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    CREDENTIALS_KEYS: `run:${randomBytes(32).toString('base64')}`,
    PII_KEYS: `run:${randomBytes(32).toString('base64')}`,
    PII_HASH_KEY: randomBytes(32).toString('base64'),
  };
}
