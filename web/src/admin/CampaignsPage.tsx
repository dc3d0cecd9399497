import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { $api, client, type Schemas } from '../api/client';
import { unwrap } from '../api/errors';
import { Async, Badge, Button, Empty, ErrorBox, Money, PageTitle, Pagination, SelectField, Table, TextField, Td } from '../components/ui';
import { label } from '../campaigns/constants';
import { useAction } from '../lib/useAction';
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
            <Empty>No campaigns.</Empty>
          ) : (
            <>
              <Table caption="Campaigns" head={['Title', 'Creator', 'Status', 'Raised', 'Action']}>
                {d.items.map((c) => (
                  <Row key={c.id} c={c} />
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

function Row({ c }: { c: Schemas['CampaignDto'] }) {
  const qc = useQueryClient();
  const act = useAction();
  async function go(kind: 'suspend' | 'reinstate') {
    // A suspension needs a reason for the audit log; the proper form comes with the admin UI work.
    const reason = kind === 'suspend' ? window.prompt(`Why suspend “${c.title}”?`)?.trim() : undefined;
    if (kind === 'suspend' && !reason) return;
    const r = await act.run(() =>
      kind === 'suspend'
        ? unwrap(client.POST('/api/admin/campaigns/{id}/suspend', { params: { path: { id: c.id } }, body: { reason } }))
        : unwrap(client.POST('/api/admin/campaigns/{id}/reinstate', { params: { path: { id: c.id } }, body: {} })),
    );
    if (r) await qc.invalidateQueries({ queryKey: ['get', '/api/campaigns'] });
  }
  return (
    <tr>
      <Td><Link to={`/campaigns/${c.id}`}>{c.title}</Link></Td>
      <Td>{c.creatorName}</Td>
      <Td><Badge>{label(c.status)}</Badge></Td>
      <Td><Money amount={c.raisedAmount} currency={c.currency} /></Td>
      <Td>
        {c.status === 'active' && (
          <Button variant="danger" busy={act.busy} onClick={() => void go('suspend')} aria-label={`Suspend ${c.title}`}>
            Suspend
          </Button>
        )}
        {c.status === 'suspended' && (
          <Button variant="secondary" busy={act.busy} onClick={() => void go('reinstate')} aria-label={`Reinstate ${c.title}`}>
            Reinstate
          </Button>
        )}
        {act.error && <ErrorBox error={new Error(act.error.message)} />}
      </Td>
    </tr>
  );
}
