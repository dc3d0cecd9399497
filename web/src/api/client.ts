// The only hand-written part of the API layer: the generated types (schema.d.ts, `npm run gen`)
// plus a fetch wrapper that adds the bearer token, refreshes it once on a 401 and retries, and
// reports a definitive 401 so the app can send the person to sign in.
import createFetchClient from 'openapi-fetch';
import createQueryClient from 'openapi-react-query';
import type { components, paths } from './schema';
import { tokens, type TokenManager } from '../auth/tokens';

export type Schemas = components['schemas'];

// Sent without credentials: a stale token must not trigger a refresh (or a sign-in redirect) on
// the routes people use while signed out.
const PUBLIC_AUTH = ['/api/auth/login', '/api/auth/register', '/api/auth/refresh', '/api/auth/password-reset', '/api/auth/password-reset/confirm', '/api/auth/verify-email'];

let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export function createAuthFetch(tm: TokenManager, base: typeof fetch = (...a) => fetch(...a)) {
  return async function authFetch(input: Request): Promise<Response> {
    const path = new URL(input.url, 'http://x').pathname;
    if (PUBLIC_AUTH.includes(path)) return base(input);
    const retry = input.clone();
    const token = await tm.accessToken();
    if (token) input.headers.set('Authorization', `Bearer ${token}`);
    const res = await base(input);
    if (res.status !== 401 || !token) return res;
    // The token may have been revoked or expired early: refresh once and try again.
    const fresh = await tm.refresh();
    if (!fresh) {
      onUnauthorized();
      return res;
    }
    retry.headers.set('Authorization', `Bearer ${fresh}`);
    const second = await base(retry);
    if (second.status === 401) onUnauthorized();
    return second;
  };
}

export const client = createFetchClient<paths>({
  baseUrl: typeof window === 'undefined' ? 'http://localhost' : window.location.origin,
  fetch: createAuthFetch(tokens),
});

export const $api = createQueryClient(client);
