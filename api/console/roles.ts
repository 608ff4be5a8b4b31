import type { OperatorRole } from '../../domain/operators';
/**
 * Who may do what in the console, decided here only: the console shows what `permissions` lists and
 * the API refuses the rest (api/auth.ts `operatorAuth`, by domain/operators.ts). The shared `ADMIN_TOKEN`
 * signs in as `admin` under the operator name given at sign-in; a named token (`ADMIN_TOKENS`) as its name and role.
 */
export const PERMISSIONS = ['orders:read', 'orders:act', 'finance:read', 'finance:act', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The operator roles of `ADMIN_TOKENS` (domain/operators.ts), as the console shows them. */
export const ROLES = {
  admin: PERMISSIONS,
  ops: ['orders:read', 'orders:act'],
  finance: ['orders:read', 'finance:read', 'finance:act'],
} as const satisfies Record<OperatorRole, readonly Permission[]>;
export type Role = keyof typeof ROLES;

export interface Principal {
  name: string;
  role: Role;
}

export const isRole = (role: string): role is Role => Object.hasOwn(ROLES, role);

export function permissionsOf(role: Role): readonly Permission[] {
  return ROLES[role];
}
