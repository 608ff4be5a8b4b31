import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { signNotification, verifyNotification } from '../../../channels/sandbox/wire';
import { ConfigError, DEV_ADMIN_TOKEN, loadConfig, monthlyCardTiming, purchaseTiming } from '../../../infra/config';
import { workerEnvironment } from '../../../worker';

const secrets = {
  ADMIN_TOKEN: 'a-real-admin-token-0123456789',
  CREDENTIALS_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  PII_KEYS: `p1:${randomBytes(32).toString('base64')}`,
  PII_HASH_KEY: randomBytes(32).toString('base64'),
};

const sandboxPair = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

/** The message loadConfig refuses `env` with (fails the test when it accepts it). */
function refusal(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the configuration was accepted');
}

describe('configuration fails closed', () => {
  it('refuses to start without ADMIN_TOKEN and CREDENTIALS_KEYS when NODE_ENV is unset, naming both in one message', () => {
    const message = refusal({});
    expect(message).toMatch(/ADMIN_TOKEN: required \(NODE_ENV=production/);
    expect(message).toMatch(/CREDENTIALS_KEYS: required/);
  });

  it('refuses to start without ADMIN_TOKEN when NODE_ENV is unset', () => {
    expect(refusal({ CREDENTIALS_KEYS: secrets.CREDENTIALS_KEYS })).toMatch(/ADMIN_TOKEN: required/);
  });

  it('treats an empty secret as missing outside development', () => {
    expect(refusal({ NODE_ENV: 'production', ADMIN_TOKEN: '', CREDENTIALS_KEYS: '' })).toMatch(/ADMIN_TOKEN: required[\s\S]*CREDENTIALS_KEYS: required/);
  });

  it('refuses the public development admin token with NODE_ENV=test', () => {
    expect(refusal({ ...secrets, NODE_ENV: 'test', ADMIN_TOKEN: DEV_ADMIN_TOKEN })).toMatch(/ADMIN_TOKEN: the public development token is refused/);
  });

  it('refuses the sandbox in production', () => {
    expect(refusal({ ...secrets, NODE_ENV: 'production', SANDBOX_ENABLED: 'true' })).toMatch(/SANDBOX_ENABLED/);
  });

  it('keeps the sandbox off outside development unless it is turned on with its keys', () => {
    expect(loadConfig({ ...secrets }).SANDBOX_ENABLED).toBe(false);
    expect(loadConfig({ ...secrets, NODE_ENV: 'test' }).SANDBOX_ENABLED).toBe(false);
    expect(refusal({ ...secrets, NODE_ENV: 'test', SANDBOX_ENABLED: 'true' })).toMatch(/SANDBOX_PRIVATE_KEY: required with SANDBOX_ENABLED/);
    const keys = { SANDBOX_PRIVATE_KEY: sandboxPair.privateKey, SANDBOX_PUBLIC_KEY: sandboxPair.publicKey };
    expect(loadConfig({ ...secrets, ...keys, NODE_ENV: 'test', SANDBOX_ENABLED: 'true' }).SANDBOX_ENABLED).toBe(true);
  });

  it('generates one sandbox key pair per process in development, when none is configured', () => {
    const a = loadConfig({ NODE_ENV: 'development' });
    const b = loadConfig({ NODE_ENV: 'development' });
    expect(a.SANDBOX_PRIVATE_KEY).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(b.SANDBOX_PUBLIC_KEY).toBe(a.SANDBOX_PUBLIC_KEY);
    const signature = signNotification(a.SANDBOX_PRIVATE_KEY!, '{}', 1);
    expect(verifyNotification(b.SANDBOX_PUBLIC_KEY!, '{}', 1, signature)).toBe(true);
  });

  it('reads configured sandbox PEMs, one-line ones with literal \\n escapes too', () => {
    const config = loadConfig({ ...secrets, NODE_ENV: 'test', SANDBOX_ENABLED: 'true', SANDBOX_PRIVATE_KEY: sandboxPair.privateKey.replace(/\n/g, '\\n'), SANDBOX_PUBLIC_KEY: sandboxPair.publicKey });
    expect(config).toMatchObject({ SANDBOX_PRIVATE_KEY: sandboxPair.privateKey, SANDBOX_PUBLIC_KEY: sandboxPair.publicKey });
  });

  it('applies the development defaults only with NODE_ENV=development set explicitly', () => {
    const config = loadConfig({ NODE_ENV: 'development', ADMIN_TOKEN: '' });
    expect(config).toMatchObject({ ADMIN_TOKEN: DEV_ADMIN_TOKEN, SANDBOX_ENABLED: true });
    expect(config.CREDENTIALS_KEYS).toBeUndefined(); // the development keyring (infra/credentials.ts)
  });

  it('refuses a PII hash key shorter than 32 bytes', () => {
    expect(refusal({ ...secrets, PII_HASH_KEY: randomBytes(16).toString('base64') })).toMatch(/PII_KEYS: PII_HASH_KEY must be base64 of at least 32 bytes/);
  });

  it('starts in production with its own secrets', () => {
    expect(loadConfig({ ...secrets, NODE_ENV: 'production' })).toMatchObject({ NODE_ENV: 'production', ADMIN_TOKEN: secrets.ADMIN_TOKEN, SANDBOX_ENABLED: false });
  });
});

it('stops the API process at start-up with one message when NODE_ENV is unset and no secrets are given', () => {
  const { PATH, HOME } = process.env;
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
    cwd: path.join(__dirname, '..', '..', '..'),
    env: { PATH, HOME },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr.trim()).toMatch(
    /^Invalid configuration:\n {2}ADMIN_TOKEN: required .*\n {2}CREDENTIALS_KEYS: required .*\n {2}PII_KEYS: required .*\n {2}PII_HASH_KEY: required .*$/,
  );
}, 40_000);

