import { createContext, useContext } from 'react';
import type { Schemas } from './client/api';

export type Session = Schemas['ConsoleSession'];

export const SessionContext = createContext<{ session: Session; signOut: () => Promise<void> } | null>(null);

export function useSession() {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside a signed-in page');
  return value;
}

/** The one check of the console: the server's list of what this sign-in may do. */
export const can = (session: Session, permission: Session['permissions'][number]) => session.permissions.includes(permission);
