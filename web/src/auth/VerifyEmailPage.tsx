import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { $api, client } from '../api/client';
import { unwrap } from '../api/errors';
import { Card, ErrorBox, Loading, Notice, PageTitle } from '../components/ui';
import { useAction } from '../lib/useAction';
import { useAuth } from './AuthContext';
import { ResendVerification } from './ResendVerification';

export default function VerifyEmailPage() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { user } = useAuth();
  const qc = useQueryClient();
  const act = useAction();
  const { run } = act;
  const [verified, setVerified] = useState(false);
  const started = useRef(false);

  useEffect(() => {
    // Once: the link works a single time, and React may run effects twice in development.
    if (!token || started.current) return;
    started.current = true;
    void run(async () => {
      await unwrap(client.POST('/api/auth/verify-email', { body: { token } }));
      setVerified(true);
      await qc.invalidateQueries({ queryKey: $api.queryOptions('get', '/api/users/me', {}).queryKey });
    });
  }, [token, run, qc]);

  if (verified)
    return (
      <Frame>
        <Notice tone="success">Your email address is verified. You can now start campaigns and lend.</Notice>
        <p className="text-sm">
          <Link to="/">Browse campaigns</Link>
        </p>
      </Frame>
    );

  if (!token || act.error?.code === 'invalid_token')
    return (
      <Frame>
        <Notice tone="warn">This verification link is invalid, has expired or was already used.</Notice>
        {user && !user.emailVerified ? (
          <ResendVerification />
        ) : (
          !user && (
            <p className="text-sm">
              <Link to="/login">Sign in</Link> to ask for a new link.
            </p>
          )
        )}
      </Frame>
    );

  if (act.error)
    return (
      <Frame>
        <ErrorBox error={new Error(act.error.message)} />
      </Frame>
    );

  return (
    <Frame>
      <Loading />
    </Frame>
  );
}

function Frame({ children }: { children: ReactNode }) {
  return (
    <div className="mx-auto max-w-md">
      <PageTitle>Verify your email address</PageTitle>
      <Card>{children}</Card>
    </div>
  );
}
