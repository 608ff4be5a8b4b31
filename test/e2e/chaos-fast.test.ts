import { FAST_DRILLS, formatReport, runDrill } from '../../bench/lib/drills';

/**
 * The fault drills short enough for CI (`npm run chaos` runs them all): each starts the worker and
 * the API as real processes on a Temporal dev server of its own (with TEMPORAL_MODE=server: on the
 * run's real Temporal server, on task queues of its own), breaks something, and checks that no money
 * or goods were lost or doubled.
 */
const databaseUrl = (() => {
  // The global setup points DATABASE_URL at this run's test database; the drills get a sibling.
  const url = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/payments_test');
  url.pathname = `${url.pathname}_chaos`;
  return url.toString();
})();

describe('fault drills (fast)', () => {
  it.each(FAST_DRILLS)('%s keeps every invariant', async (drill) => {
    const lines: string[] = [];
    // Half the counts of `npm run chaos`: the same faults, within CI's time.
    const engine = process.env.TEMPORAL_MODE === 'server' ? { engine: 'server' as const, temporalAddress: process.env.TEMPORAL_ADDRESS } : {};
    const report = await runDrill(drill, { databaseUrl, scale: 0.5, log: (msg) => lines.push(msg), ...engine });
    const failed = report.invariants.filter((i) => !i.ok);
    if (failed.length) console.log(`${lines.join('\n')}\n${formatReport(report)}`);
    expect(failed).toEqual([]);
    expect(report.counts.paid).toBeGreaterThan(0);
  }, 400_000);
});
