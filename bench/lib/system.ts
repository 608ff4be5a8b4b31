import { performance } from 'node:perf_hooks';
import type { ManagedProcess, Stack } from './launcher';
import { cpuMsOf, histogramDelta, histogramQuantile, parsePromHistogram } from './measure';

/** CPU of every process of the system, for CPU per purchase. */
export interface CpuSnapshot {
  at: number;
  byProcess: Record<string, number>;
}

export async function postgresBackendPids(stack: Stack): Promise<number[]> {
  const name = decodeURIComponent(new URL(stack.options.databaseUrl).pathname.slice(1));
  const { rows } = await stack.db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
  return rows.map((r) => r.pid);
}

/** The real Temporal server's own PostgreSQL backends (`<db>_temporal`, `<db>_temporal_visibility`). */
async function temporalPostgresBackendPids(stack: Stack): Promise<number[]> {
  if (stack.engine !== 'server') return [];
  const name = decodeURIComponent(new URL(stack.options.databaseUrl).pathname.slice(1));
  const { rows } = await stack.db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = ANY($1)', [[`${name}_temporal`, `${name}_temporal_visibility`]]);
  return rows.map((r) => r.pid);
}

export async function cpuSnapshot(stack: Stack, extra: Record<string, ManagedProcess> = {}): Promise<CpuSnapshot> {
  // Stopped product processes (during the floor) simply have no pid.
  const byProcess: Record<string, number> = {};
  const add = (name: string, pid: number | undefined) => {
    if (pid) byProcess[name] = cpuMsOf(pid);
  };
  for (const p of stack.processes()) add(p.name, p.pid);
  add('temporal', stack.temporalPid());
  for (const [name, p] of Object.entries(extra)) add(name, p.pid);
  for (const pid of await postgresBackendPids(stack)) byProcess[`pg:${pid}`] = cpuMsOf(pid);
  for (const pid of await temporalPostgresBackendPids(stack)) byProcess[`pg-temporal:${pid}`] = cpuMsOf(pid);
  const self = process.cpuUsage();
  byProcess['bench (load generator, game server)'] = (self.user + self.system) / 1000;
  return { at: performance.now(), byProcess };
}

/** Adds the CPU each process used between two snapshots to `acc`, for the processes `counted` names. */
export function addCpu(acc: Record<string, number>, before: CpuSnapshot, after: CpuSnapshot, counted: (name: string) => boolean) {
  for (const [name, end] of Object.entries(after.byProcess)) {
    const key = name.startsWith('pg:') ? 'postgresql' : name.startsWith('pg-temporal:') ? 'postgresql (Temporal)' : name;
    if (counted(key)) acc[key] = (acc[key] ?? 0) + (end - (before.byProcess[name] ?? 0));
  }
}

export function perUnit(acc: Record<string, number>, units: number): Record<string, number> {
  const total = Object.values(acc).reduce((a, b) => a + b, 0);
  return { ...Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, round(v / units, 2)])), total: round(total / units, 2) };
}

export async function postgresVersion(stack: Stack): Promise<string | undefined> {
  const { rows } = await stack.db.query<{ server_version: string }>('SHOW server_version');
  return rows[0]?.server_version;
}

export async function pgCounters(stack: Stack) {
  const name = decodeURIComponent(new URL(stack.options.databaseUrl).pathname.slice(1));
  const { rows } = await stack.db.query(
    'SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched FROM pg_stat_database WHERE datname = $1',
    [name],
  );
  return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([k, v]) => [k, Number(v)]));
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

/** protobuf Timestamp as decoded ({ seconds, nanos }, seconds possibly a Long) or as serde JSON. */
export function timestampMs(ts: unknown): number | undefined {
  if (!ts || typeof ts !== 'object') return undefined;
  const t = ts as { seconds?: unknown; nanos?: unknown };
  const seconds = typeof t.seconds === 'object' && t.seconds !== null ? Number(String(t.seconds)) : Number(t.seconds ?? 0);
  return seconds * 1000 + Number(t.nanos ?? 0) / 1e6;
}

export async function scrape(url: string): Promise<string> {
  try {
    return await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
  } catch {
    return '';
  }
}

/** Temporal's own view from the worker's metrics: where a purchase waits inside the engine. */
export function temporalBreakdown(before: string, after: string) {
  const h = (name: string, filter: Record<string, string> = {}) =>
    histogramDelta(parsePromHistogram(after, name, filter), parsePromHistogram(before, name, filter));
  const describe = (x: ReturnType<typeof h>) => ({
    count: x.count,
    meanMs: x.count ? round((x.sum / x.count) * 1000, 2) : NaN,
    p99UpperBoundMs: round(histogramQuantile(x, 0.99) * 1000, 1),
  });
  return {
    workflowTaskScheduleToStart: describe(h('temporal_workflow_task_schedule_to_start_latency')),
    workflowTaskExecution: describe(h('temporal_workflow_task_execution_latency')),
    activityScheduleToStart: describe(h('temporal_activity_schedule_to_start_latency')),
    riskCheckLocalActivity: describe(h('temporal_local_activity_execution_latency', { activity_type: 'checkRisk' })),
    deliverOrderActivity: describe(h('temporal_activity_execution_latency', { activity_type: 'deliverOrder' })),
    pollRequests: describe(h('temporal_long_request_latency')),
    requests: describe(h('temporal_request_latency')),
  };
}

export const roundAll = (o: Record<string, number | undefined>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === undefined ? null : round(v)]));

