import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client, type Schemas } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { Async, Button, Card, DateText, Empty, ErrorBox, Notice, PageTitle, Table, TextField, Td } from '../components/ui';
import { useAction } from '../lib/useAction';
import { AccountNav } from './AccountNav';

export default function ApiKeysPage() {
  const qc = useQueryClient();
  const keys = $api.useQuery('get', '/api/api-keys');
  const [name, setName] = useState('');
  const [created, setCreated] = useState<Schemas['CreatedApiKey'] | null>(null);
  const act = useAction();
  const revoke = useAction();
  const refresh = () => qc.invalidateQueries({ queryKey: ['get', '/api/api-keys'] });

  async function submit(e: FormEvent) {
    e.preventDefault();
    const k = await act.run(() => unwrap(client.POST('/api/api-keys', { body: { name } })));
    if (k) {
      setCreated(k);
      setName('');
      await refresh();
    }
  }
  async function remove(id: string) {
    if (!window.confirm('Revoke this key? Programs using it stop working.')) return;
    await revoke.run(() => unwrap(client.DELETE('/api/api-keys/{id}', { params: { path: { id } } })));
    await refresh();
  }

  return (
    <div>
      <PageTitle>API keys</PageTitle>
      <AccountNav />
      <Card className="mb-6">
        <form onSubmit={submit} noValidate aria-label="Create an API key" className="flex flex-wrap items-end gap-3">
          <div className="min-w-60 flex-1">
            <TextField label="Key name" value={name} onChange={(e) => setName(e.target.value)} error={fieldError(act.error, 'name')} />
          </div>
          <div className="mb-3">
            <Button type="submit" busy={act.busy}>
              Create key
            </Button>
          </div>
        </form>
        {act.error && !act.error.field && <ErrorBox error={new Error(act.error.message)} />}
        {created && (
          <Notice tone="warn">
            <p className="font-semibold">Copy your new key now: it is shown only once.</p>
            <label htmlFor="new-key" className="sr-only">
              New API key
            </label>
            <input id="new-key" readOnly value={created.key} className="mt-2 w-full rounded border border-amber-400 bg-white p-2 font-mono text-sm" onFocus={(e) => e.target.select()} />
            <p className="mt-1 text-xs">Send it as the X-API-Key header.</p>
          </Notice>
        )}
      </Card>
      {revoke.error && <ErrorBox error={new Error(revoke.error.message)} />}
      <Async q={keys}>
        {(items) =>
          items.length === 0 ? (
            <Empty>No API keys yet.</Empty>
          ) : (
            <Table caption="Your API keys" head={['Name', 'Prefix', 'Created', 'Last used', 'Status', '']}>
              {items.map((k) => (
                <tr key={k.id}>
                  <Td>{k.name}</Td>
                  <Td className="font-mono">{k.prefix}…</Td>
                  <Td><DateText value={k.createdAt} /></Td>
                  <Td><DateText value={k.lastUsedAt} time /></Td>
                  <Td>{k.revokedAt ? 'Revoked' : 'Active'}</Td>
                  <Td>
                    {!k.revokedAt && (
                      <Button variant="danger" onClick={() => void remove(k.id)} aria-label={`Revoke key ${k.name}`}>
                        Revoke
                      </Button>
                    )}
                  </Td>
                </tr>
              ))}
            </Table>
          )
        }
      </Async>
    </div>
  );
}
