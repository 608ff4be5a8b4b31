import { useMemo } from 'react';
import { api, type Answer } from '../client/api';
import { Chart } from '../components/Chart';
import { DateField, Filters, LoadedView, SelectField } from '../components/View';
import { PERIODS, isoDay, useFilters, useLoad } from '../hooks';
import { digitsOf, majorUnits } from '../money';

type Report = Answer<'/v1/finance/reports/channels'>;

const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`;

/** Per channel account and period: orders placed and paid and the success rate; fees, refunds, chargebacks per currency. */
export function ChannelsReportPage() {
  const { values: f, apply, key } = useFilters({ from: isoDay(-30), to: isoDay(-1), groupBy: 'day' });
  const groupBy = f.groupBy === 'month' ? 'month' : 'day';
  const report = useLoad<Report>(
    () => api.GET('/v1/finance/reports/channels', { params: { query: { from: f.from, to: f.to, groupBy, format: 'json' } } }) as Promise<{ data?: Report; error?: unknown }>,
    key,
  );
  const periods = useMemo(() => [...new Set((report.data?.periods ?? []).map((p) => p.period))].sort(), [report.data]);
  const accounts = useMemo(() => [...new Set((report.data?.periods ?? []).map((p) => p.channel))].sort(), [report.data]);
  const series = useMemo(
    () =>
      accounts.map((channel) => ({
        name: channel,
        type: 'line' as const,
        values: periods.map((period) => {
          const p = report.data?.periods?.find((x) => x.period === period && x.channel === channel);
          return p ? Math.round(p.successRate * 1000) / 10 : 0;
        }),
      })),
    [accounts, periods, report.data],
  );
  const csv = (withPeriods: boolean) =>
    `/v1/finance/reports/channels?${new URLSearchParams({ from: f.from, to: f.to, format: 'csv', ...(withPeriods && { groupBy }) }).toString()}`;

  return (
    <section>
      <h1>Channels report</h1>
      <Filters apply={apply} formKey={key}>
        <DateField name="from" label="From" value={f.from} required />
        <DateField name="to" label="To" value={f.to} required />
        <SelectField name="groupBy" label="Per" value={groupBy} options={PERIODS} any={false} />
      </Filters>
      <LoadedView state={report} loading="Loading the report…" empty={(d) => d.channels.length === 0 && 'No orders in this range.'}>
        {(data) => (
          <>
            <p>
              <a href={csv(true)} download>
                Export CSV (per {groupBy})
              </a>{' '}
              ·{' '}
              <a href={csv(false)} download>
                Export CSV (amounts)
              </a>
            </p>
            <Chart title={`Success rate per account and ${groupBy} (orders paid / placed)`} periods={periods} series={series} valueName="%" />
            <table data-testid="periods-table">
              <caption>Orders placed and paid per account and {groupBy}</caption>
              <thead>
                <tr>
                  <th>Period</th>
                  <th>Account</th>
                  <th className="num">Placed</th>
                  <th className="num">Paid</th>
                  <th className="num">Success rate</th>
                </tr>
              </thead>
              <tbody>
                {(data.periods ?? []).map((p) => (
                  <tr key={`${p.period}-${p.channel}`}>
                    <td>{p.period}</td>
                    <td>{p.channel}</td>
                    <td className="num">{p.ordersCreated}</td>
                    <td className="num">{p.ordersPaid}</td>
                    <td className="num">{percent(p.successRate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table data-testid="amounts-table">
              <caption>
                Per account and currency, {data.from} to {data.to} (major units)
              </caption>
              <thead>
                <tr>
                  <th>Account</th>
                  <th className="num">Placed</th>
                  <th className="num">Paid</th>
                  <th className="num">Success rate</th>
                  <th className="num">Refunds</th>
                  <th className="num">Chargebacks</th>
                  <th>Currency</th>
                  <th className="num">Paid amount</th>
                  <th className="num">Refunded</th>
                  <th className="num">Charged back</th>
                  <th className="num">Fees</th>
                </tr>
              </thead>
              <tbody>
                {data.channels.flatMap((c) =>
                  c.amounts.map((a, i) => (
                    <tr key={`${c.channel}-${a.currency}`}>
                      <td>{i === 0 ? c.channel : ''}</td>
                      <td className="num">{i === 0 ? c.ordersCreated : ''}</td>
                      <td className="num">{i === 0 ? c.ordersPaid : ''}</td>
                      <td className="num">{i === 0 ? percent(c.successRate) : ''}</td>
                      <td className="num">{i === 0 ? c.refunds : ''}</td>
                      <td className="num">{i === 0 ? c.chargebacks : ''}</td>
                      <td>{a.currency}</td>
                      <td className="num">{majorUnits(a.paid, digitsOf(a.currency))}</td>
                      <td className="num">{majorUnits(a.refunded, digitsOf(a.currency))}</td>
                      <td className="num">{majorUnits(a.chargedBack, digitsOf(a.currency))}</td>
                      <td className="num">{majorUnits(a.fees, digitsOf(a.currency))}</td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
          </>
        )}
      </LoadedView>
    </section>
  );
}
