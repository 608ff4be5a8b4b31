import { Link, useParams } from 'react-router';
import { api, type Answer } from '../client/api';
import { Filters, LoadedView, Pages, TextField } from '../components/View';
import { useFilters, useLoad } from '../hooks';
import { digitsOf, majorUnits } from '../money';

type Balance = Answer<'/v1/finance/ledger/trial-balance'>;
type Entries = Answer<'/v1/finance/ledger/accounts/{account}/entries'>;

const money = (minor: number, currency: string) => majorUnits(minor, digitsOf(currency));

/** The trial balance (every account, debits, credits, balance) with totals per currency; `at` looks back. */
export function LedgerPage() {
  const { values: f, apply, key } = useFilters({ currency: '', at: '' });
  const balance = useLoad<Balance>(
    () =>
      api.GET('/v1/finance/ledger/trial-balance', {
        params: { query: { currency: f.currency || undefined, at: f.at ? new Date(f.at).toISOString() : undefined } },
      }),
    key,
  );
  return (
    <section>
      <h1>Ledger</h1>
      <Filters apply={apply} formKey={key}>
        <TextField name="currency" label="Currency" value={f.currency} pattern="[A-Z]{3}" size={4} />
        <TextField name="at" label="As of" type="datetime-local" value={f.at} />
      </Filters>
      <LoadedView state={balance} loading="Loading the trial balance…" empty={(d) => d.accounts.length === 0 && 'No entries.'}>
        {(data) => (
          <>
            <table data-testid="totals-table">
              <caption>Totals per currency (debits equal credits)</caption>
              <thead>
                <tr>
                  <th>Currency</th>
                  <th className="num">Debits</th>
                  <th className="num">Credits</th>
                </tr>
              </thead>
              <tbody>
                {data.totals.map((t) => (
                  <tr key={t.currency}>
                    <td>{t.currency}</td>
                    <td className="num">{money(t.debits, t.currency)}</td>
                    <td className="num">{money(t.credits, t.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table data-testid="balance-table">
              <caption>Trial balance (major units)</caption>
              <thead>
                <tr>
                  <th>Account</th>
                  <th>Currency</th>
                  <th className="num">Debits</th>
                  <th className="num">Credits</th>
                  <th className="num">Balance</th>
                </tr>
              </thead>
              <tbody>
                {data.accounts.map((a) => (
                  <tr key={`${a.account}-${a.currency}`}>
                    <td>
                      <Link to={`/finance/ledger/accounts/${encodeURIComponent(a.account)}`}>
                        <code>{a.account}</code>
                      </Link>
                    </td>
                    <td>{a.currency}</td>
                    <td className="num">{money(a.debits, a.currency)}</td>
                    <td className="num">{money(a.credits, a.currency)}</td>
                    <td className="num">{money(a.balance, a.currency)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </LoadedView>
    </section>
  );
}

/** One account's entries, oldest first, keyset paged (`after` in the URL). */
export function AccountPage() {
  const { account = '' } = useParams();
  const { values: f, set, key } = useFilters({ after: '' });
  const entries = useLoad<Entries>(
    () => api.GET('/v1/finance/ledger/accounts/{account}/entries', { params: { path: { account }, query: { after: f.after || undefined, limit: 100 } } }),
    `${account}?${key}`,
  );
  return (
    <section>
      <h1>
        Account <code>{account}</code>
      </h1>
      <p>
        <Link to="/finance/ledger">Trial balance</Link>
      </p>
      <LoadedView state={entries} loading="Loading entries…" empty={(d) => d.entries.length === 0 && 'No entries.'}>
        {(data) => (
          <table data-testid="entries-table">
            <caption>Oldest first; this account&apos;s posting (debit &gt; 0, credit &lt; 0)</caption>
            <thead>
              <tr>
                <th>Effective</th>
                <th>Kind</th>
                <th>Order</th>
                <th>Currency</th>
                <th className="num">Amount</th>
              </tr>
            </thead>
            <tbody>
              {data.entries.map((e) => (
                <tr key={e.id}>
                  <td>{e.effectiveAt.replace('T', ' ').slice(0, 19)}</td>
                  <td>{e.kind}</td>
                  <td>{e.orderId ? <Link to={`/orders/${e.orderId}`}>{e.orderId.slice(0, 8)}…</Link> : (e.reference ?? '—')}</td>
                  <td>{e.currency}</td>
                  <td className="num">{money(e.amount, e.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </LoadedView>
      <Pages
        first={f.after ? { label: 'First', go: () => set({ after: undefined }) } : undefined}
        next={entries.data?.page.nextAfter ? { label: 'Next', go: () => set({ after: entries.data!.page.nextAfter }) } : undefined}
      />
    </section>
  );
}
