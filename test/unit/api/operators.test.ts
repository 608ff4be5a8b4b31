import { mayCall, rolesFor } from '../../../api/auth';
import { permissionsOf } from '../../../api/console/roles';

describe('operator roles (one model, api/auth.ts)', () => {
  it('lets admin call every operator route', () => {
    for (const path of ['/v1/admin/games/g', '/v1/admin/channels/c', '/v1/ops/orders', '/v1/finance/ledger/trial-balance', '/v1/admin/audit', '/sandbox/statements/2026-12-01']) {
      expect(mayCall('admin', path)).toBe(true);
    }
  });

  it('lets ops call /v1/ops only, and finance /v1/finance and the AML reports only', () => {
    expect(rolesFor('/v1/ops/orders/x/refund')).toEqual(['admin', 'ops']);
    expect(mayCall('ops', '/v1/finance/reports/revenue')).toBe(false);
    expect(mayCall('ops', '/v1/admin/games/g')).toBe(false);
    expect(mayCall('finance', '/v1/finance/reports/revenue')).toBe(true);
    expect(mayCall('finance', '/v1/admin/risk/aml-reports')).toBe(true);
    expect(mayCall('finance', '/v1/admin/risk/rules')).toBe(false);
    expect(mayCall('finance', '/v1/ops/orders')).toBe(false);
  });

  it('lets ops read the channel accounts\' health (breakers, calls), not change or list the accounts', () => {
    expect(mayCall('ops', '/v1/admin/channels/health')).toBe(true);
    expect(mayCall('finance', '/v1/admin/channels/health')).toBe(false);
    expect(mayCall('ops', '/v1/admin/channels/sandbox')).toBe(false);
    expect(mayCall('ops', '/v1/admin/channels')).toBe(false);
  });

  it('gives the console each role the permissions of the routes it may call (finance sees no orders)', () => {
    expect(permissionsOf('admin')).toEqual(['orders:read', 'orders:act', 'channels:read', 'finance:read', 'finance:act', 'admin']);
    expect(permissionsOf('ops')).toEqual(['orders:read', 'orders:act', 'channels:read']);
    expect(permissionsOf('finance')).toEqual(['finance:read', 'finance:act']);
  });

  it('does not take a path that only begins like an area for the area', () => {
    expect(mayCall('ops', '/v1/opsx')).toBe(false);
    expect(mayCall('finance', '/v1/financed/x')).toBe(false);
    expect(mayCall('finance', '/v1/admin/risk/aml-reports-all')).toBe(false);
  });
});
