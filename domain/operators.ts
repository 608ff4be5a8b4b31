/**
 * Operators and their roles: who may call which operator route. One model, used by the API's
 * authentication (api/auth.ts re-exports it) and by the console to show what a role may do.
 */

export const OPERATOR_ROLES = ['admin', 'ops', 'finance'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** A configured bearer token: `ADMIN_TOKENS` entries, and the shared `ADMIN_TOKEN` (named `admin`). */
export interface OperatorToken {
  name: string;
  role: OperatorRole;
  token: string;
  /** The shared `ADMIN_TOKEN`: it names nobody, so the caller's `X-Operator` names who acts. */
  shared: boolean;
}

export const MIN_TOKEN_LENGTH = 16;
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/**
 * Parses `ADMIN_TOKENS`: `name:role:token` entries, comma separated. Throws on the first bad entry
 * (start-up fails): unknown role, short token, repeated name or token.
 */
export function parseOperatorTokens(value: string | undefined): OperatorToken[] {
  if (value === undefined || value.trim() === '') return [];
  const tokens = value.split(',').map((entry, i): OperatorToken => {
    const [name, role, ...rest] = entry.trim().split(':');
    const token = rest.join(':');
    const where = `entry ${i + 1}`;
    if (rest.length === 0) throw new Error(`${where}: expected name:role:token`);
    if (!name || !NAME.test(name)) throw new Error(`${where}: expected name:role:token, the name of 1 to 64 letters, digits or ._@-`);
    if (!(OPERATOR_ROLES as readonly string[]).includes(role ?? '')) throw new Error(`${where} (${name}): role must be one of ${OPERATOR_ROLES.join(', ')}`);
    if (token.length < MIN_TOKEN_LENGTH) throw new Error(`${where} (${name}): the token needs at least ${MIN_TOKEN_LENGTH} characters`);
    return { name, role: role as OperatorRole, token, shared: false };
  });
  const names = new Set(tokens.map((t) => t.name));
  if (names.size !== tokens.length) throw new Error('two entries share a name');
  if (new Set(tokens.map((t) => t.token)).size !== tokens.length) throw new Error('two entries share a token');
  return tokens;
}

/**
 * The roles besides `admin` (which may call everything) that may call a path: operations work under
 * `/v1/ops` and the channel accounts' health, finance under `/v1/finance` and the AML reports; the rest of `/v1/admin` and the sandbox's
 * operator routes are the admin's alone.
 */
export function rolesFor(path: string): readonly OperatorRole[] {
  if (path === '/v1/ops' || path.startsWith('/v1/ops/')) return ['admin', 'ops'];
  if (path === '/v1/finance' || path.startsWith('/v1/finance/')) return ['admin', 'finance'];
  if (path === '/v1/admin/risk/aml-reports' || path.startsWith('/v1/admin/risk/aml-reports/')) return ['admin', 'finance'];
  // The accounts' breakers and calls (no credentials): operations watch them in the console.
  if (path === '/v1/admin/channels/health') return ['admin', 'ops'];
  return ['admin'];
}

export function mayCall(role: OperatorRole, path: string): boolean {
  return rolesFor(path).includes(role);
}
