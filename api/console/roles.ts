import { OPERATOR_ROLES, mayCall, type OperatorRole } from '../../domain/operators';
/**
 * What a sign-in may do in the console: the console shows what `permissions` lists and the API refuses
 * the rest (api/auth.ts `operatorAuth`). Both come from the one rule, domain/operators.ts `mayCall`:
 * a role holds a permission when it may call the route that permission stands for. The shared
 * `ADMIN_TOKEN` signs in as `admin` under the operator name given at sign-in; a named token
 * (`ADMIN_TOKENS`) as its name and role.
 */
const ROUTE_OF = {
  'orders:read': '/v1/ops/orders',
  'orders:act': '/v1/ops/orders/{orderId}/refund',
  'channels:read': '/v1/admin/channels/health',
  'finance:read': '/v1/finance/reports/revenue',
  'finance:act': '/v1/finance/reconciliations',
  admin: '/v1/admin/games',
} as const;
export const PERMISSIONS = Object.keys(ROUTE_OF) as (keyof typeof ROUTE_OF)[];
export type Permission = keyof typeof ROUTE_OF;

export type Role = OperatorRole;

export interface Principal {
  name: string;
  role: Role;
}

export const isRole = (role: string): role is Role => (OPERATOR_ROLES as readonly string[]).includes(role);

export function permissionsOf(role: Role): Permission[] {
  return PERMISSIONS.filter((permission) => mayCall(role, ROUTE_OF[permission]));
}
