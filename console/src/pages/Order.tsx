import { useState } from 'react';
import { useParams } from 'react-router';
import { api, messageOf, type Schemas } from '../client/api';
import { ActionDialog } from '../components/ActionDialog';
import { ErrorState } from '../components/View';
import { orderAnswer } from '../first-load';
import { useEvery, useLoad } from '../hooks';
import { formatMoney, majorUnits, digitsOf } from '../money';
import { can, useSession } from '../session';

type Story = Schemas['OpsOrderStory'];
type Action = Story['actions'][number];
/** Statuses that still move on their own: the page follows them. */
const MOVING = new Set(['PENDING_PAYMENT', 'PAID', 'DELIVERING']);
const FOLLOW_MS = 1500;
const TITLES: Record<Action, string> = { RETRY_DELIVERY: 'Retry delivery', REFUND: 'Refund', RESOLVE: 'Resolve', CLOSE: 'Close' };

export function OrderPage() {
  const { orderId = '' } = useParams();
  const { session } = useSession();
  const story = useLoad<Story>(() => orderAnswer(orderId), orderId);
  const [dialog, setDialog] = useState<Action>();
  const header = { 'X-Operator': session.name };

  const status = story.data?.order.status;
  // After an action the order may move later (a refund of a delivered order runs on its own): followed
  // until its status changes, for at most a minute.
  const [awaiting, setAwaiting] = useState<{ from: string; until: number }>();
  const following = !!status && (MOVING.has(status) || (awaiting?.from === status && Date.now() < awaiting.until));
  useEvery(FOLLOW_MS, following, story.refresh);

  async function act(action: Action, fields: FormData): Promise<string | undefined> {
    const reason = String(fields.get('reason') ?? '');
    const params = { path: { orderId }, header };
    const answer =
      action === 'RETRY_DELIVERY'
        ? await api.POST('/v1/ops/orders/{orderId}/retry-delivery', { params, body: { reason } })
        : action === 'CLOSE'
          ? await api.POST('/v1/ops/orders/{orderId}/close', { params, body: { reason } })
          : action === 'REFUND'
            ? await api.POST('/v1/ops/orders/{orderId}/refund', { params, body: { reason, ...(status === 'DELIVERED' && { revoke: fields.get('revoke') === 'on' }) } })
            : await api.POST('/v1/ops/orders/{orderId}/resolve', { params, body: { reason, action: fields.get('decision') === 'REFUND' ? 'REFUND' : 'DELIVER' } });
    if (!answer.error && status) setAwaiting({ from: status, until: Date.now() + 60_000 });
    await story.refresh();
    return answer.error ? messageOf(answer.error) : undefined;
  }

  if (story.loading) return <p className="skeleton" aria-busy="true">Loading the order…</p>;
  if (story.error || !story.data) return <ErrorState message={story.error ?? 'no order'} retry={story.reload} />;
  const { order, timeline, ledger, differences, actions } = story.data;
  const offered = can(session, 'orders:act') ? actions : [];

  return (
    <section>
      <h1>
        Order <code>{order.orderId}</code>
      </h1>
      <dl className="summary">
        <dt>Status</dt>
        <dd data-testid="status">
          {order.status}
          {order.statusReason && ` (${order.statusReason})`}
          {following && <span className="live"> · following live</span>}
        </dd>
        <dt>Amount</dt>
        <dd>{formatMoney(order.amount)}</dd>
        {order.paid && (
          <>
            <dt>Paid</dt>
            <dd>{formatMoney(order.paid)}</dd>
          </>
        )}
        <dt>Game</dt>
        <dd>{order.gameId}</dd>
        <dt>User</dt>
        <dd>{order.userId}</dd>
        <dt>SKU</dt>
        <dd>
          {order.sku} × {order.quantity}
        </dd>
        <dt>Channel</dt>
        <dd>{order.channel}</dd>
        {order.channelPaymentId && (
          <>
            <dt>Channel payment</dt>
            <dd>
              <code>{order.channelPaymentId}</code>
            </dd>
          </>
        )}
        {order.channelTradeNo && (
          <>
            <dt>Trade number</dt>
            <dd>
              <code>{order.channelTradeNo}</code>
            </dd>
          </>
        )}
        <dt>Workflow</dt>
        <dd>
          <code>{order.workflowId}</code>
        </dd>
      </dl>

      {offered.length > 0 && (
        <div className="actions" role="group" aria-label="Actions">
          {offered.map((a) => (
            <button key={a} type="button" onClick={() => setDialog(a)}>
              {TITLES[a]}
            </button>
          ))}
        </div>
      )}
      <ActionDialog title={dialog ? TITLES[dialog] : ''} open={dialog !== undefined} onClose={() => setDialog(undefined)} submit={(f) => act(dialog!, f)}>
        {dialog === 'REFUND' && order.status === 'DELIVERED' && (
          <label className="check">
            <input type="checkbox" name="revoke" defaultChecked /> Tell the game to take the goods back
          </label>
        )}
        {dialog === 'RESOLVE' && (
          <fieldset>
            <legend>Decision</legend>
            <label className="check">
              <input type="radio" name="decision" value="DELIVER" defaultChecked /> Deliver as paid
            </label>
            <label className="check">
              <input type="radio" name="decision" value="REFUND" /> Refund
            </label>
          </fieldset>
        )}
      </ActionDialog>

      <h2>Timeline</h2>
      <ol className="timeline">
        {timeline.map((e, i) => (
          <li key={i} data-kind={e.kind}>
            <time dateTime={e.at}>{e.at.replace('T', ' ').slice(0, 23)}</time> <strong>{e.title}</strong>
            {e.amount && <> {formatMoney(e.amount)}</>}
            {e.detail && <div className="detail">{e.detail}</div>}
          </li>
        ))}
      </ol>

      <h2>Ledger entries</h2>
      {ledger.length === 0 ? (
        <p>No ledger entries yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Kind</th>
              <th>Account</th>
              <th>Currency</th>
              <th className="num">Debit</th>
              <th className="num">Credit</th>
            </tr>
          </thead>
          <tbody>
            {ledger.flatMap((e) =>
              e.postings.map((p, i) => (
                <tr key={`${e.eventId}-${i}`}>
                  <td>{i === 0 ? e.kind : ''}</td>
                  <td>
                    <code>{p.account}</code>
                  </td>
                  <td>{p.currency}</td>
                  <td className="num">{p.debit ? majorUnits(p.debit, digitsOf(p.currency)) : ''}</td>
                  <td className="num">{p.credit ? majorUnits(p.credit, digitsOf(p.currency)) : ''}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}

      <h2>Reconciliation differences</h2>
      {differences.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul>
          {differences.map((d) => (
            <li key={d.differenceId}>
              {d.kind} ({d.resolution}) in run <code>{d.runId}</code>
              {d.channelTradeNo && <> · trade {d.channelTradeNo}</>}
              {d.currency && (
                <>
                  {' '}
                  · ours {d.ours ?? '—'} theirs {d.theirs ?? '—'} {d.currency}
                </>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
