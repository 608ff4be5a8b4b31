import { generateKeyPairSync } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';
import { isTimeZone, parseTimeOfDay } from '../domain/reconciliation/days';
import type { MonthlyCardTiming, PurchaseTiming } from '../workflows/contract';
import { parseKeyring } from './credentials';
import { parsePiiKeyring } from './pii';
import { temporalConnectionOptions } from './temporal-connection';
import { parseOperatorTokens, type OperatorToken } from '../domain/operators';

/** Durations are configured in milliseconds so tests can run the whole life cycle in seconds. */
const duration = (defaultMs: number) => z.coerce.number().int().positive().default(defaultMs);
const flag = (defaultValue: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(defaultValue ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

/** A flag whose default depends on another setting (resolved in `loadConfig`). */
const optionalFlag = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1'));

const devPort = (defaultPort: number) => z.coerce.number().int().min(1).max(65535).default(defaultPort);

/** IP:port as the Temporal runtime binds it: it takes no host names. */
const socketAddress = z.string().refine((value) => {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  return match !== null && isIP(match[1] ?? match[2]) === (match[1] ? 6 : 4) && Number(match[3]) <= 65535;
}, 'expected IP:port, e.g. 0.0.0.0:9464 or [::]:9464');

/**
 * The worker pools, one per domain task queue: purchases (the order workflows, books, risk, channels),
 * fulfillment (calls to game servers; activities only), finance (reconciliation, sweeps, roll-ups).
 */
export const WORKER_ROLES = ['purchases', 'fulfillment', 'finance'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

/** Accepted only with NODE_ENV=development set explicitly: it is public. */
export const DEV_ADMIN_TOKEN = 'dev-admin-token-change-me';
/** A secret setting left empty (`ADMIN_TOKEN=` in a compose file) counts as missing. */
const secret = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
/** Where channels' statement days are cut, unless configured (most of our channels are Chinese). */
export const DEFAULT_RECON_TIME_ZONE = 'Asia/Shanghai';

const configSchema = z
  .object({
    /** Unset means production: development defaults are never a fallback (fail closed). */
    NODE_ENV: z.enum(['development', 'test', 'production']).default('production'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** Base URL the channels (and the sandbox) use to reach our callback endpoints. */
    PUBLIC_BASE_URL: z.string().url().optional(),
    DATABASE_URL: z.string().url().default('postgresql://postgres@127.0.0.1:5432/payments'),
    DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(10),
    TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    /**
     * Which engine `npm run dev`, the tests, the benchmark and the drills start: the CLI's dev server
     * (SQLite) or a real Temporal server on PostgreSQL (scripts/lib/temporal-server.ts).
     */
    TEMPORAL_MODE: z.enum(['dev', 'server']).default('dev'),
    /** Server mode: the PostgreSQL server its databases go on (default: DATABASE_URL's), and its history shards. */
    TEMPORAL_DATABASE_URL: z.string().min(1).optional(),
    TEMPORAL_HISTORY_SHARDS: z.coerce.number().int().min(1).default(4),
    /** A Temporal cluster over TLS (infra/temporal-connection.ts): PEM files; cert and key together for mTLS. */
    TEMPORAL_TLS_CERT: z.string().min(1).optional(),
    TEMPORAL_TLS_KEY: z.string().min(1).optional(),
    TEMPORAL_TLS_CA: z.string().min(1).optional(),
    TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
    /** Temporal Cloud's API key (sent over TLS). */
    TEMPORAL_API_KEY: secret(z.string()),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('purchases'),
    /** The worker's Prometheus endpoint (SDK runtime metrics and the business metrics). */
    WORKER_METRICS_ADDRESS: socketAddress.default('127.0.0.1:9464'),
    /**
     * Workflows the worker keeps in memory (~0.2 MiB each, measured). The SDK's default is sized from
     * the heap limit (2,310 here) and took the worker to 1.4 GiB with 10,000 open orders (1,000: peak
     * 1,005 MiB; 500: 947 MiB); an evicted order is replayed from its short history when it next moves.
     */
    WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(500),
    /**
     * The shared operator token (role admin): required unless ADMIN_TOKENS is set or NODE_ENV=development
     * (which defaults it to DEV_ADMIN_TOKEN when ADMIN_TOKENS is unset).
     */
    ADMIN_TOKEN: secret(z.string().min(16)),
    /** How long a console sign-in lasts, in seconds (8 h): its cookie and its session row expire together. */
    CONSOLE_LOGIN_TTL: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(8 * 3600),
    /** Named operator tokens, `name:role:token` comma separated, roles admin, ops, finance (domain/operators.ts). */
    ADMIN_TOKENS: secret(z.string()),
    /** Load balancer hops in front of the API whose X-Forwarded-For is believed (0: the socket's address). */
    TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
    /** Requests a second per client IP on /v1 (callbacks excepted), and the bucket's size (default twice the rate). */
    RATE_LIMIT_IP_PER_SECOND: z.coerce.number().int().positive().default(1000),
    RATE_LIMIT_IP_BURST: z.coerce.number().int().positive().optional(),
    /** Signed requests a second per game, and the bucket's size (default twice the rate). */
    RATE_LIMIT_GAME_PER_SECOND: z.coerce.number().int().positive().default(1000),
    RATE_LIMIT_GAME_BURST: z.coerce.number().int().positive().optional(),
    /** The API's Prometheus endpoint, off the public port. */
    API_METRICS_ADDRESS: socketAddress.default('127.0.0.1:9463'),
    /** The public HTTP server: whole request headers, whole request, idle keep-alive (ms). */
    HTTP_HEADERS_TIMEOUT_MS: duration(10_000),
    HTTP_REQUEST_TIMEOUT_MS: duration(30_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: duration(5_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    PAYMENT_TIMEOUT_MS: duration(15 * 60_000),
    DELIVERY_DEADLINE_MS: duration(24 * 3_600_000),
    DELIVERY_HTTP_TIMEOUT_MS: duration(10_000),
    /** One call to a game's revokeUrl before it counts as a failed attempt (retried). */
    REVOCATION_HTTP_TIMEOUT_MS: duration(10_000),
    /**
     * The egress guard (infra/egress.ts) of every outbound call: loopback and private ranges, and plain
     * http. Both default to true only with NODE_ENV=development (local fakes and the demo game server).
     */
    EGRESS_ALLOW_PRIVATE_NETWORKS: optionalFlag,
    EGRESS_ALLOW_HTTP: optionalFlag,
    DELIVERY_RETRY_INITIAL_MS: duration(1_000),
    DELIVERY_RETRY_MAX_MS: duration(5 * 60_000),
    /** A monthly card's day: the default is the game's own day (time zone, reset hour); other values make card days that long, counted from the purchase (tests). */
    GAME_DAY_MS: duration(86_400_000),
    ACTIVITY_RETRY_INITIAL_MS: duration(500),
    ACTIVITY_RETRY_MAX_MS: duration(30_000),
    /** Between /readyz turning 503 and the API closing its port on SIGTERM (load balancer drain time). */
    SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(0),
    /** How long an API call waits for an order workflow to answer before it reports 503. */
    WORKFLOW_ANSWER_TIMEOUT_MS: duration(10_000),
    /** How long an API process may answer from its copy of a game or item (0: always read the database). */
    CATALOGUE_CACHE_MS: z.coerce.number().int().min(0).default(5_000),
    /**
     * Keys that encrypt channel credentials at rest: `kid:base64(32 bytes)`, comma separated (old keys
     * stay to read old rows); required unless NODE_ENV=development (which uses a public development key).
     * CREDENTIALS_ACTIVE_KEY names the one new writes use.
     */
    CREDENTIALS_KEYS: secret(z.string()),
    CREDENTIALS_ACTIVE_KEY: z.string().optional(),
    /**
     * Personal data at rest (client IPs, device ids), infra/pii.ts: PII_KEYS in CREDENTIALS_KEYS' form,
     * PII_ACTIVE_KEY the one new writes use, PII_HASH_KEY (base64, >= 32 bytes) for lookup digests;
     * required unless NODE_ENV=development.
     */
    PII_KEYS: secret(z.string()),
    PII_ACTIVE_KEY: z.string().optional(),
    PII_HASH_KEY: secret(z.string()),
    /** One call to a payment channel's API (create, query, close, refund) before it counts as failed. */
    CHANNEL_HTTP_TIMEOUT_MS: duration(10_000),
    /** How long a new order's channel payment may take to open (retried) before the order is closed unpaid. */
    CHANNEL_OPEN_BUDGET_MS: duration(30_000),
    /** How long the create call may try the ranked channel accounts, one after the other, before it answers 502. */
    CHANNEL_FAILOVER_BUDGET_MS: duration(3_000),
    /** Circuit breakers, per channel account and shared by every process (see domain/routing/breaker.ts). */
    CHANNEL_BREAKER_WINDOW_MS: duration(60_000),
    CHANNEL_BREAKER_MIN_CALLS: z.coerce.number().int().positive().default(20),
    CHANNEL_BREAKER_FAILURE_RATE: z.coerce.number().gt(0).max(1).default(0.5),
    CHANNEL_BREAKER_CONSECUTIVE_FAILURES: z.coerce.number().int().positive().default(5),
    CHANNEL_BREAKER_COOLDOWN_MS: duration(30_000),
    CHANNEL_BREAKER_HALF_OPEN_PROBES: z.coerce.number().int().positive().default(3),
    /** Routing (see domain/routing/router.ts): the share of orders sent to another account than the cheapest. */
    ROUTING_EXPLORATION_SHARE: z.coerce.number().min(0).max(1).default(0.02),
    /** What a failed opening is assumed to cost, in basis points of the order amount (10000: the whole sale). */
    ROUTING_FAILURE_PENALTY_BPS: z.coerce.number().int().min(0).max(100_000).default(10_000),
    /** An account's success rate counts its last this many create attempts ... */
    ROUTING_WINDOW_ATTEMPTS: z.coerce.number().int().positive().max(10_000).default(100),
    /** ... within this long, plus this many pseudo-successes (so one early failure does not bury a new account). */
    ROUTING_WINDOW_MS: duration(10 * 60_000),
    ROUTING_PRIOR_ATTEMPTS: z.coerce.number().int().min(0).max(10_000).default(10),
    /** Seeds the exploration and tie draws (tests, benchmarks); random when absent. */
    ROUTING_RANDOM_SEED: z.coerce.number().int().optional(),
    /** Redis for the breakers' and routing windows' shared state; PostgreSQL when absent. */
    REDIS_URL: z.string().url().optional(),
    /** The brokers of games that take deliveries over NATS JetStream or RabbitMQ (connected on first use). */
    NATS_URL: z.string().url().default('nats://127.0.0.1:4222'),
    AMQP_URL: z.string().url().default('amqp://guest:guest@127.0.0.1:5672'),
    /** With no payment result this long after the payment opened, the channel is asked (then backing off; 0: never). */
    PAYMENT_QUERY_AFTER_MS: z.coerce.number().int().min(0).default(60_000),
    SIGNATURE_MAX_SKEW_SECONDS: z.coerce.number().int().positive().default(300),

    RISK_MAX_ORDERS_PER_USER: z.coerce.number().int().positive().default(20),
    RISK_ORDER_WINDOW_MS: duration(60_000),
    RISK_REVIEW_TIMEOUT_MS: duration(86_400_000),

    /** Daily reconciliation: each channel account's previous calendar day, at this time in this zone. */
    RECON_TIME: z.string().refine((v) => parseTimeOfDay(v) !== undefined, 'HH:MM (24 h), e.g. 10:00').default('10:00'),
    RECON_TIME_ZONE: z.string().refine(isTimeZone, 'an IANA time zone such as Asia/Shanghai').default(DEFAULT_RECON_TIME_ZONE),
    /**
     * The channel account whose daily run also reports the grants of the games' logs that name no order
     * of ours (GRANTED_NOT_PAID / NO_ORDER): such a grant belongs to no account, so exactly one run reports
     * it. Unset: nobody does.
     */
    RECON_ORPHAN_GRANTS_ACCOUNT: z.string().min(1).optional(),
    /** Store sweeps: Apple's failed notifications and Google's voided purchases are asked for this often (Apple's full pass: daily). */
    STORE_SWEEP_INTERVAL_MINUTES: z.coerce.number().int().min(5).max(1440).default(60),
    /** The task queue of reconciliation and other finance work, scaled apart from purchases. */
    FINANCE_TASK_QUEUE: z.string().min(1).default('finance'),
    /** The task queue of the calls to game servers (deliveries, revocations, card days), fixed in each order at its start. */
    FULFILLMENT_TASK_QUEUE: z.string().min(1).default('fulfillment'),
    /** Which task queues this worker process serves (`npm run worker -- --queues ...` sets it for one process). */
    WORKER_ROLES: z
      .string()
      .transform((v, ctx) => {
        const roles = v.split(',').map((role) => role.trim());
        const known = WORKER_ROLES.join(', ');
        if (roles.every((role) => role === '')) {
          ctx.addIssue({ code: 'custom', message: `empty: name one or more of ${known}` });
          return z.NEVER;
        }
        const unknown = roles.filter((role) => !(WORKER_ROLES as readonly string[]).includes(role));
        for (const role of unknown) ctx.addIssue({ code: 'custom', message: `unknown queue "${role}" (known: ${known})` });
        return unknown.length > 0 ? z.NEVER : [...new Set(roles as WorkerRole[])];
      })
      .default([...WORKER_ROLES]),
    /** Activities one worker process runs at once per pool (absent: the SDK's default). */
    PURCHASES_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
    FULFILLMENT_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
    FINANCE_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),

    /** The built-in sandbox provider and its implicit account: on by default in development only; refused in production. */
    SANDBOX_ENABLED: flag(false),
    /**
     * The sandbox provider's RSA key pair (PEM; one-line values with literal \n escapes too): it signs
     * notifications, the sandbox adapter verifies them. Required with the sandbox outside development,
     * where a pair is generated per process when absent (signer and verifier agree within one process).
     */
    SANDBOX_PRIVATE_KEY: z.string().optional().transform(pem),
    SANDBOX_PUBLIC_KEY: z.string().optional().transform(pem),
    SANDBOX_NOTIFY_RETRY_MS: duration(2_000),
    SANDBOX_NOTIFY_POLL_MS: duration(200),

    /**
     * Where order events go (NATS JetStream or RabbitMQ, through the outbox and its relay); `none`: no
     * event is written at all.
     */
    EVENTS_BROKER: z.enum(['nats', 'rabbitmq', 'none']).default('none'),
    /** Published events are kept in the outbox this long, then pruned. */
    EVENTS_RETENTION_HOURS: z.coerce.number().int().positive().default(72),

    /** `npm run dev` only: its data folder (relative to the repository) and the ports of what it starts. */
    DEV_DATA_DIR: z.string().min(1).default('.data'),
    EMBEDDED_PG_PORT: devPort(5433),
    TEMPORAL_DEV_PORT: devPort(7233),
    TEMPORAL_UI_PORT: devPort(8233),
    DEMO_GAME_PORT: devPort(4001),
  })
  .superRefine((c, ctx) => {
    if (c.NODE_ENV !== 'development') {
      const mode = `NODE_ENV=${c.NODE_ENV}; only NODE_ENV=development has a default`;
      if (!c.ADMIN_TOKEN && !c.ADMIN_TOKENS) ctx.addIssue({ code: 'custom', path: ['ADMIN_TOKEN'], message: `required (${mode}) unless ADMIN_TOKENS is set` });
      if (c.ADMIN_TOKEN === DEV_ADMIN_TOKEN) {
        ctx.addIssue({ code: 'custom', path: ['ADMIN_TOKEN'], message: `the public development token is refused (${mode})` });
      }
      if (!c.CREDENTIALS_KEYS) ctx.addIssue({ code: 'custom', path: ['CREDENTIALS_KEYS'], message: `required (${mode})` });
      if (!c.PII_KEYS) ctx.addIssue({ code: 'custom', path: ['PII_KEYS'], message: `required (${mode})` });
      if (!c.PII_HASH_KEY) ctx.addIssue({ code: 'custom', path: ['PII_HASH_KEY'], message: `required (${mode})` });
    }
    try {
      parseOperatorTokens(c.ADMIN_TOKENS);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_TOKENS'], message: (err as Error).message });
    }
    try {
      parsePiiKeyring(c.PII_KEYS, c.PII_ACTIVE_KEY, c.PII_HASH_KEY);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['PII_KEYS'], message: (err as Error).message });
    }
    if (c.NODE_ENV === 'production' && c.SANDBOX_ENABLED) {
      ctx.addIssue({ code: 'custom', path: ['SANDBOX_ENABLED'], message: 'the sandbox provider (open test payments) is refused in production' });
    }
    try {
      parseKeyring(c.CREDENTIALS_KEYS, c.CREDENTIALS_ACTIVE_KEY);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['CREDENTIALS_KEYS'], message: (err as Error).message });
    }
    if (c.SANDBOX_ENABLED && c.NODE_ENV !== 'development' && !c.SANDBOX_PRIVATE_KEY && !c.SANDBOX_PUBLIC_KEY) {
      ctx.addIssue({ code: 'custom', path: ['SANDBOX_PRIVATE_KEY'], message: `required with SANDBOX_ENABLED (NODE_ENV=${c.NODE_ENV}), with SANDBOX_PUBLIC_KEY` });
    }
    if (Boolean(c.SANDBOX_PRIVATE_KEY) !== Boolean(c.SANDBOX_PUBLIC_KEY)) {
      ctx.addIssue({ code: 'custom', path: ['SANDBOX_PUBLIC_KEY'], message: 'set both sandbox keys or neither' });
    }
  })
  // Checked even when other settings are bad, so the one message lists every mistake of the engine's settings.
  .superRefine(
    (c, ctx) => {
      try {
        temporalConnectionOptions(c);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['TEMPORAL_TLS_CERT'], message: (err as Error).message });
      }
    },
    { when: () => true },
  );

