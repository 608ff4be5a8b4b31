import {
  NEW_BREAKER,
  afterOutcome,
  claimProbe,
  windowStart,
  type BreakerRecord,
  type BreakerSettings,
  type BreakerState,
  type WindowCounts,
} from '../domain/routing/breaker';
import type { AttemptCounts } from '../domain/routing/success-rate';
import type { RunSql } from '../infra/db';
import { sql, type Sql } from './sql';

/**
 * The shared health of the channel accounts: every call to a channel's API and how it ended, and each
 * account's circuit breaker, in one place every API and worker process reads and writes (PostgreSQL
 * here, Redis in channel-health-redis.ts: the same contract, the same tests). The rules are
 * domain/routing/breaker.ts; a store only counts and compares-and-sets, so concurrent processes
 * never lose a transition.
 */

export type ChannelOperation = 'create' | 'query' | 'close' | 'refund';
/** OK; FAILED: a technical failure (error, timeout, 5xx); REFUSED: the channel answered no (it is up). */
export type CallOutcome = 'OK' | 'FAILED' | 'REFUSED';

export interface ChannelCall {
  channelId: string;
  operation: ChannelOperation;
  outcome: CallOutcome;
  latencyMs: number;
  /** When it ended (ms since the epoch). */
  at: number;
}

export interface HealthSettings {
  breaker: BreakerSettings;
  /** The routing window: the last `attempts` creates within `ms`. */
  routingWindow: { attempts: number; ms: number };
}

export interface ChannelHealthReport {
  channelId: string;
  breaker: BreakerRecord;
  /** Calls and technical failures in the breaker's window. */
  window: WindowCounts;
  /** Create attempts in the routing window, and how many opened the payment. */
  creates: AttemptCounts;
  createLatencyP95Ms?: number;
}

export interface BreakerTransition {
  channelId: string;
  from: BreakerState;
  to: BreakerState;
  at: number;
}

export interface ChannelHealthStore {
  /** Records a call and applies the breaker's rules; reports the transition it caused, if any. */
  record(call: ChannelCall): Promise<BreakerTransition | undefined>;
  /** Lets one order probe a half-open account (at most `halfOpenProbes` a round, across processes). */
  claimProbe(channelId: string, now: number): Promise<{ granted: boolean; transition?: BreakerTransition }>;
  /** Every account that was ever called, at `now`. */
  report(now: number): Promise<Map<string, ChannelHealthReport>>;
  close(): Promise<void>;
}

/** Compare-and-set attempts before a write gives up (each loser re-reads: only a storm exhausts them). */
export const CAS_ATTEMPTS = 20;

/** What the compare-and-set loop of both stores needs from one of them. */
export interface BreakerCas {
  read(channelId: string): Promise<BreakerRecord>;
  /** Writes `next` if the stored version is still `expected`; false when another writer was first. */
  write(channelId: string, expected: number, next: BreakerRecord): Promise<boolean>;
}

/**
 * Applies `decide` to the current record until its write wins; `decide` returns the record unchanged
 * to write nothing. Returns the record before and after.
 */
export async function updateBreaker(
  cas: BreakerCas,
  channelId: string,
  decide: (current: BreakerRecord, attempt: number) => Promise<BreakerRecord> | BreakerRecord,
  first?: BreakerRecord,
): Promise<{ before: BreakerRecord; after: BreakerRecord }> {
  let current = first ?? (await cas.read(channelId));
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const next = await decide(current, attempt);
    if (next === current || (await cas.write(channelId, current.version, next))) return { before: current, after: next };
    current = await cas.read(channelId);
  }
  throw new Error(`breaker of ${channelId}: ${CAS_ATTEMPTS} concurrent writers in a row`);
}

/** Claims one of a half-open breaker's probes (an open one past its cool-down turns half-open first). */
export async function claimBreakerProbe(
  cas: BreakerCas,
  channelId: string,
  now: number,
  s: BreakerSettings,
): Promise<{ granted: boolean; transition?: BreakerTransition }> {
  let granted = false;
  const { before, after } = await updateBreaker(cas, channelId, (current) => {
    const claim = claimProbe(current, now, s);
    granted = claim.granted;
    return claim.record;
  });
  return { granted, transition: transitionOf(channelId, before, after, now) };
}

/** A change of the stored state (an open breaker past its cool-down is stored OPEN until a probe is claimed). */
export function transitionOf(channelId: string, before: BreakerRecord, after: BreakerRecord, now: number): BreakerTransition | undefined {
  return before.state === after.state ? undefined : { channelId, from: before.state, to: after.state, at: now };
}

/** How long calls are kept: the longer of the two windows, and a margin for clocks. */
export const retentionMs = (s: HealthSettings) => Math.max(s.breaker.windowMs, s.routingWindow.ms) + 60_000;
const PRUNE_EVERY_MS = 30_000;

interface BreakerRow {
  state: BreakerRecord['state'];
  changed_at: Date;
  consecutive_failures: number;
  probes: number;
  version: number;
}

/** Windows start no earlier than when the breaker closed (see closedSince in domain/routing/breaker.ts). */
const closedSince = (b: Sql) => sql`CASE WHEN ${b}.state = 'CLOSED' THEN ${b}.changed_at ELSE 'epoch'::timestamp END`;

const recordOf = (row: BreakerRow | undefined): BreakerRecord =>
  row
    ? { state: row.state, changedAt: row.changed_at.getTime(), consecutiveFailures: row.consecutive_failures, probes: row.probes, version: row.version }
    : NEW_BREAKER;

