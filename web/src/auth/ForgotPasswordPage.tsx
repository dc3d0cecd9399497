import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { client } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { Button, Card, ErrorBox, Notice, PageTitle, TextField } from '../components/ui';
import { useAction } from '../lib/useAction';

export default function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const act = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    // The API answers 202 whether or not the address has an account, so success says no more.
    const ok = await act.run(async () => {
      await unwrap(client.POST('/api/auth/password-reset', { body: { email } }));
      return true;
    });
    if (ok) setSent(true);
  }

  const error = act.error;
  return (
    <div className="mx-auto max-w-md">
      <PageTitle>Reset your password</PageTitle>
      <Card>
        {sent ? (
          <Notice tone="success">If an account exists for that address, we&rsquo;ve sent a link valid for one hour.</Notice>
        ) : (
          <form onSubmit={submit} noValidate aria-label="Ask for a reset link">
            <p className="mb-3 text-sm text-slate-700">Enter your account&rsquo;s email and we&rsquo;ll send you a link to choose a new password.</p>
            {error && !error.field && (
              <ErrorBox error={new Error(error.code === 'rate_limited' ? 'Too many reset requests from your network. Please wait a while and try again.' : error.message)} />
            )}
            <TextField label="Email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} error={fieldError(error, 'email')} />
            <Button type="submit" busy={act.busy} className="w-full">
              Send reset link
            </Button>
          </form>
        )}
        <p className="mt-4 text-sm">
          Remembered it? <Link to="/login">Sign in</Link>
        </p>
      </Card>
    </div>
  );
}