export type Config = Omit<
  z.infer<typeof configSchema>,
  'EGRESS_ALLOW_PRIVATE_NETWORKS' | 'EGRESS_ALLOW_HTTP' | 'RATE_LIMIT_IP_BURST' | 'RATE_LIMIT_GAME_BURST'
> & {
  PUBLIC_BASE_URL: string;
  /** An admin token the platform's own calls use (the sandbox adapter): ADMIN_TOKEN, else the first admin of ADMIN_TOKENS. */
  ADMIN_TOKEN: string;
  /** Every token that opens the operator routes: ADMIN_TOKENS' entries and ADMIN_TOKEN (named admin). */
  OPERATOR_TOKENS: OperatorToken[];
  RATE_LIMIT_IP_BURST: number;
  RATE_LIMIT_GAME_BURST: number;
  EGRESS_ALLOW_PRIVATE_NETWORKS: boolean;
  EGRESS_ALLOW_HTTP: boolean;
};

export class ConfigError extends Error {}

/** What NODE_ENV=development (set by `npm run dev`) fills in when absent; nothing else has these defaults. */
const DEVELOPMENT_DEFAULTS = { ADMIN_TOKEN: DEV_ADMIN_TOKEN, SANDBOX_ENABLED: 'true' };

/** Validates the environment once and explains every bad setting in one message. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // With named tokens, no default token opens anything.
  const defaults: Record<string, string> =
    env.NODE_ENV === 'development' ? (env.ADMIN_TOKENS ? { ...DEVELOPMENT_DEFAULTS, ADMIN_TOKEN: '' } : DEVELOPMENT_DEFAULTS) : {};
  // An empty value (`ADMIN_TOKEN=` in a compose file) takes the development default too.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  // An empty list of queues is a mistake, not a default: the process would serve nothing.
  if (env.WORKER_ROLES !== undefined) present.WORKER_ROLES = env.WORKER_ROLES;
  const parsed = configSchema.safeParse({ ...env, ...defaults, ...present });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const development = c.NODE_ENV === 'development';
  const named = parseOperatorTokens(c.ADMIN_TOKENS);
  const shared = { name: 'admin', role: 'admin' as const, token: c.ADMIN_TOKEN ?? '', shared: true };
  const operators = c.ADMIN_TOKEN ? [...named, shared] : named;
  return {
    ...c,
    ...(c.SANDBOX_ENABLED && !c.SANDBOX_PRIVATE_KEY && developmentSandboxKeys()),
    ADMIN_TOKEN: c.ADMIN_TOKEN ?? named.find((t) => t.role === 'admin')?.token ?? '',
    ...{ OPERATOR_TOKENS: operators },
    RATE_LIMIT_IP_BURST: c.RATE_LIMIT_IP_BURST ?? 2 * c.RATE_LIMIT_IP_PER_SECOND,
    RATE_LIMIT_GAME_BURST: c.RATE_LIMIT_GAME_BURST ?? 2 * c.RATE_LIMIT_GAME_PER_SECOND,
    PUBLIC_BASE_URL: c.PUBLIC_BASE_URL ?? `http://127.0.0.1:${c.PORT}`,
    EGRESS_ALLOW_PRIVATE_NETWORKS: c.EGRESS_ALLOW_PRIVATE_NETWORKS ?? development,
    EGRESS_ALLOW_HTTP: c.EGRESS_ALLOW_HTTP ?? development,
  };
}

/** Env files and secret stores often carry PEMs on one line with literal "\n" escapes. */
function pem(value: string | undefined): string | undefined {
  return value?.includes('\\n') ? value.replace(/\\n/g, '\n') : value;
}

