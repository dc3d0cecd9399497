// @vitest-environment node
import { describe, expect, it, vi } from 'vitest';
import { TokenManager, type TokenStore, type Tokens } from './tokens';

function memoryStore(initial: Tokens | null): TokenStore & { value: Tokens | null } {
  return {
    value: initial,
    load() {
      return this.value;
    },
    save(t) {
      this.value = t;
    },
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

describe('TokenManager', () => {
  it('returns the stored access token while it is fresh', async () => {
    const store = memoryStore({ accessToken: 'a1', refreshToken: 'r1', expiresAt: 10_000_000 });
    const fetchMock = vi.fn();
    const tm = new TokenManager(store, fetchMock, () => 0);
    expect(await tm.accessToken()).toBe('a1');
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('refreshes once for many concurrent callers and stores the rotated refresh token', async () => {
    const store = memoryStore({ accessToken: 'a1', refreshToken: 'r1', expiresAt: 30_000 });
    let resolve!: (r: Response) => void;
    const fetchMock = vi.fn(
      () =>
        new Promise<Response>((r) => {
          resolve = r;
        }),
    );
    const tm = new TokenManager(store, fetchMock as unknown as typeof fetch, () => 0);
    const calls = [tm.accessToken(), tm.accessToken(), tm.accessToken()];
    await Promise.resolve();
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(JSON.parse(init.body as string)).toEqual({ refreshToken: 'r1' });
    resolve(json({ accessToken: 'a2', refreshToken: 'r2', expiresIn: 900 }));
    expect(await Promise.all(calls)).toEqual(['a2', 'a2', 'a2']);
    expect(store.value).toEqual({ accessToken: 'a2', refreshToken: 'r2', expiresAt: 900_000 });
  });

  it('uses the newest refresh token for the next rotation', async () => {
    let now = 0;
    const store = memoryStore({ accessToken: 'a1', refreshToken: 'r1', expiresAt: 30_000 });
    const bodies: string[] = [];
    const fetchMock = vi.fn(async (_url: string, init: RequestInit) => {
      bodies.push(JSON.parse(init.body as string).refreshToken);
      const n = bodies.length + 1;
      return json({ accessToken: `a${n}`, refreshToken: `r${n}`, expiresIn: 900 });
    });
    const tm = new TokenManager(store, fetchMock as unknown as typeof fetch, () => now);
    expect(await tm.accessToken()).toBe('a2');
    now = 890_000; // close to the second token's expiry
    expect(await tm.accessToken()).toBe('a3');
    expect(bodies).toEqual(['r1', 'r2']);
  });

  it('signs out when the refresh token is refused', async () => {
    const store = memoryStore({ accessToken: 'a1', refreshToken: 'r1', expiresAt: 0 });
    const fetchMock = vi.fn(async () => json({ error: { code: 'unauthorized', message: 'no' } }, 401));
    const tm = new TokenManager(store, fetchMock as unknown as typeof fetch, () => 1);
    const seen: Array<Tokens | null> = [];
    tm.subscribe((t) => seen.push(t));
    expect(await tm.accessToken()).toBeNull();
    expect(store.value).toBeNull();
    expect(seen).toEqual([null]);
  });

  it('starts a new refresh after the previous one settled', async () => {
    const store = memoryStore({ accessToken: 'a1', refreshToken: 'r1', expiresAt: 0 });
    let n = 1;
    const fetchMock = vi.fn(async () => {
      n += 1;
      return json({ accessToken: `a${n}`, refreshToken: `r${n}`, expiresIn: 0 });
    });
    const tm = new TokenManager(store, fetchMock as unknown as typeof fetch, () => 1);
    await tm.refresh();
    await tm.refresh();
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(store.value?.refreshToken).toBe('r3');
  });

  it('uses tokens another tab rotated while it waited for the lock, without refreshing again', async () => {
    const store = memoryStore({ accessToken: 'a1', refreshToken: 'r1', expiresAt: 0 });
    const fetchMock = vi.fn();
    const otherTabFirst = async <T,>(fn: () => Promise<T>) => {
      store.value = { accessToken: 'a2', refreshToken: 'r2', expiresAt: 900_000 };
      return fn();
    };
    const tm = new TokenManager(store, fetchMock as unknown as typeof fetch, () => 1, 60_000, otherTabFirst);
    expect(await tm.accessToken()).toBe('a2');
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
