import { useState, type FormEvent } from 'react';
import { NavLink, Outlet, useNavigate } from 'react-router';
import { can, useSession } from '../session';

const ORDER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function Layout() {
  const { session, signOut } = useSession();
  const navigate = useNavigate();
  const [q, setQ] = useState('');

  // An order id opens the order; anything else (user id, channel payment id, trade number) lists matches.
  function search(event: FormEvent) {
    event.preventDefault();
    const term = q.trim();
    if (!term) return;
    void navigate(ORDER_ID.test(term) ? `/orders/${term.toLowerCase()}` : `/orders?q=${encodeURIComponent(term)}`);
  }

  return (
    <>
      <header className="top">
        <nav aria-label="Main">
          <strong>Payment Center</strong>
          {can(session, 'orders:read') && (
            <>
              <NavLink to="/orders">Orders</NavLink>
              <NavLink to="/ops/stuck">Stuck</NavLink>
            </>
          )}
          {can(session, 'channels:read') && <NavLink to="/channels">Channels</NavLink>}
          {can(session, 'finance:read') && (
            <>
              <NavLink to="/finance/revenue">Revenue</NavLink>
              <NavLink to="/finance/channels">Channels report</NavLink>
              <NavLink to="/finance/reconciliation">Reconciliation</NavLink>
              <NavLink to="/finance/ledger">Ledger</NavLink>
            </>
          )}
        </nav>
        <form role="search" onSubmit={search}>
          <label>
            Search
            <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="order id, user id, payment id, trade no" />
          </label>
        </form>
        <span className="who">
          {session.name} ({session.role})
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        <Outlet />
      </main>
    </>
  );
}
