import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/temporal-cli';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  windowMs: number;
  /** Samples in which the thread was not idle (includes time it waited for a CPU on a busy machine). */
  sampledMs: number;
  /** Share of on-CPU samples by where the code lives: a package, one of our folders, node internals, GC. */
  byArea: { area: string; percent: number }[];
  topFunctions: { fn: string; percent: number }[];
  /**
   * Busy samples charged to the innermost function of this repository on the stack (libraries below
   * it included). After an `await` the stack no longer shows its caller, so much stays unattributed.
   */
  byOwnCaller: { fn: string; percent: number }[];
}

/**
 * The profiles `node --cpu-prof` wrote at the exit of `pid`, one per thread
 * (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile): the worker runs its workflows in a worker thread.
 */
export function profilesOfPid(dir: string, pid: number): { thread: number; file: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(pid))
    .map((f) => ({ thread: Number(f.split('.')[4]), file: path.join(dir, f) }))
    .sort((a, b) => a.thread - b.thread);
}

/**
 * Self time of a `node --cpu-prof` profile within a window given in ms before the profile's end (the
 * measured phase, not the start-up), grouped by area, by function and by our calling function.
 */
export function summarizeProfile(file: string, window: { fromMsBeforeEnd: number; toMsBeforeEnd: number }, top = 12): ProfileSummary {
  const windowMs = window.fromMsBeforeEnd - window.toMsBeforeEnd;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const ownCaller = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = nodes.get(at)!.callFrame;
      const url = shortUrl(f.url);
      if (f.url && !url.includes('node_modules/') && !url.startsWith('node:') && !url.startsWith('generated/') && url.endsWith('.ts')) {
        return `${f.functionName || '(anonymous)'} ${url}`;
      }
    }
    return '(no frame of ours on the stack)';
  };
  const byCaller = new Map<string, number>();
  const since = profile.endTime - window.fromMsBeforeEnd * 1000;
  const until = profile.endTime - window.toMsBeforeEnd * 1000;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let t = profile.startTime;
  let counted = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < since || t > until) continue;
    const frame = nodes.get(profile.samples[i]!)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    counted++;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const fn = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + 1);
    const caller = ownCaller(profile.samples[i]!);
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + 1);
    const area = areaOf(frame);
    byArea.set(area, (byArea.get(area) ?? 0) + 1);
  }
  const percent = (n: number) => Math.round((1000 * n) / Math.max(counted, 1)) / 10;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  const interval = profile.samples.length ? (profile.endTime - profile.startTime) / profile.samples.length / 1000 : 0;
  return {
    file: path.relative(REPO_ROOT, file),
    windowMs,
    sampledMs: Math.round(counted * interval),
    byArea: sorted(byArea).slice(0, top).map(([area, n]) => ({ area, percent: percent(n) })),
    topFunctions: sorted(byFunction).slice(0, top).map(([fn, n]) => ({ fn, percent: percent(n) })),
    byOwnCaller: sorted(byCaller).slice(0, top).map(([fn, n]) => ({ fn, percent: percent(n) })),
  };
}

function shortUrl(url: string): string {
  const local = url.replace(/^file:\/\//, '');
  return local.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, local) : local;
}

function areaOf(frame: CpuProfileNode['callFrame']): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const url = shortUrl(frame.url);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  if (url.startsWith('generated/')) return 'generated (Prisma client)';
  return url.split('/')[0]!.endsWith('.ts') ? url : `${url.split('/')[0]}/`;
}
