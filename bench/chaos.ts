import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, resolveTemporalCli } from '../scripts/lib/temporal-cli';
import { DRILLS, FAST_DRILLS, formatReport, runDrill, type DrillReport } from './lib/drills';
import { stopStacksOnSignal } from './lib/launcher';
import { describeMachine } from './lib/measure';
import { TopologyError, parseTopology } from './lib/topology';
import { TEMPORAL_SERVER_VERSION, resolveTemporalServer } from '../scripts/lib/temporal-server';

/**
 * `npm run chaos [-- --fast | --drill NAME ...]`: each drill runs the real processes, breaks one
 * thing, and checks the invariants of money and goods at the end. Exits non-zero if any fails.
 */
const { values: args } = parseArgs({
  options: {
    drill: { type: 'string', multiple: true },
    fast: { type: 'boolean', default: false },
    'database-url': { type: 'string', default: process.env.CHAOS_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/payments_chaos' },
    'no-write': { type: 'boolean', default: false },
    /** dev (default) or server: the Temporal engine every drill starts. */
    temporal: { type: 'string' },
    /** API and worker processes of the drills that do not set their own. */
    apis: { type: 'string' },
    workers: { type: 'string' },
    'worker-queues': { type: 'string' },
    /** Multiplies every drill's purchase counts (a loaded machine: 0.25). */
    scale: { type: 'string', default: '1' },
  },
});

const log = (msg: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function main() {
  // Bad flags stop here, before anything is started.
  const topology = parseTopology(args, ['dev']);
  const names = args.drill ?? (args.fast ? FAST_DRILLS : Object.keys(DRILLS));
  const unknown = names.filter((name) => !DRILLS[name]);
  if (unknown.length) throw new TopologyError([`--drill ${unknown.join(', ')}: drills are ${Object.keys(DRILLS).join(', ')}`]);
  if (!(Number(args.scale) > 0)) throw new TopologyError([`--scale ${args.scale}: a number above 0`]);
  stopStacksOnSignal();
  const engine = topology.engines[0]!;
  const machine = describeMachine({ temporalCli: engine === 'dev' ? await resolveTemporalCli(log) : undefined });
  if (engine === 'server') {
    await resolveTemporalServer(log);
    machine.temporal = `Temporal server ${TEMPORAL_SERVER_VERSION} on PostgreSQL (a fresh one per drill)`;
  }
  const reports: DrillReport[] = [];
  for (const name of names) {
    log(`drill ${name} (Temporal ${engine === 'server' ? 'server on PostgreSQL' : 'dev server'}): ${DRILLS[name]?.title ?? '?'}`);
    const report = await runDrill(name, {
      databaseUrl: args['database-url']!,
      log,
      engine,
      scale: Number(args.scale),
      apis: args.apis ? topology.apis : undefined,
      workers: args.workers || args['worker-queues'] ? topology.workers : undefined,
    });
    console.log(formatReport(report));
    reports.push(report);
  }
  const passed = reports.filter((r) => r.passed).length;
  console.log(`\nchaos: ${passed} passed, ${reports.length - passed} failed`);
  if (!args['no-write']) {
    const dir = path.join(REPO_ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const date = new Date().toISOString();
    writeFileSync(path.join(dir, 'chaos.json'), `${JSON.stringify({ date, machine, reports }, null, 2)}\n`);
    writeFileSync(path.join(dir, 'chaos.md'), chaosMarkdown(date, machine, reports));
    log('wrote bench/results/chaos.json and .md');
  }
  process.exit(passed === reports.length ? 0 : 1);
}

function chaosMarkdown(date: string, machine: ReturnType<typeof describeMachine>, reports: DrillReport[]): string {
  const rows = reports.map((r) => {
    const c = r.counts;
    const failed = r.invariants.filter((i) => !i.ok).map((i) => `${i.name}: ${i.detail}`);
    return `| ${r.drill} | ${c.orders} | ${c.delivered} | ${c.refunded} | ${c.duplicatesSeenByGameServer} | ${r.seconds} s | ${r.passed ? 'pass' : `**fail** — ${failed.join('; ')}`} |`;
  });
  return `${[
    `### Fault drills — ${date.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.temporal}; load average ${machine.loadAverageAtStart.join(' / ')} at start.`,
    '',
    '| Drill | Orders | Delivered | Refunded | Duplicates seen by the game server | Time | Invariants |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...reports.map((r) => ['```', formatReport(r), '```'].join('\n')),
  ].join('\n')}\n`;
}

main().catch((err) => {
  console.error(err instanceof TopologyError ? err.message : err);
  process.exit(err instanceof TopologyError ? 2 : 1);
});
