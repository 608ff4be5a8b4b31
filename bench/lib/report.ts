import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../scripts/lib/temporal-cli';
import { args, log } from './args';
import type { LatencySummary, describeMachine } from './measure';

const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

export function target(name: string, met: boolean, measured: string) {
  return { name, met, measured };
}

export function finish(name: string, result: object, markdown: string) {
  console.log(`\n${markdown}`);
  if (args['no-write']) return;
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(RESULTS_DIR, `${name}.md`), markdown);
  log(`wrote bench/results/${name}.json and .md`);
}

export function machineLine(m: ReturnType<typeof describeMachine> & { loadAverageAtEnd: number[] }) {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}, PostgreSQL ${m.postgres}, ${m.temporal}; load average ${m.loadAverageAtStart.join(' / ')} at start, ${m.loadAverageAtEnd.join(' / ')} at end`;
}

export const answersLine = (a: Record<string, number>) => Object.entries(a).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
export const ms = (s: LatencySummary) => `p50 ${s.p50} · p95 ${s.p95} · p99 ${s.p99} · max ${s.max}`;
export const targetsTable = (targets: { name: string; met: boolean; measured: string }[]) =>
  ['| Target | Measured | Met |', '| --- | --- | --- |', ...targets.map((t) => `| ${t.name} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`)].join('\n');

