import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client, type Schemas } from '../api/client';
import { unwrap } from '../api/errors';
import { Async, Badge, Button, DateText, ErrorBox, Notice, PageTitle, Table, Td } from '../components/ui';
import { useAction } from '../lib/useAction';
import { AccountNav } from './AccountNav';

/** Sessions from before the API kept devices come dated at the epoch: shown as unknown. */
const known = (at: string) => (Date.parse(at) > 0 ? at : null);
const deviceName = (s: Schemas['SessionDto']) => s.device || 'Unknown device';

export default function SessionsPage() {
  const qc = useQueryClient();
  const sessions = $api.useQuery('get', '/api/users/me/sessions');
  const act = useAction();
  const [ended, setEnded] = useState<number | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['get', '/api/users/me/sessions'] });

  async function endOne(id: string) {
    setEnded(null);
    await act.run(() => unwrap(client.DELETE('/api/users/me/sessions/{id}', { params: { path: { id } } })));
    await refresh();
  }
  async function endOthers() {
    setEnded(null);
    const r = await act.run(() => unwrap(client.DELETE('/api/users/me/sessions')));
    if (r) setEnded(r.ended);
    await refresh();
  }

  return (
    <div>
      <PageTitle>Sessions</PageTitle>
      <AccountNav />
      <p className="mb-3 text-sm text-slate-700">
        Where your account is signed in. Signing a session out ends it at once: that device has to sign in again.
      </p>
      {act.error && <ErrorBox error={new Error(act.error.message)} />}
      {ended !== null && (
        <Notice tone="success">
          Signed out {ended} other session{ended === 1 ? '' : 's'}.
        </Notice>
      )}
      <Async q={sessions}>
        {(items) => (
          <>
            <Table caption="Your sessions" head={['Device', 'Signed in', 'Last active', '']}>
              {items.map((s) => (
                <tr key={s.id}>
                  <Td className="break-words">
                    {deviceName(s)} {s.current && <Badge>This device</Badge>}
                  </Td>
                  <Td><DateText value={known(s.createdAt)} time /></Td>
                  <Td><DateText value={known(s.lastUsedAt)} time /></Td>
                  <Td>
                    {/* This device signs out with the usual Sign out. */}
                    {!s.current && (
                      <Button variant="secondary" disabled={act.busy} onClick={() => void endOne(s.id)} aria-label={`Sign out ${deviceName(s)}`}>
                        Sign out
                      </Button>
                    )}
                  </Td>
                </tr>
              ))}
            </Table>
            {items.some((s) => !s.current) && (
              <Button variant="danger" className="mt-4" busy={act.busy} onClick={() => void endOthers()}>
                Sign out all other sessions
              </Button>
            )}
          </>
        )}
      </Async>
    </div>
  );
}