describe('named operator tokens (ADMIN_TOKENS)', () => {
  const production = { NODE_ENV: 'production', CREDENTIALS_KEYS: secrets.CREDENTIALS_KEYS, PII_KEYS: secrets.PII_KEYS, PII_HASH_KEY: secrets.PII_HASH_KEY };

  it('starts with ADMIN_TOKENS alone; its first admin is the platform\'s own token and the shared one is absent', () => {
    const config = loadConfig({ ...production, ADMIN_TOKENS: 'rita:admin:rita-token-0123456789,olga:ops:olga-token-0123456789' });
    expect(config.OPERATOR_TOKENS.map((t) => [t.name, t.role, t.shared])).toEqual([
      ['rita', 'admin', false],
      ['olga', 'ops', false],
    ]);
    expect(config.ADMIN_TOKEN).toBe('rita-token-0123456789');
  });

  it('keeps ADMIN_TOKEN as a shared admin token beside the named ones', () => {
    const config = loadConfig({ ...production, ADMIN_TOKEN: secrets.ADMIN_TOKEN, ADMIN_TOKENS: 'fred:finance:fred-token-0123456789' });
    expect(config.OPERATOR_TOKENS).toContainEqual({ name: 'admin', role: 'admin', token: secrets.ADMIN_TOKEN, shared: true });
  });

  it('gives no development default token once ADMIN_TOKENS is set', () => {
    const config = loadConfig({ NODE_ENV: 'development', ADMIN_TOKENS: 'olga:ops:olga-token-0123456789' });
    expect(config.OPERATOR_TOKENS.map((t) => t.token)).toEqual(['olga-token-0123456789']);
    expect(loadConfig({ NODE_ENV: 'development' }).OPERATOR_TOKENS.map((t) => t.token)).toEqual([DEV_ADMIN_TOKEN]);
  });

  it.each([
    ['an unknown role', 'rita:root:rita-token-0123456789', /role must be one of admin, ops, finance/],
    ['a short token', 'rita:admin:short', /at least 16 characters/],
    ['a missing part', 'rita-token-0123456789', /expected name:role:token/],
    ['a repeated name', 'rita:admin:rita-token-0123456789,rita:ops:rita-token-9876543210', /share a name/],
    ['a repeated token', 'rita:admin:rita-token-0123456789,olga:ops:rita-token-0123456789', /share a token/],
  ])('refuses to start with %s', (_what, value, message) => {
    expect(refusal({ ...production, ADMIN_TOKENS: value })).toMatch(message);
  });
});

