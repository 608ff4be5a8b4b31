import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { api, messageOf, type Answer } from '../client/api';
import { ActionDialog } from '../components/ActionDialog';
import { DateField, ErrorState, Filters, LoadedView, SelectField, TextField } from '../components/View';
import { isoDay, useEvery, useFilters, useLoad } from '../hooks';
import { formatMoney } from '../money';
import { can, useSession } from '../session';

type Runs = Answer<'/v1/finance/reconciliations'>;
type Run = Answer<'/v1/finance/reconciliations/{runId}'>;
type Difference = Run['differences'][number];
const FOLLOW_MS = 1500;
const KINDS: Difference['kind'][] = ['MISSING_IN_PLATFORM', 'MISSING_IN_CHANNEL', 'AMOUNT_MISMATCH', 'STATUS_MISMATCH', 'FEE_MISMATCH', 'CROSS_DAY', 'PAID_NOT_GRANTED', 'GRANTED_NOT_PAID'];
const RESOLUTIONS: Difference['resolution'][] = ['OPEN', 'HELD_CROSS_DAY', 'AUTO_REPAIRED', 'RESOLVED'];

const counts = (byKind: Record<string, number> | undefined) =>
  Object.entries(byKind ?? {})
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '—';

/** Reconciliation runs by day and account; *Rerun* a day or a range, followed live until done. */
export function ReconciliationPage() {
  const { session } = useSession();
  const { values: f, apply, key } = useFilters({ channel: '', date: '', from: '', to: '' });
  const runs = useLoad<Runs>(
    () =>
      api.GET('/v1/finance/reconciliations', {
        params: { query: { channel: f.channel || undefined, date: f.date || undefined, from: f.from || undefined, to: f.to || undefined, limit: 100 } },
      }),
    key,
  );
  const running = runs.data?.runs.some((r) => r.status === 'RUNNING') ?? false;
  useEvery(FOLLOW_MS, running, runs.refresh);
  const [rerun, setRerun] = useState<{ error?: string; started?: number; busy?: boolean }>({});

  async function submitRerun(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const fields = new FormData(event.currentTarget);
    setRerun({ busy: true });
    const { data, error } = await api.POST('/v1/finance/reconciliations', {
      params: { header: { 'X-Operator': session.name } },
      body: { channel: String(fields.get('channel')), from: String(fields.get('rerunFrom')), to: String(fields.get('rerunTo') || fields.get('rerunFrom')) },
    });
    setRerun(data ? { started: data.runs.length } : { error: messageOf(error) });
    await runs.refresh();
  }

  return (
    <section>
      <h1>Reconciliation</h1>
      <Filters apply={apply} formKey={key}>
        <TextField name="channel" label="Channel" value={f.channel} />
        <DateField name="date" label="Day" value={f.date} />
        <DateField name="from" label="From" value={f.from} />
        <DateField name="to" label="To" value={f.to} />
      </Filters>
      {can(session, 'finance:act') && (
        <form className="filters" onSubmit={submitRerun} aria-label="Rerun">
          <label>
            Rerun channel <input name="channel" required defaultValue={f.channel || 'sandbox'} />
          </label>
          <label>
            Rerun from <input name="rerunFrom" type="date" required defaultValue={f.date || isoDay(-1)} />
          </label>
          <label>
            Rerun to <input name="rerunTo" type="date" />
          </label>
          <button type="submit" disabled={rerun.busy}>
            Rerun
          </button>
          {rerun.started !== undefined && <span role="status">{rerun.started} run(s) started</span>}
          {rerun.error && (
            <span role="alert" className="error">
              {rerun.error}
            </span>
          )}
        </form>
      )}
      <LoadedView state={runs} loading="Loading runs…" empty={(d) => d.runs.length === 0 && 'No runs match.'}>
        {(data) => (
          <table data-testid="runs-table">
            <caption>Newest first{running && <span className="live"> · following live</span>}</caption>
            <thead>
              <tr>
                <th>Day</th>
                <th>Account</th>
                <th>Status</th>
                <th>Trigger</th>
                <th>Requested by</th>
                <th className="num">Rows read / matched</th>
                <th>Differences</th>
                <th>Run</th>
              </tr>
            </thead>
            <tbody>
              {data.runs.map((r) => (
                <tr key={r.id} className={r.superseded ? 'superseded' : undefined}>
                  <td>{r.date}</td>
                  <td>{r.channel}</td>
                  <td>
                    {r.status}
                    {r.superseded && ' (superseded)'}
                  </td>
                  <td>{r.trigger}</td>
                  <td>{r.requestedBy ?? '—'}</td>
                  <td className="num">
                    {r.progress.rowsRead} / {r.progress.rowsMatched}
                  </td>
                  <td>{counts(r.summary?.differences)}</td>
                  <td>
                    <Link to={`/finance/reconciliation/${r.id}`}>open</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadedView>
    </section>
  );
}

/** One run: progress (live until done), its differences by kind and resolution, *Resolve* with a note. */
export function RunPage() {
  const { runId = '' } = useParams();
  const { session } = useSession();
  const { values: f, apply, key } = useFilters({ kind: '', resolution: '' });
  const run = useLoad<Run>(
    () =>
      api.GET('/v1/finance/reconciliations/{runId}', {
        params: { path: { runId }, query: { kind: (f.kind || undefined) as Difference['kind'] | undefined, resolution: (f.resolution || undefined) as Difference['resolution'] | undefined, limit: 500 } },
      }),
    `${runId}?${key}`,
  );
  useEvery(FOLLOW_MS, run.data?.status === 'RUNNING', run.refresh);
  const [resolving, setResolving] = useState<Difference>();

  async function resolve(fields: FormData): Promise<string | undefined> {
    const { error } = await api.POST('/v1/finance/differences/{differenceId}/resolve', {
      params: { path: { differenceId: resolving!.id }, header: { 'X-Operator': session.name } },
      body: { note: String(fields.get('note') ?? '') },
    });
    await run.refresh();
    return error ? messageOf(error) : undefined;
  }

  if (run.loading) return <p className="skeleton" aria-busy="true">Loading the run…</p>;
  if (run.error || !run.data) return <ErrorState message={run.error ?? 'no run'} retry={run.reload} />;
  const r = run.data;
  return (
    <section>
      <h1>
        Run {r.channel} {r.date}
      </h1>
      <dl className="summary">
        <dt>Status</dt>
        <dd data-testid="run-status">
          {r.status}
          {r.superseded && ' (superseded)'}
          {r.status === 'RUNNING' && <span className="live"> · following live</span>}
        </dd>
        <dt>Trigger</dt>
        <dd>
          {r.trigger}
          {r.requestedBy && ` by ${r.requestedBy}`}
        </dd>
        <dt>Progress</dt>
        <dd>
          {r.progress.rowsRead} rows read, {r.progress.rowsMatched} matched
        </dd>
        <dt>Differences</dt>
        <dd>{counts(r.summary?.differences)}</dd>
        <dt>Resolutions</dt>
        <dd>{counts(r.summary?.resolutions)}</dd>
        {r.error && (
          <>
            <dt>Error</dt>
            <dd className="error">{r.error}</dd>
          </>
        )}
      </dl>
      <Filters apply={apply} formKey={key}>
        <SelectField name="kind" label="Kind" value={f.kind} options={KINDS} />
        <SelectField name="resolution" label="Resolution" value={f.resolution} options={RESOLUTIONS} />
      </Filters>
      {r.differences.length === 0 ? (
        <p>No differences match.</p>
      ) : (
        <table data-testid="differences-table">
          <thead>
            <tr>
              <th>Kind</th>
              <th>Resolution</th>
              <th>Order</th>
              <th>Trade number</th>
              <th className="num">Ours</th>
              <th className="num">Theirs</th>
              <th>Detail</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {r.differences.map((d) => (
              <tr key={d.id}>
                <td>{d.kind}</td>
                <td>
                  {d.resolution}
                  {d.resolvedBy && ` by ${d.resolvedBy}`}
                  {d.note && <div className="detail">{d.note}</div>}
                </td>
                <td>{d.orderId ? <Link to={`/orders/${d.orderId}`}>{d.orderId.slice(0, 8)}…</Link> : '—'}</td>
                <td>{d.channelTradeNo ?? '—'}</td>
                <td className="num">{d.ours ? formatMoney(d.ours) : '—'}</td>
                <td className="num">{d.theirs ? formatMoney(d.theirs) : '—'}</td>
                <td>{d.detail ?? d.reason}</td>
                <td>
                  {can(session, 'finance:act') && d.resolvable && (
                    <button type="button" onClick={() => setResolving(d)}>
                      Resolve
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ActionDialog title="Resolve" open={resolving !== undefined} onClose={() => setResolving(undefined)} submit={resolve} field={{ name: 'note', label: 'Note' }}>
        {resolving && (
          <p>
            {resolving.kind} {resolving.channelTradeNo && `· trade ${resolving.channelTradeNo}`}
          </p>
        )}
      </ActionDialog>
    </section>
  );
}
