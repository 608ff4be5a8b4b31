import { loadConfig } from '../../../infra/config';

/** What a process outside development must be given (it refuses to start without). */
const SECRETS = {
  ADMIN_TOKEN: 'an-admin-token-of-32-characters!',
  CREDENTIALS_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  PII_KEYS: `p1:${Buffer.alloc(32, 8).toString('base64')}`,
  PII_HASH_KEY: Buffer.alloc(32, 9).toString('base64'),
};

describe('egress settings', () => {
  it('allow private networks and plain http by default only in development', () => {
    const development = loadConfig({ NODE_ENV: 'development' });
    expect([development.EGRESS_ALLOW_PRIVATE_NETWORKS, development.EGRESS_ALLOW_HTTP]).toEqual([true, true]);
    const test = loadConfig({ ...SECRETS, NODE_ENV: 'test' });
    expect([test.EGRESS_ALLOW_PRIVATE_NETWORKS, test.EGRESS_ALLOW_HTTP]).toEqual([false, false]);
    const production = loadConfig({ ...SECRETS, NODE_ENV: 'production' });
    expect([production.EGRESS_ALLOW_PRIVATE_NETWORKS, production.EGRESS_ALLOW_HTTP]).toEqual([false, false]);
  });

  it('take an explicit value over the default', () => {
    const config = loadConfig({ NODE_ENV: 'development', EGRESS_ALLOW_PRIVATE_NETWORKS: 'false', EGRESS_ALLOW_HTTP: '0' });
    expect([config.EGRESS_ALLOW_PRIVATE_NETWORKS, config.EGRESS_ALLOW_HTTP]).toEqual([false, false]);
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'test', EGRESS_ALLOW_HTTP: 'true' }).EGRESS_ALLOW_HTTP).toBe(true);
  });

  it('refuse a value that is not a flag', () => {
    expect(() => loadConfig({ ...SECRETS, NODE_ENV: 'test', EGRESS_ALLOW_HTTP: 'yes' })).toThrow(/EGRESS_ALLOW_HTTP/);
  });

  it('give revocations a timeout of their own (10 s unless set)', () => {
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'test' }).REVOCATION_HTTP_TIMEOUT_MS).toBe(10_000);
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'test', REVOCATION_HTTP_TIMEOUT_MS: '2500' }).REVOCATION_HTTP_TIMEOUT_MS).toBe(2_500);
  });
});
