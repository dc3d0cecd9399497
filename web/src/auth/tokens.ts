// Access and refresh tokens: kept in localStorage, the access token refreshed shortly before
// it expires. The API rotates refresh tokens and revokes the session when an old one is used
// again, so at most one refresh is in flight at a time (callers share its promise) and the new
// refresh token replaces the old one before anyone can use it. Across tabs, refreshes take a Web
// Lock in turn, and a tab that finds the token already rotated by another one uses that instead.

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds when the access token expires. */
  expiresAt: number;
}

export interface TokenResponse {
  accessToken: string;
  refreshToken: string;
  /** Seconds. */
  expiresIn: number;
}

export interface TokenStore {
  load(): Tokens | null;
  save(tokens: Tokens | null): void;
}

export const STORAGE_KEY = 'commonpot.auth';

export const localStore: TokenStore = {
  load() {
    try {
      const raw = localStorage.getItem(STORAGE_KEY);
      return raw ? (JSON.parse(raw) as Tokens) : null;
    } catch {
      return null;
    }
  },
  save(tokens) {
    if (tokens) localStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
    else localStorage.removeItem(STORAGE_KEY);
  },
};

/** Runs fn while holding a cross-tab lock (Web Locks API where the browser has it). */
export type Lock = <T>(fn: () => Promise<T>) => Promise<T>;

export const browserLock: Lock = (fn) =>
  typeof navigator !== 'undefined' && navigator.locks
    ? (navigator.locks.request('commonpot-auth-refresh', fn) as ReturnType<typeof fn>)
    : fn();

export class TokenManager {
  /** Refresh this long before expiry. */
  readonly leewayMs: number;
  private inflight: Promise<string | null> | null = null;
  private listeners = new Set<(t: Tokens | null) => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private store: TokenStore,
    private doFetch: typeof fetch = (...a) => fetch(...a),
    private now: () => number = () => Date.now(),
    leewayMs = 60_000,
    private lock: Lock = browserLock,
  ) {
    this.leewayMs = leewayMs;
  }

  get tokens(): Tokens | null {
    return this.store.load();
  }

  subscribe(fn: (t: Tokens | null) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  set(resp: TokenResponse | null): void {
    const tokens = resp
      ? {
          accessToken: resp.accessToken,
          refreshToken: resp.refreshToken,
          expiresAt: this.now() + resp.expiresIn * 1000,
        }
      : null;
    this.store.save(tokens);
    this.schedule();
    for (const l of this.listeners) l(tokens);
  }

  clear(): void {
    this.set(null);
  }

  /** A valid access token, refreshing first when it is about to expire; null if signed out. */
  async accessToken(): Promise<string | null> {
    const t = this.store.load();
    if (!t) return null;
    if (t.expiresAt - this.now() > this.leewayMs) return t.accessToken;
    return this.refresh();
  }

  /** Refreshes once; concurrent callers share the same request. */
  refresh(): Promise<string | null> {
    if (!this.inflight) {
      const before = this.store.load();
      this.inflight = this.lock(() => this.doRefresh(before)).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async doRefresh(before: Tokens | null): Promise<string | null> {
    const t = this.store.load();
    if (!t) return null;
    if (before && t.refreshToken !== before.refreshToken && t.expiresAt - this.now() > this.leewayMs) {
      // Another tab rotated the tokens while this one waited for the lock.
      this.schedule();
      for (const l of this.listeners) l(t);
      return t.accessToken;
    }
    let res: Response;
    try {
      res = await this.doFetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refreshToken: t.refreshToken }),
      });
    } catch {
      // Network trouble: keep the session, the caller will see its own request fail.
      return t.expiresAt > this.now() ? t.accessToken : null;
    }
    if (!res.ok) {
      // Another tab may have rotated the token meanwhile: use what it stored.
      const latest = this.store.load();
      if (latest && latest.refreshToken !== t.refreshToken) return latest.accessToken;
      if (res.status === 401 || res.status === 403) this.clear();
      return null;
    }
    const body = (await res.json()) as TokenResponse;
    this.set(body);
    return body.accessToken;
  }

  /** Refreshes in the background shortly before expiry while the page is open. */
  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const t = this.store.load();
    if (!t || typeof window === 'undefined') return;
    const wait = Math.max(1_000, t.expiresAt - this.now() - this.leewayMs);
    this.timer = setTimeout(() => {
      void this.refresh();
    }, wait);
  }
}

export const tokens = new TokenManager(localStore);
