import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client, type Schemas } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { Async, Badge, Button, Card, Checkbox, DateText, Empty, ErrorBox, Notice, PageTitle, Pagination, Table, TextField, Td } from '../components/ui';
import { useAction } from '../lib/useAction';
import type { WebhookEvent } from '../api/types';
import { AccountNav } from './AccountNav';

// The spec types `events` as plain strings; these are the kinds the API documents.
const EVENTS: WebhookEvent[] = [
  'donation.created',
  'donation.refunded',
  'campaign.goal_reached',
  'campaign.settled',
  'loan.approved',
  'loan.rejected',
  'loan.funded',
  'loan.repayment_received',
  'loan.late',
  'loan.defaulted',
];

export default function WebhooksPage() {
  const qc = useQueryClient();
  const { user } = useAuth();
  const list = $api.useQuery('get', '/api/webhooks');
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<WebhookEvent[]>(['donation.created']);
  const [platform, setPlatform] = useState(false);
  const [created, setCreated] = useState<Schemas['CreatedWebhookDto'] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const act = useAction();
  const del = useAction();
  const refresh = () => qc.invalidateQueries({ queryKey: ['get', '/api/webhooks'] });

  async function submit(e: FormEvent) {
    e.preventDefault();
    const w = await act.run(() =>
      unwrap(client.POST('/api/webhooks', { body: { url, events, description: description || undefined, platform: platform || undefined } })),
    );
    if (w) {
      setCreated(w);
      setUrl('');
      setDescription('');
      await refresh();
    }
  }
  async function remove(id: string) {
    if (!window.confirm('Delete this endpoint?')) return;
    await del.run(() => unwrap(client.DELETE('/api/webhooks/{id}', { params: { path: { id } } })));
    await refresh();
  }

  return (
    <div>
      <PageTitle>Outgoing webhooks</PageTitle>
      <AccountNav />
      <Card className="mb-6">
        <h2 className="mb-2 text-lg font-semibold">Register an endpoint</h2>
        <form onSubmit={submit} noValidate aria-label="Register a webhook endpoint">
          <TextField label="URL" type="url" placeholder="https://example.com/hooks/commonpot" value={url} onChange={(e) => setUrl(e.target.value)} error={fieldError(act.error, 'url')} />
          <TextField label="Description (optional)" maxLength={200} value={description} onChange={(e) => setDescription(e.target.value)} error={fieldError(act.error, 'description')} />
          <fieldset className="mb-3">
            <legend className="mb-1 text-sm font-medium">Events</legend>
            <div className="grid gap-x-4 sm:grid-cols-2">
              {EVENTS.map((ev) => (
                <Checkbox
                  key={ev}
                  label={ev}
                  checked={events.includes(ev)}
                  onChange={(e) => setEvents((cur) => (e.target.checked ? [...cur, ev] : cur.filter((x) => x !== ev)))}
                />
              ))}
            </div>
            {fieldError(act.error, 'events') && (
              <p role="alert" className="text-sm text-red-700">
                {fieldError(act.error, 'events')}
              </p>
            )}
          </fieldset>
          {user?.role === 'admin' && <Checkbox label="Platform-wide (all campaigns and loans)" checked={platform} onChange={(e) => setPlatform(e.target.checked)} />}
          {act.error && !act.error.field && <ErrorBox error={new Error(act.error.message)} />}
          <Button type="submit" busy={act.busy}>
            Register
          </Button>
        </form>
        {created && (
          <Notice tone="warn">
            <p className="font-semibold">Signing secret (shown once):</p>
            <label htmlFor="wh-secret" className="sr-only">
              Signing secret
            </label>
            <input id="wh-secret" readOnly value={created.secret} className="mt-2 w-full rounded border border-amber-400 bg-white p-2 font-mono text-sm" onFocus={(e) => e.target.select()} />
          </Notice>
        )}
      </Card>
      {del.error && <ErrorBox error={new Error(del.error.message)} />}
      <Async q={list}>
        {(items) =>
          items.length === 0 ? (
            <Empty>No endpoints registered.</Empty>
          ) : (
            <ul className="space-y-3">
              {items.map((w) => (
                <li key={w.id} className="rounded-lg border border-slate-200 bg-white p-3">
                  <div className="flex flex-wrap items-center justify-between gap-2">
                    <div className="min-w-0">
                      <p className="font-mono text-sm break-all">{w.url}</p>
                      <p className="text-xs text-slate-700">
                        {w.events.join(', ')} {w.platform && <Badge>platform</Badge>} {w.description}
                      </p>
                    </div>
                    <div className="flex gap-2">
                      <Button variant="secondary" aria-expanded={open === w.id} onClick={() => setOpen(open === w.id ? null : w.id)}>
                        Deliveries
                      </Button>
                      <Button variant="danger" onClick={() => void remove(w.id)} aria-label={`Delete endpoint ${w.url}`}>
                        Delete
                      </Button>
                    </div>
                  </div>
                  {open === w.id && <Deliveries id={w.id} />}
                </li>
              ))}
            </ul>
          )
        }
      </Async>
    </div>
  );
}

function Deliveries({ id }: { id: string }) {
  const qc = useQueryClient();
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/webhooks/{id}/deliveries', { params: { path: { id }, query: { page, limit: 20 } } });
  const act = useAction();
  async function replay(deliveryId: string) {
    const r = await act.run(() =>
      unwrap(client.POST('/api/webhooks/{id}/deliveries/{delivery_id}/replay', { params: { path: { id, delivery_id: deliveryId } } })),
    );
    if (r) await qc.invalidateQueries({ queryKey: ['get', '/api/webhooks/{id}/deliveries'] });
  }
  return (
    <div className="mt-3">
      {act.error && <ErrorBox error={new Error(act.error.message)} />}
      <Async q={q}>
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No deliveries yet.</Empty>
          ) : (
            <>
              <Table caption="Deliveries" head={['When', 'Event', 'Status', 'Attempts', 'Last result', '']}>
                {d.items.map((x) => (
                  <tr key={x.id}>
                    <Td><DateText value={x.createdAt} time /></Td>
                    <Td>{x.event}</Td>
                    <Td><Badge>{x.status}</Badge></Td>
                    <Td>{x.attempts}</Td>
                    <Td>
                      {x.lastStatusCode ?? ''} {x.lastError ?? ''}
                    </Td>
                    <Td>
                      <Button variant="secondary" busy={act.busy} onClick={() => void replay(x.id)} aria-label={`Replay delivery ${x.id.slice(0, 8)}`}>
                        Replay
                      </Button>
                    </Td>
                  </tr>
                ))}
              </Table>
              <Pagination page={d.page} limit={d.limit} total={d.total} onPage={setPage} />
            </>
          )
        }
      </Async>
    </div>
  );
}
