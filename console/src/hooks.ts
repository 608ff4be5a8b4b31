import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { messageOf } from './client/api';

/** The three states of a view: loading (a skeleton), an error (the API's message with a retry), the data. */
export interface Loaded<T> {
  data?: T;
  error?: string;
  loading: boolean;
  reload: () => void;
}

/** Loads with `load` whenever `key` changes; `quiet` reloads (following live) keep the data on screen. */
export function useLoad<T>(load: () => Promise<{ data?: T; error?: unknown }>, key: string): Loaded<T> & { refresh: () => Promise<void> } {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  // `key` names everything `load` reads.
  const run = useCallback(load, [key]);
  const refresh = useCallback(async () => {
    const answer = await run();
    setState(answer.data !== undefined ? { data: answer.data, loading: false } : { error: messageOf(answer.error), loading: false });
  }, [run]);
  const reload = useCallback(() => {
    setState({ loading: true });
    void refresh();
  }, [refresh]);
  useEffect(reload, [reload]);
  return { ...state, reload, refresh };
}

/** Calls `tick` every `ms` while `on`. */
export function useEvery(ms: number, on: boolean, tick: () => unknown) {
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => void tick(), ms);
    return () => clearInterval(timer);
  }, [ms, on, tick]);
}

/**
 * A view's filters, each a query parameter of its URL (reload and a shared link reopen the same view):
 * their values (with defaults), and a form handler that writes the form's fields to the URL.
 */
export function useFilters<N extends string>(defaults: Record<N, string>) {
  const [params, setParams] = useSearchParams();
  const names = Object.keys(defaults) as N[];
  const key = params.toString();
  const values = useMemo(
    () => Object.fromEntries(names.map((n) => [n, params.get(n) || defaults[n]])) as Record<N, string>,
    [key],
  );
  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const fields = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const n of names) {
      const v = String(fields.get(n) ?? '').trim();
      if (v) next.set(n, v);
    }
    setParams(next);
  };
  const set = (changes: Partial<Record<N | 'after', string | undefined>>) => {
    const next = new URLSearchParams(params);
    for (const [n, v] of Object.entries(changes)) {
      if (v) next.set(n, v as string);
      else next.delete(n);
    }
    setParams(next);
  };
  return { values, apply, set, key, params };
}

/** The periods of the finance reports. */
export const PERIODS = ['day', 'month'] as const;

/** Today and a day `days` before it, as YYYY-MM-DD (the browser's calendar; the API reads them as business days). */
export function isoDay(offsetDays = 0): string {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
