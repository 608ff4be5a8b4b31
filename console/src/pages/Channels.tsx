import { api, type Answer } from '../client/api';
import { ErrorState } from '../components/View';
import { useEvery, useLoad } from '../hooks';

type Health = Answer<'/v1/admin/channels/health'>;
/** The breakers change within seconds: polled this often, the page never reloads. */
export const CHANNELS_POLL_MS = 3000;

/** Every channel account: type, enabled, breaker, calls, failures, success rate and create latency, live. */
export function ChannelsPage() {
  const health = useLoad<Health>(() => api.GET('/v1/admin/channels/health'), 'health');
  useEvery(CHANNELS_POLL_MS, !health.error, health.refresh);
  return (
    <section>
      <h1>Channels</h1>
      {health.loading && <p className="skeleton" aria-busy="true">Loading…</p>}
      {health.error && <ErrorState message={health.error} retry={health.reload} />}
      {health.data && health.data.channels.length === 0 && <p>No channel accounts.</p>}
      {health.data && health.data.channels.length > 0 && (
        <table data-testid="channels-table">
          <caption>
            Live (every {CHANNELS_POLL_MS / 1000} s; breakers in {health.data.backend}), checked <time dateTime={health.data.checkedAt}>{health.data.checkedAt.slice(11, 19)}</time> UTC
          </caption>
          <thead>
            <tr>
              <th>Account</th>
              <th>Type</th>
              <th>Enabled</th>
              <th>Breaker</th>
              <th className="num">Calls</th>
              <th className="num">Failures</th>
              <th className="num">Success rate</th>
              <th className="num">Create p95, ms</th>
            </tr>
          </thead>
          <tbody>
            {health.data.channels.map((c) => (
              <tr key={c.channelId}>
                <td>{c.channelId}</td>
                <td>{c.type ?? '—'}</td>
                <td>{c.enabled === undefined ? '—' : c.enabled ? 'yes' : 'no'}</td>
                <td className={c.state === 'CLOSED' ? undefined : 'warn'}>{c.state}</td>
                <td className="num">{c.calls}</td>
                <td className="num">{c.failures}</td>
                <td className="num">{c.successRate === undefined ? '—' : `${(c.successRate * 100).toFixed(1)} %`}</td>
                <td className="num">{c.createLatencyP95Ms ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
