import { useState, type FormEvent } from 'react';
import { api, messageOf } from '../client/api';
import type { Session } from '../session';

/** The admin token is sent once, exchanged for an HttpOnly cookie, and never kept by the page. */
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const fields = new FormData(form);
    const operator = String(fields.get('operator') ?? '').trim();
    setBusy(true);
    const { data, error } = await api.POST('/v1/console/session', {
      body: { token: String(fields.get('token') ?? ''), ...(operator && { operator }) },
    });
    setBusy(false);
    form.reset();
    if (data) onSignedIn(data);
    else setError(messageOf(error, 'sign-in failed'));
  }

  return (
    <main className="sign-in">
      <h1>Payment Center Console</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Admin token
          <input name="token" type="password" autoComplete="off" required />
        </label>
        <label>
          Operator
          <input name="operator" type="text" autoComplete="username" maxLength={128} aria-describedby="operator-hint" />
        </label>
        <p id="operator-hint" className="hint">
          Your name, recorded with every action (needed with the shared admin token; a named token is its own name).
        </p>
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
