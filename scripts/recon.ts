import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { loadConfig } from '../infra/config';
import { ApiClient } from '../testkit/api-client';

/**
 * Finance's reconciliation CLI: `npm run recon -- --channel sandbox --from 2026-11-01 --to 2026-11-07`.
 * Starts the runs through the API (a rerun supersedes a day's earlier result), shows a progress bar
 * per day, prints the summary, and exits 0 when nothing is left open, 3 when differences are open,
 * 1 when a run failed or the API refused.
 */
const { values: args } = parseArgs({
  options: {
    channel: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    api: { type: 'string', default: process.env.RECON_API_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}` },
    'poll-ms': { type: 'string', default: '500' },
  },
});

interface Run {
  id: string;
  date: string;
  status: 'RUNNING' | 'COMPLETED' | 'FAILED';
  progress: { rowsRead: number; rowsMatched: number };
  summary?: { statementRows: number; platformRows: number; matched: number; differences: Record<string, number>; resolutions: Record<string, number> };
  error?: string;
}

const EXIT = { clean: 0, failed: 1, open: 3 } as const;

async function main(): Promise<number> {
  if (!args.channel || !args.from) {
    console.error('usage: npm run recon -- --channel <channel account> --from YYYY-MM-DD [--to YYYY-MM-DD] [--api URL]');
    return EXIT.failed;
  }
  const api = new ApiClient(args.api!.replace(/\/$/, ''), loadConfig().ADMIN_TOKEN);
  const operator = { 'X-Operator': `cli:${os.userInfo().username}` };
  const started = await api.admin('POST', '/v1/finance/reconciliations', { channel: args.channel, from: args.from, to: args.to ?? args.from }, undefined, operator);
  if (started.status !== 202) {
    console.error(`refused: ${started.status} ${started.body?.error?.code ?? ''} ${started.body?.error?.message ?? JSON.stringify(started.body)}`);
    return EXIT.failed;
  }
  const ids: string[] = started.body.runs.map((r: { id: string }) => r.id);

  const bars = new MultiBar(
    { format: ' {date} |{bar}| {value} lines read, {matched} matched | {status}', hideCursor: true, clearOnComplete: false },
    Presets.shades_classic,
  );
  const barOf = new Map<string, SingleBar>(
    started.body.runs.map((r: Run) => [r.id, bars.create(1, 0, { date: r.date, matched: 0, status: 'RUNNING' })]),
  );
  const runs = new Map<string, Run>();
  while ([...ids].some((id) => runs.get(id)?.status !== 'COMPLETED' && runs.get(id)?.status !== 'FAILED')) {
    for (const id of ids) {
      const answer = await api.admin('GET', `/v1/finance/reconciliations/${id}?limit=1`);
      if (answer.status !== 200) continue; // the API restarting: asked again next round
      const run = answer.body as Run;
      runs.set(id, run);
      const total = Math.max(1, run.summary?.statementRows ?? run.progress.rowsRead);
      barOf.get(id)!.setTotal(total);
      barOf.get(id)!.update(run.status === 'COMPLETED' ? total : run.progress.rowsRead, { matched: run.progress.rowsMatched, status: run.status });
    }
    await sleep(Number(args['poll-ms']));
  }
  bars.stop();

  const done = ids.map((id) => runs.get(id)!);
  printSummary(done);
  const open = done.reduce((n, r) => n + (r.summary?.resolutions.OPEN ?? 0), 0);
  if (done.some((r) => r.status === 'FAILED')) return EXIT.failed;
  return open > 0 ? EXIT.open : EXIT.clean;
}

function printSummary(runs: Run[]) {
  const kinds = [...new Set(runs.flatMap((r) => Object.keys(r.summary?.differences ?? {})))].sort();
  const header = ['date', 'status', 'statement', 'ours', 'matched', 'open', 'held', 'repaired', ...kinds];
  const rows = runs.map((r) => [
    r.date,
    r.status,
    String(r.summary?.statementRows ?? '-'),
    String(r.summary?.platformRows ?? '-'),
    String(r.summary?.matched ?? '-'),
    String(r.summary?.resolutions.OPEN ?? 0),
    String(r.summary?.resolutions.HELD_CROSS_DAY ?? 0),
    String(r.summary?.resolutions.AUTO_REPAIRED ?? 0),
    ...kinds.map((k) => String(r.summary?.differences[k] ?? 0)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}`);
  for (const r of runs.filter((run) => run.error)) console.log(`${r.date}: ${r.error}`);
  console.log(`\nruns: ${runs.map((r) => r.id).join(', ')} (GET /v1/finance/reconciliations/{id} lists the differences)`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(EXIT.failed);
  },
);
