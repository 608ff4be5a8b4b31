import { WORKER_ROLES, type WorkerRole } from '../../infra/config';

/**
 * The processes a benchmark or a drill runs: which Temporal engine, how many API processes, and
 * which task queues each worker process serves. Parsed and checked before anything is started.
 */
export const ENGINES = ['dev', 'server'] as const;
export type Engine = (typeof ENGINES)[number];

/** The task queues a worker process can serve: its WORKER_ROLES. */
export const WORKER_QUEUES = WORKER_ROLES;
export type WorkerQueue = WorkerRole;

export interface Topology {
  /** The engines to run, in order (`npm run bench` measures both unless `--temporal` names one). */
  engines: Engine[];
  apis: number;
  /** One entry per worker process: the queues it serves. */
  workers: WorkerQueue[][];
}

export interface TopologyFlags {
  temporal?: string;
  apis?: string;
  workers?: string;
  'worker-queues'?: string;
}

export class TopologyError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid options (nothing was started):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const count = (raw: string | undefined, flag: string, problems: string[]): number | undefined => {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    problems.push(`--${flag} ${raw}: a whole number of at least 1`);
    return undefined;
  }
  return n;
};

/**
 * `--temporal dev|server`, `--apis N`, `--workers M`, `--worker-queues "purchases;fulfillment,finance"`
 * (one group per worker process, `;` between processes, `,` between queues). Every problem is listed
 * at once; `defaultEngines` applies when `--temporal` is absent.
 */
export function parseTopology(flags: TopologyFlags, defaultEngines: Engine[]): Topology {
  const problems: string[] = [];
  let engines = defaultEngines;
  if (flags.temporal !== undefined) {
    if ((ENGINES as readonly string[]).includes(flags.temporal)) engines = [flags.temporal as Engine];
    else problems.push(`--temporal ${flags.temporal}: one of ${ENGINES.join(', ')}`);
  }
  const apis = count(flags.apis, 'apis', problems) ?? 1;
  const workerCount = count(flags.workers, 'workers', problems);
  let workers: WorkerQueue[][] = Array.from({ length: workerCount ?? 1 }, () => [...WORKER_QUEUES]);
  if (flags['worker-queues'] !== undefined) {
    const groups = flags['worker-queues'].split(';').map((g) => g.split(',').map((q) => q.trim()).filter(Boolean));
    const unknown = groups.flat().filter((q) => !(WORKER_QUEUES as readonly string[]).includes(q));
    if (unknown.length) problems.push(`--worker-queues: unknown queue ${unknown.join(', ')} (queues: ${WORKER_QUEUES.join(', ')})`);
    if (groups.some((g) => g.length === 0)) problems.push('--worker-queues: every worker process (between ";") needs at least one queue');
    if (workerCount !== undefined && workerCount !== groups.length) {
      problems.push(`--workers ${workerCount} but --worker-queues names ${groups.length} worker processes`);
    }
    const served = new Set(groups.flat());
    const unserved = WORKER_QUEUES.filter((q) => !served.has(q));
    if (unserved.length) problems.push(`--worker-queues: no worker process serves ${unserved.join(', ')}`);
    workers = groups as WorkerQueue[][];
  }
  if (problems.length) throw new TopologyError(problems);
  return { engines, apis, workers };
}

/** `2 APIs, 2 workers [purchases] [fulfillment,finance]` for reports. */
export function describeTopology(t: Pick<Topology, 'apis' | 'workers'>): string {
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return `${plural(t.apis, 'API')}, ${plural(t.workers.length, 'worker')} ${t.workers.map((q) => `[${q.join(',')}]`).join(' ')}`;
}

/** One measured configuration: an engine and the product processes. */
export interface ThroughputRun {
  engine: Engine;
  apis: number;
  workers: WorkerQueue[][];
  label: string;
}

/**
 * The runs of one `npm run bench`: each engine of `--temporal` (both by default), the real server
 * with one and with two worker processes unless `--workers`/`--worker-queues` say otherwise.
 */
export function throughputRuns(topology: Topology, flags: { workers?: string; 'worker-queues'?: string; 'temporal-address'?: string }): ThroughputRun[] {
  const chosenWorkers = flags.workers !== undefined || flags['worker-queues'] !== undefined;
  const engines = flags['temporal-address'] ? [topology.engines[0]!] : topology.engines;
  return engines.flatMap((engine) => {
    const variants = engine === 'server' && !chosenWorkers && !flags['temporal-address'] ? [topology.workers, [...topology.workers, ...topology.workers]] : [topology.workers];
    return variants.map((workers) => {
      const run = { engine, apis: topology.apis, workers };
      return { ...run, label: `${engine === 'server' ? 'real server' : 'dev server'}, ${describeTopology(run)}` };
    });
  });
}
