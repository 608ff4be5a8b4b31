import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { Gate } from './components/Gate';
import { Layout } from './components/Layout';
import { OrderPage } from './pages/Order';
import { OrdersPage } from './pages/Orders';
import { NotFound } from './pages/NotFound';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter basename="/console">
      <Gate>
        <Routes>
          <Route element={<Layout />}>
            <Route index element={<Navigate to="/orders" replace />} />
            <Route path="orders" element={<OrdersPage />} />
            <Route path="orders/:orderId" element={<OrderPage />} />
            <Route path="*" element={<NotFound />} />
          </Route>
        </Routes>
      </Gate>
    </BrowserRouter>
  </StrictMode>,
);
