import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client } from '../api/client';
import { unwrap } from '../api/errors';
import { Button } from '../components/ui';
import { useAction } from '../lib/useAction';

/** Asks the API to mail a new verification link and says how that went. */
export function ResendVerification() {
  const qc = useQueryClient();
  const act = useAction();
  const [sent, setSent] = useState(false);

  async function resend() {
    const ok = await act.run(async () => {
      await unwrap(client.POST('/api/users/me/verification-email'));
      return true;
    });
    if (ok) setSent(true);
  }

  const alreadyVerified = act.error?.code === 'already_verified';
  useEffect(() => {
    // Verified meanwhile (in another tab): reload the account so the banner goes away.
    if (alreadyVerified) void qc.invalidateQueries({ queryKey: $api.queryOptions('get', '/api/users/me', {}).queryKey });
  }, [alreadyVerified, qc]);

  return (
    <span className="inline-flex flex-wrap items-center gap-2">
      <Button variant="secondary" busy={act.busy} onClick={() => void resend()}>
        Resend link
      </Button>
      {sent && <span>A new link is on its way.</span>}
      {act.error && !alreadyVerified && (
        <span role="alert">{act.error.code === 'rate_limited' ? 'You asked for several links in the last hour; please try again later.' : act.error.message}</span>
      )}
    </span>
  );
}
