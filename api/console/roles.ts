/**
 * Who may do what in the console, decided here only: the console shows what `permissions` lists and
 * the API refuses the rest. Today one `ADMIN_TOKEN` signs in as `admin` with every permission, under
 * the operator name given at sign-in; named tokens with roles (`ADMIN_TOKENS`) plug in as more roles.
 */
export const PERMISSIONS = ['orders:read', 'orders:act', 'finance:read', 'finance:act', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = { admin: PERMISSIONS } as const satisfies Record<string, readonly Permission[]>;
export type Role = keyof typeof ROLES;

export interface Principal {
  name: string;
  role: Role;
}

export const isRole = (role: string): role is Role => Object.hasOwn(ROLES, role);

export function permissionsOf(role: Role): readonly Permission[] {
  return ROLES[role];
}
