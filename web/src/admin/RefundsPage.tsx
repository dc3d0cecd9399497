import { useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client, type Schemas } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { Async, Button, Card, DateText, Empty, ErrorBox, Money, Notice, PageTitle, Pagination, SelectField, Table, TextArea, TextField, Td } from '../components/ui';
import { newIdempotencyKey } from '../donate/DonateForm';
import { formatMoney } from '../lib/money';
import { useAction } from '../lib/useAction';
import { AdminNav } from './AdminNav';
import { ReasonAction } from './ReasonAction';

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
  const keys = useRef(new Map<string, string>());
  const [done, setDone] = useState<Schemas['DonationDto'] | null>(null);
  /** Throws the API's refusal (e.g. a missing reason) for the form to show. */
  async function refund(id: string, reason: string | undefined) {
    // One key per donation for this page's life: retrying a refund never refunds twice. (A
    // refusal for a missing reason comes before the key is used, so the retry still refunds.)
    const key = keys.current.get(id) ?? newIdempotencyKey();
    keys.current.set(id, key);
    const r = await unwrap(
      client.POST('/api/admin/donations/{id}/refund', { params: { path: { id }, header: { 'Idempotency-Key': key } }, body: { reason } }),
    );
    setDone(r);
    await qc.invalidateQueries({ queryKey: ['get', '/api/campaigns/{id}/donations'] });
  }
  return { done, refund };
}

function RefundById() {
  const [id, setId] = useState('');
  const [reason, setReason] = useState('');
  const act = useAction();
  const { done, refund } = useRefund();
  return (
    <Card className="mb-6">
      <form
        aria-label="Refund a donation by id"
        noValidate
        className="grid gap-x-3 sm:grid-cols-[1fr_2fr_auto] sm:items-start"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          void act.run(() => refund(id.trim(), reason.trim() || undefined));
        }}
      >
        <TextField label="Donation id" value={id} onChange={(e) => setId(e.target.value)} spellCheck={false} />
        <TextArea
          label="Why refund it? (required)"
          hint="Kept in the admin audit log."
          rows={1}
          maxLength={1000}
          aria-required
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          error={fieldError(act.error, 'reason')}
        />
        <div className="mb-3 sm:mt-6">
          <Button type="submit" variant="danger" busy={act.busy} disabled={!id.trim()}>
            Refund
          </Button>
        </div>
      </form>
      {act.error && !fieldError(act.error, 'reason') && <ErrorBox error={new Error(act.error.message)} />}
      {done && <Notice tone="success">Refunded {formatMoney(done.amount)}.</Notice>}
    </Card>
  );
}

function Donations({ campaignId }: { campaignId: string }) {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/campaigns/{id}/donations', { params: { path: { id: campaignId }, query: { page, limit: 20 } } });
  const { done, refund } = useRefund();
  return (
    <div>
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
                      <ReasonAction
                        trigger="Refund"
                        name={`Refund ${formatMoney(x.amount)} from ${x.donorName ?? 'anonymous donor'}`}
                        prompt="Why refund it?"
                        hint="The money goes back to the donor’s wallet. Kept in the admin audit log."
                        confirm="Refund donation"
                        required
                        onConfirm={(reason) => refund(x.id, reason)}
                      />
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
