import { useState, type FormEvent, type ReactNode } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { client } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { Button, Card, ErrorBox, Notice, PageTitle, TextField } from '../components/ui';
import { useAction } from '../lib/useAction';
import { useAuth } from './AuthContext';

/** The API's minimum; checked here too so a typo'd or short password costs no use of the link. */
const MIN_LENGTH = 10;

export default function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { signOutLocally } = useAuth();
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [checks, setChecks] = useState<{ password?: string; repeat?: string }>({});
  const [done, setDone] = useState(false);
  const act = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const found = {
      password: password.length < MIN_LENGTH ? `Use at least ${MIN_LENGTH} characters.` : undefined,
      repeat: repeat !== password ? 'The two passwords do not match.' : undefined,
    };
    setChecks(found);
    if (found.password || found.repeat) return;
    const ok = await act.run(async () => {
      await unwrap(client.POST('/api/auth/password-reset/confirm', { body: { token, password } }));
      return true;
    });
    if (ok) {
      // The reset ended every session of the account, this browser's included.
      signOutLocally();
      setDone(true);
    }
  }

  if (done)
    return (
      <Frame>
        <Notice tone="success">Your new password is set, and every device that was signed in has been signed out.</Notice>
        <p className="text-sm">
          <Link to="/login">Sign in with your new password</Link>
        </p>
      </Frame>
    );

  if (!token || act.error?.code === 'invalid_token')
    return (
      <Frame>
        <Notice tone="warn">This reset link is invalid, has expired or was already used.</Notice>
        <p className="text-sm">
          <Link to="/forgot-password">Ask for a new link</Link>
        </p>
      </Frame>
    );

  const error = act.error;
  return (
    <Frame>
      <form onSubmit={submit} noValidate aria-label="Choose a new password">
        {error && !error.field && <ErrorBox error={new Error(error.message)} />}
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          hint={`At least ${MIN_LENGTH} characters.`}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={checks.password ?? fieldError(error, 'password')}
        />
        <TextField label="Repeat the new password" type="password" autoComplete="new-password" required value={repeat} onChange={(e) => setRepeat(e.target.value)} error={checks.repeat} />
        <Button type="submit" busy={act.busy} className="w-full">
          Set new password
        </Button>
      </form>
    </Frame>
  );
}

function Frame({ children }: { children: ReactNode }) {
  return (
    <div className="mx-auto max-w-md">
      <PageTitle>Choose a new password</PageTitle>
      <Card>{children}</Card>
    </div>
  );
}
