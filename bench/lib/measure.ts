import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';

/** Linux reports CPU time in clock ticks; 100 per second on every mainstream kernel config. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcessUsage {
  pid: number;
  /** Peak resident set size (VmHWM), MiB. */
  peakRssMiB: number;
  rssMiB: number;
  /** User + system CPU time since the process started, ms. */
  cpuMs: number;
}

/** Memory and CPU of a live process from /proc; undefined once it is gone. */
export function processUsage(pid: number): ProcessUsage | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { pid, peakRssMiB: kib('VmHWM') / 1024, rssMiB: kib('VmRSS') / 1024, cpuMs: cpuMsOf(pid) };
  } catch {
    return undefined;
  }
}

export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Pids whose command line contains every one of `needles` (e.g. the Temporal dev server on a port). */
export function findPids(...needles: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (needles.every((n) => cmdline.includes(n))) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** Samples a process's resident memory so the report can give the peak of one phase, not of the life. */
export class RssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: () => number | undefined, intervalMs = 200) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }
  sample() {
    const pid = this.pid();
    const usage = pid ? processUsage(pid) : undefined;
    if (usage) this.peak = Math.max(this.peak, usage.rssMiB);
    return this.peak;
  }
  stop(): number {
    clearInterval(this.timer);
    return this.sample();
  }
}

export function percentile(sortedOrUnsorted: number[], p: number): number {
  if (sortedOrUnsorted.length === 0) return NaN;
  const sorted = [...sortedOrUnsorted].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: number[]): LatencySummary {
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    count: values.length,
    p50: round(percentile(values, 50)),
    p95: round(percentile(values, 95)),
    p99: round(percentile(values, 99)),
    max: round(values.length ? Math.max(...values) : NaN),
  };
}

export interface MachineDescription {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  postgres?: string;
  temporal?: string;
  loadAverageAtStart: number[];
}

export function describeMachine(extra: { postgres?: string; temporalCli?: string } = {}): MachineDescription {
  let temporal: string | undefined;
  if (extra.temporalCli) {
    try {
      temporal = execFileSync(extra.temporalCli, ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      temporal = undefined;
    }
  }
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: extra.postgres,
    temporal,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** One histogram from Prometheus text exposition: cumulative bucket counts by upper bound. */
export interface PromHistogram {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/**
 * Parses the histograms of a Prometheus /metrics page whose labels match `labelFilter`,
 * summed over every other label (e.g. all task queues of one activity type).
 */
export function parsePromHistogram(text: string, name: string, labelFilter: Record<string, string> = {}): PromHistogram {
  const buckets = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, metric, labelText = '', value] = match;
    if (!metric!.startsWith(name)) continue;
    const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (!Object.entries(labelFilter).every(([k, v]) => labels[k] === v)) continue;
    const suffix = metric!.slice(name.length);
    if (suffix === '_bucket') {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(value));
    } else if (suffix === '_sum') sum += Number(value);
    else if (suffix === '_count') count += Number(value);
  }
  return { buckets: [...buckets].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le), sum, count };
}

/** Difference of two scrapes of one cumulative histogram: what happened between them. */
export function histogramDelta(after: PromHistogram, before: PromHistogram): PromHistogram {
  const prior = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prior.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** The quantile's bucket upper bound (Prometheus-style, no interpolation: an honest upper estimate). */
export function histogramQuantile(h: PromHistogram, q: number): number {
  if (h.count === 0) return NaN;
  const target = q * h.count;
  for (const b of h.buckets) if (b.count >= target) return b.le;
  return Infinity;
}