describe('worker pools and the engine settings', () => {
  const test = { ...secrets, NODE_ENV: 'test' };

  it('serves every pool by default, and the pools a list names', () => {
    expect(loadConfig(test).WORKER_ROLES).toEqual(['purchases', 'fulfillment', 'finance']);
    expect(loadConfig({ ...test, WORKER_ROLES: ' fulfillment , finance,fulfillment' }).WORKER_ROLES).toEqual(['fulfillment', 'finance']);
  });

  it('fixes the fulfillment queue in each order\'s and card\'s timing', () => {
    const config = loadConfig({ ...test, FULFILLMENT_TASK_QUEUE: 'game-calls' });
    expect(purchaseTiming(config).fulfillmentTaskQueue).toBe('game-calls');
    expect(monthlyCardTiming(config).fulfillmentTaskQueue).toBe('game-calls');
  });

  it('takes --queues (either form) as WORKER_ROLES for one process and refuses any other argument', () => {
    expect(workerEnvironment(['--queues', 'fulfillment'], {}).WORKER_ROLES).toBe('fulfillment');
    expect(workerEnvironment(['--queues=purchases,finance'], { WORKER_ROLES: 'finance' }).WORKER_ROLES).toBe('purchases,finance');
    expect(workerEnvironment([], { WORKER_ROLES: 'finance' }).WORKER_ROLES).toBe('finance');
    expect(() => workerEnvironment(['--queue', 'finance'], {})).toThrow(/--queue finance: the worker takes only --queues/);
  });

  it.each([
    ['an empty list', ''],
    ['a list of nothing', ' , '],
  ])('refuses %s of queues', (_what, value) => {
    expect(refusal({ ...test, WORKER_ROLES: value })).toMatch(/WORKER_ROLES: empty: name one or more of purchases, fulfillment, finance/);
  });

  it('refuses zero activity slots for a pool', () => {
    expect(refusal({ ...test, FULFILLMENT_MAX_CONCURRENT_ACTIVITIES: '0' })).toMatch(/FULFILLMENT_MAX_CONCURRENT_ACTIVITIES/);
  });

  it('lists every bad engine setting in one message, even alongside others', () => {
    const message = refusal({
      ...test,
      WORKER_ROLES: 'purchases,payments,fulfilment',
      TEMPORAL_MODE: 'cloud',
      TEMPORAL_HISTORY_SHARDS: '0',
      TEMPORAL_TLS_CERT: '/etc/temporal/client.pem',
    });
    expect(message.split('\n')).toEqual([
      'Invalid configuration:',
      expect.stringMatching(/^ {2}TEMPORAL_MODE: .*"dev"\|"server"/),
      expect.stringMatching(/^ {2}TEMPORAL_HISTORY_SHARDS: .*>=1/),
      '  WORKER_ROLES: unknown queue "payments" (known: purchases, fulfillment, finance)',
      '  WORKER_ROLES: unknown queue "fulfilment" (known: purchases, fulfillment, finance)',
      '  TEMPORAL_TLS_CERT: TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mTLS needs both)',
    ]);
  });
});

it('stops a worker process at start-up with one message listing each bad engine setting, before connecting to anything', () => {
  const { PATH, HOME } = process.env;
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'worker.ts', '--queues', 'purchases,shipping'], {
    cwd: path.join(__dirname, '..', '..', '..'),
    // Nothing listens there: a worker that got past its configuration would hang or fail connecting, not print this.
    env: { PATH, HOME, ...secrets, NODE_ENV: 'test', TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_MODE: 'sqlite', TEMPORAL_HISTORY_SHARDS: '0', TEMPORAL_TLS_CERT: 'client.pem' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr.trim().split('\n')).toEqual([
    'Invalid configuration:',
    expect.stringMatching(/^ {2}TEMPORAL_MODE: /),
    expect.stringMatching(/^ {2}TEMPORAL_HISTORY_SHARDS: /),
    '  WORKER_ROLES: unknown queue "shipping" (known: purchases, fulfillment, finance)',
    expect.stringMatching(/^ {2}TEMPORAL_TLS_CERT: .*go together/),
  ]);
  expect(Date.now() - started).toBeLessThan(30_000);
}, 40_000);
