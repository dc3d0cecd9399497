import { describe, expect, it, vi } from 'vitest';
import { TokenManager, type TokenStore, type Tokens } from '../auth/tokens';
import { createAuthFetch, setUnauthorizedHandler } from './client';

function store(v: Tokens | null): TokenStore & { value: Tokens | null } {
  return { value: v, load() { return this.value; }, save(t) { this.value = t; } };
}
const ok = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('authFetch', () => {
  it('refreshes once on a 401 and retries the request with the new token', async () => {
    const s = store({ accessToken: 'old', refreshToken: 'r1', expiresAt: 10_000_000 });
    const seen: string[] = [];
    const base = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      if (input === '/api/auth/refresh') {
        expect(JSON.parse(String(init?.body))).toEqual({ refreshToken: 'r1' });
        return ok({ accessToken: 'new', refreshToken: 'r2', expiresIn: 900 });
      }
      const req = input as Request;
      seen.push(`${req.headers.get('Authorization')} ${await req.text()}`);
      return req.headers.get('Authorization') === 'Bearer new' ? ok({ fine: true }) : ok({ error: { code: 'unauthorized', message: 'x' } }, 401);
    });
    const tm = new TokenManager(s, base as unknown as typeof fetch, () => 0);
    const f = createAuthFetch(tm, base as unknown as typeof fetch);
    const res = await f(new Request('http://localhost/api/wallet/deposits', { method: 'POST', body: '{"amount":100}' }));
    expect(res.status).toBe(200);
    expect(seen).toEqual(['Bearer old {"amount":100}', 'Bearer new {"amount":100}']);
    expect(s.value?.refreshToken).toBe('r2');
  });

  it('reports a definitive 401 so the app can ask to sign in', async () => {
    const s = store({ accessToken: 'old', refreshToken: 'r1', expiresAt: 10_000_000 });
    const base = vi.fn(async () => ok({ error: { code: 'unauthorized', message: 'x' } }, 401));
    const tm = new TokenManager(s, base as unknown as typeof fetch, () => 0);
    const handler = vi.fn();
    setUnauthorizedHandler(handler);
    const res = await createAuthFetch(tm, base as unknown as typeof fetch)(new Request('http://localhost/api/wallet'));
    expect(res.status).toBe(401);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(s.value).toBeNull();
  });
});
