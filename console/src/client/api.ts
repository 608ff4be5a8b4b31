import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

/** The typed API client, generated from /openapi.json (npm run console:api); the cookie signs every call. */
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });

export type Schemas = components['schemas'];

/** The API's error envelope as one sentence for the page. */
export function messageOf(error: unknown, fallback = 'the request failed'): string {
  const e = (error as { error?: { message?: unknown } } | undefined)?.error;
  return typeof e?.message === 'string' ? e.message : fallback;
}

/** The JSON answer (200) of a GET route, by its path. */
export type Answer<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { 'application/json': infer T } } } } } ? T : never;
