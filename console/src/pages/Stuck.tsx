import { Link } from 'react-router';
import { api, type Answer } from '../client/api';
import { Filters, LoadedView, TextField } from '../components/View';
import { useFilters, useLoad } from '../hooks';
import { useSession } from '../session';

type Stuck = Answer<'/v1/ops/stuck'>;
type Revocations = Answer<'/v1/ops/revocations'>;

/** Activities failing longer than the threshold (longest first) and revocations awaiting a person. */
export function StuckPage() {
  const { session } = useSession();
  const header = { 'X-Operator': session.name };
  const { values: f, apply, key } = useFilters({ olderThanSeconds: '300' });
  const stuck = useLoad<Stuck>(() => api.GET('/v1/ops/stuck', { params: { header, query: { olderThanSeconds: Number(f.olderThanSeconds) || 0, limit: 200 } } }), key);
  const revocations = useLoad<Revocations>(() => api.GET('/v1/ops/revocations', { params: { header, query: { status: 'NO_REVOKE_URL', limit: 200 } } }), 'waiting');
  const rows = [...(stuck.data?.stuck ?? [])].sort((a, b) => a.failingSince.localeCompare(b.failingSince));
  return (
    <section>
      <h1>Stuck</h1>
      <Filters apply={apply} formKey={key}>
        <TextField name="olderThanSeconds" label="Failing for at least (seconds)" type="number" min={0} value={f.olderThanSeconds} />
      </Filters>
      <h2>Failing activities</h2>
      <LoadedView state={stuck} loading="Loading…" empty={() => rows.length === 0 && 'Nothing has been failing that long.'}>
        {() => (
          <table data-testid="stuck-table">
            <caption>Longest first</caption>
            <thead>
              <tr>
                <th>Order</th>
                <th>Activity</th>
                <th className="num">Attempts</th>
                <th>Failing since</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={`${s.workflowId}-${s.activity}`}>
                  <td>{s.orderId ? <Link to={`/orders/${s.orderId}`}>{s.orderId}</Link> : <code>{s.workflowId}</code>}</td>
                  <td>{s.activity}</td>
                  <td className="num">{s.attempts}</td>
                  <td>{s.failingSince.replace('T', ' ').slice(0, 19)}</td>
                  <td>{s.lastError}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadedView>
      <h2>Revocations awaiting a person</h2>
      <p>Refunded orders whose game has no revoke URL: take the goods back by hand.</p>
      <LoadedView state={revocations} loading="Loading…" empty={(d) => d.revocations.length === 0 && 'None.'}>
        {(data) => (
          <table data-testid="revocations-table">
            <thead>
              <tr>
                <th>Order</th>
                <th>Reason</th>
                <th className="num">Attempts</th>
                <th>Since</th>
              </tr>
            </thead>
            <tbody>
              {data.revocations.map((r) => (
                <tr key={r.revocationId}>
                  <td>
                    <Link to={`/orders/${r.orderId}`}>{r.orderId}</Link>
                  </td>
                  <td>{r.reason}</td>
                  <td className="num">{r.attempts}</td>
                  <td>{r.createdAt.replace('T', ' ').slice(0, 19)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadedView>
    </section>
  );
}
