import { mayCall, rolesFor } from '../../../api/auth';
import { permissionsOf } from '../../../api/console/roles';
import { openApiSpec } from '../../../api/openapi';
import { OPERATOR_ROLES } from '../../../domain/operators';

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

describe('the OpenAPI document of operator routes', () => {
  /** Every operation behind the operator token (security adminToken), sandbox included, as [route, its 403 description]. */
  const operatorOperations = () =>
    Object.entries(openApiSpec({ sandbox: true }).paths ?? {}).flatMap(([path, item]) =>
      (['get', 'put', 'post', 'delete', 'patch'] as const).flatMap((method) => {
        const op = item[method];
        const guarded = op?.security?.some((s) => 'adminToken' in s);
        return guarded ? [{ route: `${method.toUpperCase()} ${path}`, path, forbidden: (op!.responses?.['403'] as { description?: string } | undefined)?.description }] : [];
      }),
    );

  it('lists 403 FORBIDDEN on every operator route, since no route admits every role', () => {
    const operations = operatorOperations();
    expect(operations.length).toBeGreaterThan(30);
    for (const { path } of operations) expect(OPERATOR_ROLES.every((role) => mayCall(role, path.replace(/\{[^}]+\}/g, 'x')))).toBe(false);
    expect(operations.filter((o) => !o.forbidden?.includes('`FORBIDDEN`')).map((o) => o.route)).toEqual([]);
  });
});
