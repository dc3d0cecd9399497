import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Navigate, useLocation, useNavigate } from 'react-router-dom';
import { $api, client, setUnauthorizedHandler, type Schemas } from '../api/client';
import { tokens } from './tokens';
import { Loading } from '../components/ui';

type User = Schemas['UserDto'];
type AuthResponse = Schemas['AuthResponse'];

interface AuthState {
  user: User | null;
  signedIn: boolean;
  loading: boolean;
  signIn: (resp: AuthResponse) => void;
  signOut: () => Promise<void>;
  /** Forgets the tokens and cached data without calling the API (its sessions already ended). */
  signOutLocally: () => void;
}

const Ctx = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const v = useContext(Ctx);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

export function loginPath(location: { pathname: string; search: string }): string {
  const next = location.pathname + location.search;
  return `/login?next=${encodeURIComponent(next)}`;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [signedIn, setSignedIn] = useState(() => tokens.tokens !== null);
  const me = $api.useQuery('get', '/api/users/me', {}, { enabled: signedIn, staleTime: 60_000, retry: false });

  useEffect(() => {
    tokens.schedule();
    const off = tokens.subscribe((t) => setSignedIn(t !== null));
    const onStorage = () => setSignedIn(tokens.tokens !== null);
    window.addEventListener('storage', onStorage);
    return () => {
      off();
      window.removeEventListener('storage', onStorage);
    };
  }, []);

  const signOutLocally = useCallback(() => {
    tokens.clear();
    qc.clear();
  }, [qc]);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      signOutLocally();
      const loc = window.location;
      if (!loc.pathname.startsWith('/login')) navigate(loginPath(loc), { replace: true });
    });
  }, [navigate, signOutLocally]);

  const signIn = useCallback(
    (resp: AuthResponse) => {
      tokens.set(resp);
      qc.setQueryData($api.queryOptions('get', '/api/users/me', {}).queryKey, resp.user);
      setSignedIn(true);
    },
    [qc],
  );

  const signOut = useCallback(async () => {
    try {
      await client.POST('/api/auth/logout');
    } catch {
      // Signing out locally is what matters.
    }
    signOutLocally();
    navigate('/');
  }, [navigate, signOutLocally]);

  const value = useMemo<AuthState>(
    () => ({
      user: signedIn ? (me.data ?? null) : null,
      signedIn,
      loading: signedIn && me.isPending,
      signIn,
      signOut,
      signOutLocally,
    }),
    [me.data, me.isPending, signedIn, signIn, signOut, signOutLocally],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function RequireAuth({ children, admin }: { children: ReactNode; admin?: boolean }) {
  const { signedIn, user, loading } = useAuth();
  const location = useLocation();
  if (!signedIn) return <Navigate to={loginPath(location)} replace />;
  if (admin) {
    if (loading || !user) return <Loading />;
    if (user.role !== 'admin')
      return (
        <p role="alert" className="py-8">
          This page is for administrators.
        </p>
      );
  }
  return <>{children}</>;
}
