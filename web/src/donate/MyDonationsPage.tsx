import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { $api, client, type Schemas } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { Async, Badge, Button, Card, DateText, Empty, ErrorBox, Money, Notice, PageTitle, Pagination, Table, TextField, Td } from '../components/ui';
import { label } from '../campaigns/constants';
import { useAction } from '../lib/useAction';
import { downloadReceipt } from './receipt';

export default function MyDonationsPage() {
  return (
    <div className="space-y-8">
      <PageTitle>My giving</PageTitle>
      <Donations />
      <Recurring />
      <Statements />
    </div>
  );
}

function Donations() {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/donations/me', { params: { query: { page, limit: 20 } } });
  return (
    <section aria-labelledby="don-h">
      <h2 id="don-h" className="mb-2 text-lg font-semibold">
        Donations
      </h2>
      <Async q={q}>
        {(d) =>
          d.items.length === 0 ? (
            <Empty>
              You have not given yet. <Link to="/">Find a campaign</Link>.
            </Empty>
          ) : (
            <>
              <Table caption="Your donations" head={['When', 'Campaign', 'Amount', 'Status', 'Anonymous', 'Receipt']}>
                {d.items.map((x) => (
                  <tr key={x.id}>
                    <Td><DateText value={x.createdAt} /></Td>
                    <Td><Link to={`/campaigns/${x.campaignId}`}>View campaign</Link></Td>
                    <Td><Money amount={x.amount} /></Td>
                    <Td><Badge>{label(x.status)}</Badge></Td>
                    <Td>{x.anonymous ? 'Yes' : 'No'}</Td>
                    <Td><ReceiptLink id={x.id} /></Td>
                  </tr>
                ))}
              </Table>
              <Pagination page={d.page} limit={d.limit} total={d.total} onPage={setPage} />
            </>
          )
        }
      </Async>
    </section>
  );
}

function ReceiptLink({ id }: { id: string }) {
  const act = useAction();
  return (
    <>
      <Button variant="secondary" busy={act.busy} onClick={() => void act.run(() => downloadReceipt(id))} aria-label={`Receipt (PDF) for donation ${id.slice(0, 8)}`}>
        Receipt (PDF)
      </Button>
      {act.error && (
        <p role="alert" className="text-sm text-red-700">
          {act.error.message}
        </p>
      )}
    </>
  );
}

function PlanActions({ plan }: { plan: Schemas['RecurringDto'] }) {
  const qc = useQueryClient();
  const act = useAction();
  async function go(action: 'pause' | 'resume' | 'cancel') {
    if (action === 'cancel' && !window.confirm('Cancel this monthly gift?')) return;
    const r = await act.run(() =>
      unwrap(client.POST('/api/donations/recurring/{id}/{action}', { params: { path: { id: plan.id, action } } })),
    );
    if (r) await qc.invalidateQueries({ queryKey: ['get', '/api/donations/recurring'] });
  }
  return (
    <div className="flex flex-wrap gap-1">
      {plan.status === 'active' && (
        <Button variant="secondary" busy={act.busy} onClick={() => void go('pause')} aria-label={`Pause plan ${plan.id.slice(0, 8)}`}>
          Pause
        </Button>
      )}
      {plan.status === 'paused' && (
        <Button variant="secondary" busy={act.busy} onClick={() => void go('resume')} aria-label={`Resume plan ${plan.id.slice(0, 8)}`}>
          Resume
        </Button>
      )}
      {!['cancelled', 'ended', 'stopped'].includes(plan.status) && (
        <Button variant="danger" busy={act.busy} onClick={() => void go('cancel')} aria-label={`Cancel plan ${plan.id.slice(0, 8)}`}>
          Cancel
        </Button>
      )}
      {act.error && (
        <p role="alert" className="w-full text-sm text-red-700">
          {act.error.message}
        </p>
      )}
    </div>
  );
}

function Recurring() {
  const q = $api.useQuery('get', '/api/donations/recurring');
  return (
    <section aria-labelledby="rec-h">
      <h2 id="rec-h" className="mb-2 text-lg font-semibold">
        Monthly gifts
      </h2>
      <Async q={q}>
        {(plans) =>
          plans.length === 0 ? (
            <Empty>No monthly gifts. Start one from a campaign page.</Empty>
          ) : (
            <Table caption="Your monthly gifts" head={['Campaign', 'Amount', 'Day', 'Status', 'Next charge', 'Actions']}>
              {plans.map((p) => (
                <tr key={p.id}>
                  <Td><Link to={`/campaigns/${p.campaignId}`}>View campaign</Link></Td>
                  <Td><Money amount={p.amount} /></Td>
                  <Td>{p.dayOfMonth}</Td>
                  <Td>
                    <Badge>{label(p.status)}</Badge>
                    {p.statusReason && <span className="block text-xs">{label(p.statusReason)}</span>}
                  </Td>
                  <Td>{p.nextChargeOn}</Td>
                  <Td><PlanActions plan={p} /></Td>
                </tr>
              ))}
            </Table>
          )
        }
      </Async>
    </section>
  );
}

function Statements() {
  const [year, setYear] = useState(String(new Date().getUTCFullYear()));
  const [id, setId] = useState<string | null>(null);
  const act = useAction();
  const report = $api.useQuery(
    'get',
    '/api/donations/statements/{id}',
    { params: { path: { id: id ?? '' } } },
    {
      enabled: !!id,
      refetchInterval: (query) => {
        const s = query.state.data?.status;
        return s === 'done' || s === 'failed' ? false : 1500;
      },
    },
  );
  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = await act.run(() => unwrap(client.POST('/api/donations/statements', { body: { year: Number(year) } })));
    if (r) setId(r.id);
  }
  return (
    <Card>
      <h2 className="mb-2 text-lg font-semibold">Yearly statement (CSV and PDF)</h2>
      <form onSubmit={submit} className="flex flex-wrap items-end gap-3" aria-label="Request a statement">
        <TextField label="Year" inputMode="numeric" value={year} onChange={(e) => setYear(e.target.value)} error={fieldError(act.error, 'year')} />
        <div className="mb-3">
          <Button type="submit" busy={act.busy}>
            Request statement
          </Button>
        </div>
      </form>
      {act.error && !act.error.field && <ErrorBox error={new Error(act.error.message)} />}
      {report.data && (
        <Notice>
          Statement {label(report.data.status).toLowerCase()}
          {report.data.downloadUrl && (
            <>
              {' '}· <a href={report.data.downloadUrl}>Download CSV</a> ({report.data.rowCount ?? 0} rows)
            </>
          )}
          {report.data.pdfUrl && (
            <>
              {' '}· <a href={report.data.pdfUrl}>Download PDF</a>
            </>
          )}
          {report.data.error && <> · {report.data.error}</>}
        </Notice>
      )}
    </Card>
  );
}
