import { useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client, type Schemas } from '../api/client';
import { unwrap } from '../api/errors';
import { Async, Button, Card, DateText, Empty, ErrorBox, Money, Notice, PageTitle, Pagination, SelectField, Table, TextField, Td } from '../components/ui';
import { newIdempotencyKey } from '../donate/DonateForm';
import { formatMoney } from '../lib/money';
import { useAction } from '../lib/useAction';
import { AdminNav } from './AdminNav';

// The API has no admin list of all donations: pick a campaign, then refund from its donor list
// (or paste a donation id).
export default function RefundsPage() {
  const [q, setQ] = useState('');
  const [campaign, setCampaign] = useState('');
  const campaigns = $api.useQuery('get', '/api/campaigns', { params: { query: { q: q || undefined, limit: 50 } } });
  return (
    <div>
      <PageTitle>Refunds</PageTitle>
      <AdminNav />
      <RefundById />
      <div className="grid gap-x-3 sm:grid-cols-2">
        <TextField label="Find a campaign" type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        <SelectField
          label="Campaign"
          value={campaign}
          onChange={(e) => setCampaign(e.target.value)}
          options={[{ value: '', label: 'Choose a campaign' }, ...(campaigns.data?.items ?? []).map((c) => ({ value: c.id, label: `${c.title} (${c.status})` }))]}
        />
      </div>
      {campaign ? <Donations campaignId={campaign} /> : <Empty>Choose a campaign to see its donations.</Empty>}
    </div>
  );
}

function useRefund() {
  const qc = useQueryClient();
  const act = useAction();
  const keys = useRef(new Map<string, string>());
  const [done, setDone] = useState<Schemas['DonationDto'] | null>(null);
  async function refund(id: string) {
    // One key per donation for this page's life: retrying a refund never refunds twice.
    const key = keys.current.get(id) ?? newIdempotencyKey();
    keys.current.set(id, key);
    const r = await act.run(() =>
      unwrap(client.POST('/api/admin/donations/{id}/refund', { params: { path: { id }, header: { 'Idempotency-Key': key } } })),
    );
    if (r) {
      setDone(r);
      await qc.invalidateQueries({ queryKey: ['get', '/api/campaigns/{id}/donations'] });
    }
  }
  return { act, done, refund };
}

function RefundById() {
  const [id, setId] = useState('');
  const { act, done, refund } = useRefund();
  return (
    <Card className="mb-6">
      <form
        aria-label="Refund a donation by id"
        className="flex flex-wrap items-end gap-3"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          if (window.confirm('Refund this donation to the donor’s wallet?')) void refund(id.trim());
        }}
      >
        <div className="min-w-72 flex-1">
          <TextField label="Donation id" value={id} onChange={(e) => setId(e.target.value)} />
        </div>
        <div className="mb-3">
          <Button type="submit" variant="danger" busy={act.busy} disabled={!id.trim()}>
            Refund
          </Button>
        </div>
      </form>
      {act.error && <ErrorBox error={new Error(act.error.message)} />}
      {done && <Notice tone="success">Refunded {formatMoney(done.amount)}.</Notice>}
    </Card>
  );
}

function Donations({ campaignId }: { campaignId: string }) {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/campaigns/{id}/donations', { params: { path: { id: campaignId }, query: { page, limit: 20 } } });
  const { act, done, refund } = useRefund();
  return (
    <div>
      {act.error && <ErrorBox error={new Error(act.error.message)} />}
      {done && <Notice tone="success">Refunded {formatMoney(done.amount)}.</Notice>}
      <Async q={q}>
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No standing donations.</Empty>
          ) : (
            <>
              <Table caption="Donations" head={['When', 'Donor', 'Amount', '']}>
                {d.items.map((x) => (
                  <tr key={x.id}>
                    <Td><DateText value={x.createdAt} time /></Td>
                    <Td>{x.donorName ?? 'Anonymous'}</Td>
                    <Td><Money amount={x.amount} /></Td>
                    <Td>
                      <Button
                        variant="danger"
                        busy={act.busy}
                        aria-label={`Refund ${formatMoney(x.amount)} from ${x.donorName ?? 'anonymous donor'}`}
                        onClick={() => {
                          if (window.confirm('Refund this donation?')) void refund(x.id);
                        }}
                      >
                        Refund
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
