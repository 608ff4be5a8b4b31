import type { FormEvent, ReactNode } from 'react';
import type { Loaded } from '../hooks';

/**
 * The parts every view shares: its filter form (each field a query parameter, see useFilters), the
 * three states of what it loads (a skeleton, the API's message with a retry, "nothing matches"), and
 * its paging buttons.
 */
export function Filters({ apply, formKey, children, label = 'Filters' }: { apply: (e: FormEvent<HTMLFormElement>) => void; formKey: string; children: ReactNode; label?: string }) {
  // Keyed by the URL: a new URL (back, a link) resets the fields to it.
  return (
    <form className="filters" onSubmit={apply} key={formKey} aria-label={label}>
      {children}
      <button type="submit">Apply</button>
    </form>
  );
}

type FieldProps = { name: string; label: string; value: string; required?: boolean };

export function TextField({ name, label, value, required, type = 'text', ...rest }: FieldProps & { type?: 'text' | 'date' | 'number' | 'datetime-local'; pattern?: string; size?: number; min?: number }) {
  return (
    <label>
      {label} <input name={name} type={type} defaultValue={value} required={required} {...rest} />
    </label>
  );
}

export const DateField = (props: FieldProps) => <TextField {...props} type="date" />;

/** A choice among `options`; `any` adds the empty choice (no filter). */
export function SelectField({ name, label, value, options, any = true }: FieldProps & { options: readonly string[]; any?: boolean }) {
  return (
    <label>
      {label}
      <select name={name} defaultValue={value}>
        {any && <option value="">any</option>}
        {options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </label>
  );
}

/** Loading, failed (with a retry), empty (`empty` answers its sentence), or the data. */
export function LoadedView<T>({ state, loading, empty, children }: { state: Loaded<T>; loading: string; empty?: (data: T) => string | false; children: (data: T) => ReactNode }) {
  if (state.loading) return <p className="skeleton" aria-busy="true">{loading}</p>;
  if (state.error !== undefined || state.data === undefined) return <ErrorState message={state.error ?? 'nothing was answered'} retry={state.reload} />;
  const none = empty?.(state.data);
  return none ? <p>{none}</p> : <>{children(state.data)}</>;
}

export function ErrorState({ message, retry }: { message: string; retry: () => void }) {
  return (
    <div role="alert" className="error">
      <p>{message}</p>
      <button type="button" onClick={retry}>
        Retry
      </button>
    </div>
  );
}

/** Keyset paging: back to the first page, and the next one when there is one. */
export function Pages({ first, next }: { first?: { label: string; go: () => void }; next?: { label: string; go: () => void } }) {
  return (
    <nav aria-label="Pages" className="pages">
      {first && (
        <button type="button" onClick={first.go}>
          {first.label}
        </button>
      )}
      {next && (
        <button type="button" onClick={next.go}>
          {next.label}
        </button>
      )}
    </nav>
  );
}
