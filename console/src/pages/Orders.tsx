import { useState } from 'react';
import { Link } from 'react-router';
import { createColumnHelper, flexRender, getCoreRowModel, getSortedRowModel, useReactTable, type SortingState } from '@tanstack/react-table';
import { api, type Answer, type Schemas } from '../client/api';
import { DateField, Filters, LoadedView, Pages, SelectField, TextField } from '../components/View';
import { useFilters, useLoad } from '../hooks';
import { formatMoney } from '../money';

type Found = Answer<'/v1/ops/orders'>;
type Row = Schemas['OpsOrderSummary'];
const STATUSES = ['PENDING_PAYMENT', 'PAID', 'DELIVERING', 'DELIVERED', 'MANUAL_REVIEW', 'REFUNDING', 'REFUNDED', 'CLOSED', 'FAILED'];

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

/** Orders matching the search and the filters, newest first, keyset paged (`after` in the URL). */
export function OrdersPage() {
  const { values: f, apply, set, key } = useFilters({ q: '', game: '', user: '', channel: '', status: '', from: '', to: '', after: '' });
  const found = useLoad<Found>(
    () =>
      api.GET('/v1/ops/orders', {
        params: {
          query: {
            sort: 'newest',
            q: f.q || undefined,
            gameId: f.game || undefined,
            userId: f.user || undefined,
            channel: f.channel || undefined,
            status: (f.status || undefined) as Row['status'] | undefined,
            from: dateParam(f.from),
            to: dateParam(f.to, 1),
            after: f.after || undefined,
            limit: 50,
          },
        },
      }),
    key,
  );

  return (
    <section>
      <h1>Orders</h1>
      <Filters apply={apply} formKey={key}>
        <TextField name="q" label="Text" value={f.q} />
        <TextField name="game" label="Game" value={f.game} />
        <TextField name="user" label="User" value={f.user} />
        <TextField name="channel" label="Channel" value={f.channel} />
        <SelectField name="status" label="Status" value={f.status} options={STATUSES} />
        <DateField name="from" label="From" value={f.from} />
        <DateField name="to" label="To" value={f.to} />
      </Filters>
      <LoadedView state={found} loading="Loading orders…" empty={(d) => d.orders.length === 0 && 'No orders match.'}>
        {(d) => <OrdersTable rows={d.orders} />}
      </LoadedView>
      <Pages
        first={f.after ? { label: 'Newest', go: () => set({ after: undefined }) } : undefined}
        next={found.data?.next ? { label: 'Older', go: () => set({ after: found.data!.next }) } : undefined}
      />
    </section>
  );
}

function OrdersTable({ rows }: { rows: Row[] }) {
  const [sorting, setSorting] = useState<SortingState>([]);
  const table = useReactTable({
    data: rows,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  return (
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
  );
}

/** A day of the date picker as the API's instant (UTC midnight); `to` is exclusive, so the day after. */
function dateParam(day: string, plusDays = 0): string | undefined {
  if (!/^\d{4}-\d\d-\d\d$/.test(day)) return undefined;
  const d = new Date(`${day}T00:00:00.000Z`);
  d.setUTCDate(d.getUTCDate() + plusDays);
  return d.toISOString();
}

const ariaSort = (s: false | 'asc' | 'desc') => (s === 'asc' ? 'ascending' : s === 'desc' ? 'descending' : undefined);
