import { useMemo } from 'react';
import { api, type Answer } from '../client/api';
import { Chart } from '../components/Chart';
import { DateField, Filters, LoadedView, SelectField, TextField } from '../components/View';
import { PERIODS, isoDay, useFilters, useLoad } from '../hooks';
import { digitsOf, majorUnits } from '../money';

type Report = Answer<'/v1/finance/reports/revenue'>;
type Row = Report['rows'][number];

/**
 * Revenue, paid and refunded per day or month, one currency at a time (money of two currencies is
 * never added up), as a chart and the same figures in a table; *Export CSV* is the API's CSV.
 */
export function RevenuePage() {
  const { values: f, apply, set, key } = useFilters({ from: isoDay(-30), to: isoDay(-1), groupBy: 'day', currency: '', game: '', channel: '' });
  const report = useLoad<Report>(
    () =>
      api.GET('/v1/finance/reports/revenue', {
        params: {
          query: {
            from: f.from,
            to: f.to,
            groupBy: f.groupBy as 'day' | 'month',
            by: 'currency',
            format: 'json',
            game: f.game || undefined,
            channel: f.channel || undefined,
          },
        },
      }) as Promise<{ data?: Report; error?: unknown }>,
    key,
  );
  const currencies = useMemo(() => [...new Set((report.data?.rows ?? []).map((r) => r.currency))].sort(), [report.data]);
  const currency = f.currency || currencies[0] || '';
  const rows = useMemo(() => (report.data?.rows ?? []).filter((r) => r.currency === currency), [report.data, currency]);
  const missing = useMemo(() => new Set(report.data?.notRolledUp ?? []), [report.data]);
  const periods = useMemo(() => rows.map((r) => r.period), [rows]);
  const digits = digitsOf(currency || 'USD');
  const major = (v: number) => Number(majorUnits(v, digits));
  const series = useMemo(
    () => [
      { name: 'Revenue', values: rows.map((r) => major(r.revenue)) },
      { name: 'Paid', values: rows.map((r) => major(r.paid)) },
      { name: 'Refunded', values: rows.map((r) => major(r.refunded)) },
    ],
    [rows, digits],
  );
  const csv = `/v1/finance/reports/revenue?${new URLSearchParams({
    from: f.from,
    to: f.to,
    groupBy: f.groupBy,
    format: 'csv',
    by: 'currency',
    ...(currency && { currency }),
    ...(f.game && { game: f.game }),
    ...(f.channel && { channel: f.channel }),
  }).toString()}`;
  const missingIn = (period: string) => [...missing].filter((d) => d.startsWith(period)).length;

  return (
    <section>
      <h1>Revenue</h1>
      <Filters apply={apply} formKey={key}>
        <DateField name="from" label="From" value={f.from} required />
        <DateField name="to" label="To" value={f.to} required />
        <SelectField name="groupBy" label="Per" value={f.groupBy} options={PERIODS} any={false} />
        <TextField name="game" label="Game" value={f.game} />
        <TextField name="channel" label="Channel" value={f.channel} />
        <input type="hidden" name="currency" value={f.currency} />
      </Filters>
      <LoadedView state={report} loading="Loading the report…">
        {(data) => (
          <>
            <p>
              Days of <strong>{data.timeZone}</strong>, {data.from} to {data.to}.{' '}
              {missing.size > 0 && <span className="warn">{missing.size} day(s) not rolled up yet (their reconciliation has not run): figures missing, not zero.</span>}
            </p>
            {currencies.length === 0 ? (
              <p>No revenue in this range.</p>
            ) : (
              <>
                <label className="inline">
                  Currency{' '}
                  <select value={currency} onChange={(e) => set({ currency: e.target.value })}>
                    {currencies.map((c) => (
                      <option key={c}>{c}</option>
                    ))}
                  </select>
                </label>{' '}
                <a href={csv} download>
                  Export CSV
                </a>
                <Chart title={`Revenue, paid and refunded per ${f.groupBy} (${currency})`} periods={periods} series={series} valueName={currency} />
                <table data-testid="revenue-table">
                  <caption>
                    {currency}, per {f.groupBy} (major units)
                  </caption>
                  <thead>
                    <tr>
                      <th>Period</th>
                      <th className="num">Orders paid</th>
                      <th className="num">Paid</th>
                      <th className="num">Revenue</th>
                      <th className="num">Refunded</th>
                      <th className="num">Charged back</th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((r: Row) => (
                      <tr key={r.period}>
                        <td>
                          {r.period}
                          {missingIn(r.period) > 0 && <span className="warn"> ({missingIn(r.period)} day(s) not rolled up)</span>}
                        </td>
                        <td className="num">{r.ordersPaid}</td>
                        <td className="num">{majorUnits(r.paid, digits)}</td>
                        <td className="num">{majorUnits(r.revenue, digits)}</td>
                        <td className="num">{majorUnits(r.refunded, digits)}</td>
                        <td className="num">{majorUnits(r.chargedBack, digits)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </>
        )}
      </LoadedView>
    </section>
  );
}
