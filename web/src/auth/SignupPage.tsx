import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { client } from '../api/client';
import { describe, fieldError, unwrap, type ErrorInfo } from '../api/errors';
import { Button, Card, ErrorBox, PageTitle, TextField } from '../components/ui';
import { useAuth } from './AuthContext';
import { safeNext } from './LoginPage';

export default function SignupPage() {
  const { signIn } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [form, setForm] = useState({ firstName: '', lastName: '', email: '', password: '' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const resp = await unwrap(client.POST('/api/auth/register', { body: form }));
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
      <PageTitle>Create your account</PageTitle>
      <Card>
        <form onSubmit={submit} noValidate>
          {error && !error.field && <ErrorBox error={new Error(error.message)} />}
          <TextField label="First name" autoComplete="given-name" required value={form.firstName} onChange={set('firstName')} error={fieldError(error, 'firstName')} />
          <TextField label="Last name" autoComplete="family-name" required value={form.lastName} onChange={set('lastName')} error={fieldError(error, 'lastName')} />
          <TextField label="Email" type="email" autoComplete="email" required value={form.email} onChange={set('email')} error={fieldError(error, 'email')} />
          <TextField label="Password" type="password" autoComplete="new-password" required hint="At least 10 characters." value={form.password} onChange={set('password')} error={fieldError(error, 'password')} />
          <Button type="submit" busy={busy} className="w-full">
            Sign up
          </Button>
        </form>
        <p className="mt-4 text-sm">
          Already have an account? <Link to="/login">Sign in</Link>
        </p>
      </Card>
    </div>
  );
}
