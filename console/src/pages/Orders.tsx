import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { createColumnHelper, flexRender, getCoreRowModel, getSortedRowModel, useReactTable, type SortingState } from '@tanstack/react-table';
import { api, messageOf, type Schemas } from '../client/api';
import { ErrorState } from '../components/Gate';
import { formatMoney } from '../money';
import { useSession } from '../session';

type Row = Schemas['OpsOrderSummary'];
const STATUSES = ['PENDING_PAYMENT', 'PAID', 'DELIVERING', 'DELIVERED', 'MANUAL_REVIEW', 'REFUNDING', 'REFUNDED', 'CLOSED', 'FAILED'];
/** The filters of the list, each a query parameter of its URL. */
const FILTERS = ['q', 'game', 'user', 'channel', 'status', 'from', 'to'] as const;

const column = createColumnHelper<Row>();
const columns = [
  column.accessor('createdAt', { header: 'Created', cell: (c) => c.getValue().replace('T', ' ').slice(0, 19) }),
  column.accessor('orderId', { header: 'Order', cell: (c) => <Link to={`/orders/${c.getValue()}`}>{c.getValue()}</Link>, enableSorting: false }),
  column.accessor('gameId', { header: 'Game' }),
  column.accessor('userId', { header: 'User' }),
  column.accessor('sku', { header: 'SKU' }),
  column.accessor((o) => formatMoney(o.amount), { id: 'amount', header: 'Amount' }),
  column.accessor('channel', { header: 'Channel' }),
  column.accessor('status', { header: 'Status' }),
];

export function OrdersPage() {
  const { session } = useSession();
  const [params, setParams] = useSearchParams();
  const [state, setState] = useState<{ rows?: Row[]; next?: string; error?: string; loading: boolean }>({ loading: true });
  const [sorting, setSorting] = useState<SortingState>([]);
  const key = params.toString();

  const load = useCallback(async () => {
    setState({ loading: true });
    const p = new URLSearchParams(key);
    const get = (name: string) => p.get(name) || undefined;
    const { data, error } = await api.GET('/v1/ops/orders', {
      params: {
        header: { 'X-Operator': session.name },
        query: {
          sort: 'newest',
          q: get('q'),
          gameId: get('game'),
          userId: get('user'),
          channel: get('channel'),
          status: get('status') as Row['status'] | undefined,
          from: dateParam(get('from')),
          to: dateParam(get('to'), 1),
          after: get('after'),
          limit: 50,
        },
      },
    });
    if (data) setState({ rows: data.orders, next: data.next, loading: false });
    else setState({ error: messageOf(error), loading: false });
  }, [key, session.name]);
  useEffect(() => void load(), [load]);

  const table = useReactTable({
    data: state.rows ?? [],
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });

  function filter(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const fields = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const name of FILTERS) {
      const value = String(fields.get(name) ?? '').trim();
      if (value) next.set(name, value);
    }
    setParams(next);
  }

  const filters = useMemo(() => Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])), [params]);
  return (
    <section>
      <h1>Orders</h1>
      <form className="filters" onSubmit={filter} key={key} aria-label="Filters">
        <label>
          Text <input name="q" defaultValue={filters.q} />
        </label>
        <label>
          Game <input name="game" defaultValue={filters.game} />
        </label>
        <label>
          User <input name="user" defaultValue={filters.user} />
        </label>
        <label>
          Channel <input name="channel" defaultValue={filters.channel} />
        </label>
        <label>
          Status
          <select name="status" defaultValue={filters.status}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          From <input name="from" type="date" defaultValue={filters.from} />
        </label>
        <label>
          To <input name="to" type="date" defaultValue={filters.to} />
        </label>
        <button type="submit">Apply</button>
      </form>
      {state.loading && <p className="skeleton" aria-busy="true">Loading orders…</p>}
      {state.error && <ErrorState message={state.error} retry={() => void load()} />}
      {state.rows && state.rows.length === 0 && <p>No orders match.</p>}
      {state.rows && state.rows.length > 0 && (
        <table>
          <caption>Newest first</caption>
          <thead>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => (
                  <th key={header.id} aria-sort={ariaSort(header.column.getIsSorted())}>
                    {header.column.getCanSort() ? (
                      <button type="button" className="link" onClick={header.column.getToggleSortingHandler()}>
                        {flexRender(header.column.columnDef.header, header.getContext())}
                      </button>
                    ) : (
                      flexRender(header.column.columnDef.header, header.getContext())
                    )}
                  </th>
                ))}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr key={row.id}>
                {row.getVisibleCells().map((cell) => (
                  <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav aria-label="Pages" className="pages">
        {params.get('after') && (
          <button type="button" onClick={() => setParams(without(params, 'after'))}>
            Newest
          </button>
        )}
        {state.next && (
          <button type="button" onClick={() => setParams(withParam(params, 'after', state.next!))}>
            Older
          </button>
        )}
      </nav>
    </section>
  );
}

/** A day of the date picker as the API's instant (UTC midnight); `to` is exclusive, so the day after. */
function dateParam(day: string | undefined, plusDays = 0): string | undefined {
  if (!day || !/^\d{4}-\d\d-\d\d$/.test(day)) return undefined;
  const d = new Date(`${day}T00:00:00.000Z`);
  d.setUTCDate(d.getUTCDate() + plusDays);
  return d.toISOString();
}

const ariaSort = (s: false | 'asc' | 'desc') => (s === 'asc' ? 'ascending' : s === 'desc' ? 'descending' : undefined);
const without = (p: URLSearchParams, name: string) => {
  const n = new URLSearchParams(p);
  n.delete(name);
  return n;
};
const withParam = (p: URLSearchParams, name: string, value: string) => {
  const n = new URLSearchParams(p);
  n.set(name, value);
  return n;
};
