import { parseArgs } from 'node:util';

/** The options of every benchmark mode (`npm run bench -- --mode <mode> ...`). */
export const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'throughput' },
    purchases: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '4' },
    'open-orders': { type: 'string', default: '10000' },
    'sql-sample': { type: 'string', default: '200' },
    'database-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/payments_bench' },
    'temporal-address': { type: 'string' },
    /** dev or server: one engine (throughput measures both by default). */
    temporal: { type: 'string' },
    /** API processes; worker processes (each serving every queue) or their queues, ";" between processes. */
    apis: { type: 'string' },
    workers: { type: 'string' },
    'worker-queues': { type: 'string' },
    'temporal-db-file': { type: 'string' },
    'notify-poll-ms': { type: 'string', default: '200' },
    'paced-share': { type: 'string', default: '0.5' },
    'paced-seconds': { type: 'string', default: '60' },
    profile: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    /** failover: how long the failing account fails, and the healthy phases before and after. */
    'outage-seconds': { type: 'string', default: '30' },
    'phase-seconds': { type: 'string', default: '20' },
    /** failover: keep the breakers in this Redis instead of PostgreSQL. */
    redis: { type: 'string' },
    /** recon: orders (and statement lines) of the reconciled day. */
    'recon-orders': { type: 'string', default: '1000000' },
    /** reports: orders over the generated year, and requests per report query. */
    'report-orders': { type: 'string', default: '5000000' },
    'report-requests': { type: 'string', default: '200' },
    /** storefront: items of the game, requests measured (after a warm-up of `warmup`). */
    'storefront-items': { type: 'string', default: '1000' },
    'storefront-requests': { type: 'string', default: '5000' },
    /** oversell: concurrent order attempts on `oversell-units` units of one item. */
    'oversell-attempts': { type: 'string', default: '1000' },
    'oversell-units': { type: 'string', default: '100' },
    /** oversell: attempts in flight at once (default: all of them). */
    'oversell-concurrency': { type: 'string' },
    /** delivery: the modes measured in one run (http, nats, rabbitmq), comma separated. */
    delivery: { type: 'string' },
    /** delivery: the EVENTS_BROKER settings compared on the first mode's game (none,nats), comma separated; one setting: no comparison. */
    events: { type: 'string' },
    /** console: orders over the generated year. */
    'console-orders': { type: 'string', default: '1000000' },
    /** console: measure again over the orders an earlier run generated (no drop, no writing). */
    'reuse-data': { type: 'boolean', default: false },
  },
});

export const N = Number(args.purchases);
export const C = Number(args.concurrency);
export const WARMUP = Number(args.warmup);
/** The measured purchases and the floor's workflows alternate in this many rounds, so both see the same machine. */
export const ROUNDS = Math.max(1, Number(args.rounds));


export function baseEnv(): Record<string, string> {
  return { SANDBOX_NOTIFY_POLL_MS: args['notify-poll-ms']! };
}


export const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
/** A game server retries a 503 with the same key; the latency then includes the retries, and the answers are reported. */
export const BENCH_RETRY = { deadlineMs: 60_000, delayMs: 200 };
