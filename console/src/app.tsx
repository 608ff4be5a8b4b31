import { StrictMode, Suspense, lazy, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { Gate } from './components/Gate';
import { Layout } from './components/Layout';
import { OrderPage } from './pages/Order';
import { OrdersPage } from './pages/Orders';
import { NotFound } from './pages/NotFound';
import { can, useSession, type Session } from './session';

// The finance pages carry the charts (ECharts): loaded when first opened, so an order page loads without them.
const RevenuePage = lazy(() => import('./pages/Revenue').then((m) => ({ default: m.RevenuePage })));
const ChannelsReportPage = lazy(() => import('./pages/ChannelsReport').then((m) => ({ default: m.ChannelsReportPage })));
const ReconciliationPage = lazy(() => import('./pages/Reconciliation').then((m) => ({ default: m.ReconciliationPage })));
const RunPage = lazy(() => import('./pages/Reconciliation').then((m) => ({ default: m.RunPage })));
const LedgerPage = lazy(() => import('./pages/Ledger').then((m) => ({ default: m.LedgerPage })));
const AccountPage = lazy(() => import('./pages/Ledger').then((m) => ({ default: m.AccountPage })));
const StuckPage = lazy(() => import('./pages/Stuck').then((m) => ({ default: m.StuckPage })));
const ChannelsPage = lazy(() => import('./pages/Channels').then((m) => ({ default: m.ChannelsPage })));

/** A page the sign-in may not use is not there (the API would refuse its calls with 403 anyway). */
function Allowed({ permission, children }: { permission: Session['permissions'][number]; children: ReactNode }) {
  const { session } = useSession();
  if (!can(session, permission)) return <NotFound />;
  return <Suspense fallback={<p className="skeleton" aria-busy="true">Loading…</p>}>{children}</Suspense>;
}

function Home() {
  const { session } = useSession();
  return <Navigate to={can(session, 'orders:read') ? '/orders' : '/finance/revenue'} replace />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter basename="/console">
      <Gate>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={<Home />} />
            <Route path="orders" element={<Allowed permission="orders:read"><OrdersPage /></Allowed>} />
            <Route path="orders/:orderId" element={<Allowed permission="orders:read"><OrderPage /></Allowed>} />
            <Route path="ops/stuck" element={<Allowed permission="orders:read"><StuckPage /></Allowed>} />
            <Route path="channels" element={<Allowed permission="channels:read"><ChannelsPage /></Allowed>} />
            <Route path="finance/revenue" element={<Allowed permission="finance:read"><RevenuePage /></Allowed>} />
            <Route path="finance/channels" element={<Allowed permission="finance:read"><ChannelsReportPage /></Allowed>} />
            <Route path="finance/reconciliation" element={<Allowed permission="finance:read"><ReconciliationPage /></Allowed>} />
            <Route path="finance/reconciliation/:runId" element={<Allowed permission="finance:read"><RunPage /></Allowed>} />
            <Route path="finance/ledger" element={<Allowed permission="finance:read"><LedgerPage /></Allowed>} />
            <Route path="finance/ledger/accounts/:account" element={<Allowed permission="finance:read"><AccountPage /></Allowed>} />
            <Route path="*" element={<NotFound />} />
          </Route>
        </Routes>
      </Gate>
    </BrowserRouter>
  </StrictMode>,
);
