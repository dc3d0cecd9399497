import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { client } from '../api/client';
import { describe, fieldError, unwrap, type ErrorInfo } from '../api/errors';
import { Button, Card, ErrorBox, PageTitle, TextField } from '../components/ui';
import { useAuth } from './AuthContext';

/** Only same-site paths are followed after signing in. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export default function LoginPage() {
  const { signIn } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const resp = await unwrap(client.POST('/api/auth/login', { body: { email, password } }));
      signIn(resp);
      navigate(safeNext(params.get('next')), { replace: true });
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="mx-auto max-w-md">
      <PageTitle>Sign in</PageTitle>
      <Card>
        <form onSubmit={submit} noValidate>
          {error && !error.field && <ErrorBox error={new Error(error.message)} />}
          <TextField label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(error, 'email')} />
          <TextField label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} error={fieldError(error, 'password')} />
          <p className="-mt-1 mb-3 text-sm">
            <Link to="/forgot-password">Forgot password?</Link>
          </p>
          <Button type="submit" busy={busy} className="w-full">
            Sign in
          </Button>
        </form>
        <p className="mt-4 text-sm">
          New here? <Link to={`/signup${params.get('next') ? `?next=${encodeURIComponent(params.get('next') ?? '')}` : ''}`}>Create an account</Link>
        </p>
      </Card>
    </div>
  );
}