let generatedSandboxKeys: { SANDBOX_PRIVATE_KEY: string; SANDBOX_PUBLIC_KEY: string } | undefined;
/** Development without configured sandbox keys: one pair per process, whichever config asks first. */
function developmentSandboxKeys() {
  if (!generatedSandboxKeys) {
    const pair = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    generatedSandboxKeys = { SANDBOX_PRIVATE_KEY: pair.privateKey, SANDBOX_PUBLIC_KEY: pair.publicKey };
  }
  return generatedSandboxKeys;
}

/** A process that cannot start says why in one message (a configuration error needs no stack trace). */
export function reportStartupFailure(err: unknown): never {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}

/** The durations each purchase workflow runs with, fixed at its start. */
/** The timings a monthly card's workflow runs with. */
export function monthlyCardTiming(config: Config): MonthlyCardTiming {
  const { deliveryAttemptTimeoutMs, deliveryRetryInitialMs, deliveryRetryMaxMs, activityRetryInitialMs, activityRetryMaxMs, fulfillmentTaskQueue } = purchaseTiming(config);
  return {
    deliveryAttemptTimeoutMs,
    deliveryRetryInitialMs,
    deliveryRetryMaxMs,
    activityRetryInitialMs,
    activityRetryMaxMs,
    gameDayMs: config.GAME_DAY_MS,
    fulfillmentTaskQueue,
  };
}

export function purchaseTiming(config: Config): PurchaseTiming {
  return {
    paymentTimeoutMs: config.PAYMENT_TIMEOUT_MS,
    deliveryDeadlineMs: config.DELIVERY_DEADLINE_MS,
    deliveryAttemptTimeoutMs: config.DELIVERY_HTTP_TIMEOUT_MS,
    deliveryRetryInitialMs: config.DELIVERY_RETRY_INITIAL_MS,
    deliveryRetryMaxMs: config.DELIVERY_RETRY_MAX_MS,
    activityRetryInitialMs: config.ACTIVITY_RETRY_INITIAL_MS,
    activityRetryMaxMs: config.ACTIVITY_RETRY_MAX_MS,
    channelOpenBudgetMs: config.CHANNEL_OPEN_BUDGET_MS,
    channelFailoverBudgetMs: config.CHANNEL_FAILOVER_BUDGET_MS,
    ...(config.PAYMENT_QUERY_AFTER_MS > 0 && { paymentQueryAfterMs: config.PAYMENT_QUERY_AFTER_MS }),
    riskReviewTimeoutMs: config.RISK_REVIEW_TIMEOUT_MS,
    fulfillmentTaskQueue: config.FULFILLMENT_TASK_QUEUE,
  };
}
