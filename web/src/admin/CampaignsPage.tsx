import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { $api, client, type Schemas } from '../api/client';
import { unwrap } from '../api/errors';
import { Async, Badge, Button, Empty, ErrorBox, Money, PageTitle, PrevNext, SelectField, Table, TextField, Td } from '../components/ui';
import { label } from '../campaigns/constants';
import { useAction } from '../lib/useAction';
import { ReasonAction } from './ReasonAction';
import type { CampaignStatusFilter } from '../api/types';
import { AdminNav } from './AdminNav';

export default function CampaignsPage() {
  const [status, setStatus] = useState('active');
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const list = $api.useQuery('get', '/api/campaigns', { params: { query: { status: status as CampaignStatusFilter, q: q || undefined, page, limit: 20 } } });
  return (
    <div>
      <PageTitle>Campaign moderation</PageTitle>
      <AdminNav />
      <div className="grid gap-x-3 sm:grid-cols-2">
        <SelectField label="Status" value={status} onChange={(e) => { setStatus(e.target.value); setPage(1); }} options={['active', 'suspended', 'completed', 'cancelled'].map((s) => ({ value: s, label: label(s) }))} />
        <TextField label="Search" type="search" value={q} onChange={(e) => { setQ(e.target.value); setPage(1); }} />
      </div>
      <Async q={list}>
        {(d) =>
          d.items.length === 0 ? (
            <>
              <Empty>No campaigns.</Empty>
              <PrevNext page={d.page} hasMore={false} onPage={setPage} />
            </>
          ) : (
            <>
              <Table caption="Campaigns" head={['Title', 'Creator', 'Status', 'Raised', 'Action']}>
                {d.items.map((c) => (
                  <Row key={c.id} c={c} />
                ))}
              </Table>
              <PrevNext page={d.page} hasMore={d.hasMore} onPage={setPage} />
            </>
          )
        }
      </Async>
    </div>
  );
}

function Row({ c }: { c: Schemas['CampaignDto'] }) {
  const qc = useQueryClient();
  const act = useAction();
  const refresh = () => qc.invalidateQueries({ queryKey: ['get', '/api/campaigns'] });
  const path = { params: { path: { id: c.id } } };
  // The reason forms run their own call (and show its refusal); the plain buttons use `act`.
  async function moderate(kind: 'suspend' | 'reinstate', reason: string | undefined) {
    await unwrap(client.POST(`/api/admin/campaigns/{id}/${kind}`, { ...path, body: { reason } }));
    await refresh();
  }
  async function feature(on: boolean) {
    const r = await act.run(() =>
      unwrap(client.POST(on ? '/api/admin/campaigns/{id}/feature' : '/api/admin/campaigns/{id}/unfeature', { ...path, body: {} })),
    );
    if (r) await refresh();
  }
  return (
    <tr>
      <Td><Link to={`/campaigns/${c.id}`}>{c.title}</Link></Td>
      <Td>{c.creatorName}</Td>
      <Td>
        <span className="flex flex-wrap gap-1">
          <Badge>{label(c.status)}</Badge>
          {c.featured && <Badge>Featured</Badge>}
        </span>
      </Td>
      <Td><Money amount={c.raisedAmount} currency={c.currency} /></Td>
      <Td>
        <div className="flex flex-wrap items-start gap-2">
          {c.status === 'active' && (
            <ReasonAction
              trigger="Suspend"
              name={`Suspend ${c.title}`}
              prompt="Why suspend it?"
              hint="Kept in the admin audit log. The campaign leaves public view and its monthly gifts pause."
              confirm="Suspend campaign"
              required
              onConfirm={(reason) => moderate('suspend', reason)}
            />
          )}
          {c.status === 'suspended' && (
            <ReasonAction
              trigger="Reinstate"
              name={`Reinstate ${c.title}`}
              prompt="Why reinstate it?"
              confirm="Reinstate campaign"
              variant="secondary"
              onConfirm={(reason) => moderate('reinstate', reason)}
            />
          )}
          {c.featured ? (
            <Button variant="secondary" busy={act.busy} onClick={() => void feature(false)} aria-label={`Unfeature ${c.title}`}>
              Unfeature
            </Button>
          ) : (
            c.status === 'active' && (
              <Button variant="secondary" busy={act.busy} onClick={() => void feature(true)} aria-label={`Feature ${c.title}`}>
                Feature
              </Button>
            )
          )}
        </div>
        {act.error && <ErrorBox error={new Error(act.error.message)} />}
      </Td>
    </tr>
  );
}