export function pgChannelHealth(run: RunSql, settings: HealthSettings): ChannelHealthStore {
  const s = settings.breaker;
  let prunedAt = 0;

  const cas: BreakerCas = {
    async read(channelId) {
      const [row] = await run<BreakerRow>(sql`SELECT state, changed_at, consecutive_failures, probes, version
        FROM channel_breakers WHERE channel_id = ${channelId}::text`);
      return recordOf(row);
    },
    async write(channelId, expected, b) {
      const written = await run(sql`
        INSERT INTO channel_breakers (channel_id, state, changed_at, consecutive_failures, probes, version)
        VALUES (${channelId}::text, ${b.state}::text, ${new Date(b.changedAt)}::timestamp, ${b.consecutiveFailures}::int,
          ${b.probes}::int, ${b.version}::int)
        ON CONFLICT (channel_id) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at,
          consecutive_failures = excluded.consecutive_failures, probes = excluded.probes, version = excluded.version
        WHERE channel_breakers.version = ${expected}::int
        RETURNING version`);
      return written.length === 1;
    },
  };

  /** The breaker's window counts at `now` (the calls stored so far). */
  const windowOf = async (channelId: string, b: BreakerRecord, now: number): Promise<WindowCounts> => {
    const [row] = await run<WindowCounts>(sql`
      SELECT count(*)::int AS calls, count(*) FILTER (WHERE outcome = 'FAILED')::int AS failures
      FROM channel_call_outcomes WHERE channel_id = ${channelId}::text AND at >= ${new Date(windowStart(b, now, s))}::timestamp`);
    return row!;
  };

  const prune = async (now: number) => {
    if (now - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now;
    await run(sql`DELETE FROM channel_call_outcomes WHERE at < ${new Date(now - retentionMs(settings))}::timestamp`);
  };

  return {
    async record(call) {
      const ok = call.outcome !== 'FAILED';
      // One statement on the usual path: store the call, read the breaker and its window (this call
      // is not visible to the statement that inserts it: counted by hand).
      const [row] = await run<BreakerRow & { calls: number; failures: number; known: boolean }>(sql`
        WITH stored AS (
          INSERT INTO channel_call_outcomes (channel_id, operation, outcome, latency_ms, at)
          VALUES (${call.channelId}::text, ${call.operation}::text, ${call.outcome}::text, ${call.latencyMs}::int, ${new Date(call.at)}::timestamp)
        ), b AS (
          SELECT state, changed_at, consecutive_failures, probes, version FROM channel_breakers WHERE channel_id = ${call.channelId}::text
        )
        SELECT b.*, (b.version IS NOT NULL) AS known, w.calls, w.failures
        FROM (SELECT 1) one LEFT JOIN b ON true CROSS JOIN LATERAL (
          SELECT count(*)::int AS calls, count(*) FILTER (WHERE o.outcome = 'FAILED')::int AS failures
          FROM channel_call_outcomes o
          WHERE o.channel_id = ${call.channelId}::text
            AND o.at >= greatest(${new Date(call.at - s.windowMs)}::timestamp, ${closedSince(sql`b`)})
        ) w`);
      const first = recordOf(row!.known ? row : undefined);
      const { before, after } = await updateBreaker(
        cas,
        call.channelId,
        async (current, attempt) => {
          const window =
            attempt === 0 && current === first
              ? { calls: row!.calls + 1, failures: row!.failures + (ok ? 0 : 1) }
              : await windowOf(call.channelId, current, call.at);
          const next = afterOutcome(current, ok, window, call.at, s);
          // A first call creates the account's row, so reports list it.
          return next === current && current.version === 0 ? { ...current, version: 1 } : next;
        },
        first,
      );
      await prune(call.at);
      return transitionOf(call.channelId, before, after, call.at);
    },

    claimProbe: (channelId, now) => claimBreakerProbe(cas, channelId, now, s),

    async report(now) {
      const { attempts, ms } = settings.routingWindow;
      const rows = await run<BreakerRow & { channel_id: string; calls: number; failures: number; creates: number; opened: number; p95: number | null }>(sql`
        SELECT b.channel_id, b.state, b.changed_at, b.consecutive_failures, b.probes, b.version,
          w.calls, w.failures, r.creates, r.opened, r.p95
        FROM channel_breakers b
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS calls, count(*) FILTER (WHERE o.outcome = 'FAILED')::int AS failures
          FROM channel_call_outcomes o
          WHERE o.channel_id = b.channel_id AND o.at >= greatest(${new Date(now - s.windowMs)}::timestamp, ${closedSince(sql`b`)})
        ) w
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS creates, count(*) FILTER (WHERE c.outcome = 'OK')::int AS opened,
            percentile_disc(0.95) WITHIN GROUP (ORDER BY c.latency_ms) AS p95
          FROM (
            SELECT o.outcome, o.latency_ms FROM channel_call_outcomes o
            WHERE o.channel_id = b.channel_id AND o.operation = 'create'
              AND o.at >= greatest(${new Date(now - ms)}::timestamp, ${closedSince(sql`b`)})
            ORDER BY o.at DESC LIMIT ${attempts}::int
          ) c
        ) r
        ORDER BY b.channel_id`);
      return new Map(
        rows.map((row) => [
          row.channel_id,
          {
            channelId: row.channel_id,
            breaker: recordOf(row),
            window: { calls: row.calls, failures: row.failures },
            creates: { attempts: row.creates, successes: row.opened },
            ...(row.p95 !== null && { createLatencyP95Ms: row.p95 }),
          },
        ]),
      );
    },

    async close() {},
  };
}
