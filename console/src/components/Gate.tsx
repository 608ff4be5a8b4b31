import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { api, messageOf } from '../client/api';
import { sessionAnswer } from '../first-load';
import { SessionContext, type Session } from '../session';
import { SignIn } from '../pages/SignIn';
import { ErrorState } from './View';

/** Signed out, any URL shows the sign-in; once signed in, the same URL shows its page (deep links). */
export function Gate({ children }: { children: ReactNode }) {
  const [state, setState] = useState<{ session?: Session; loading: boolean; error?: string }>({ loading: true });

  const load = useCallback(async () => {
    const { data, response, error } = await sessionAnswer();
    if (data) setState({ session: data, loading: false });
    else if (response.status === 401) setState({ loading: false });
    else setState({ loading: false, error: messageOf(error) });
  }, []);
  useEffect(() => void load(), [load]);

  const signOut = useCallback(async () => {
    await api.DELETE('/v1/console/session');
    setState({ loading: false });
  }, []);

  if (state.loading) return <p className="skeleton" aria-busy="true">Loading…</p>;
  if (state.error) return <ErrorState message={state.error} retry={load} />;
  if (!state.session) return <SignIn onSignedIn={(session) => setState({ session, loading: false })} />;
  return <SessionContext.Provider value={{ session: state.session, signOut }}>{children}</SessionContext.Provider>;
}
