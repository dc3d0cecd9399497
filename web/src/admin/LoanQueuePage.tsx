import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { $api, client, type Schemas } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { Async, Badge, Button, Card, DateText, Empty, ErrorBox, Money, PageTitle, Pagination, SelectField, TextField } from '../components/ui';
import { label } from '../campaigns/constants';
import { ScoreFactors } from '../loans/ScoreFactors';
import { useAction } from '../lib/useAction';
import type { AdminLoanStatusFilter } from '../api/types';
import { AdminNav } from './AdminNav';

const STATUSES = ['pending_review', 'scoring', 'fundraising', 'active', 'late', 'defaulted', 'repaid', 'rejected', 'written_off'];

export default function LoanQueuePage() {
  const [status, setStatus] = useState('pending_review');
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/admin/loans', { params: { query: { status: status as AdminLoanStatusFilter, page, limit: 20 } } });
  return (
    <div>
      <PageTitle>Loan review</PageTitle>
      <AdminNav />
      <div className="max-w-xs">
        <SelectField label="Status" value={status} onChange={(e) => { setStatus(e.target.value); setPage(1); }} options={STATUSES.map((s) => ({ value: s, label: label(s) }))} />
      </div>
      <Async q={q}>
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No loans in this state.</Empty>
          ) : (
            <>
              <ul className="space-y-4">
                {d.items.map((l) => (
                  <li key={l.id}>
                    <Review loan={l} />
                  </li>
                ))}
              </ul>
              <Pagination page={d.page} limit={d.limit} total={d.total} onPage={setPage} />
            </>
          )
        }
      </Async>
    </div>
  );
}

function Review({ loan }: { loan: Schemas['AdminLoanDto'] }) {
  const qc = useQueryClient();
  const act = useAction();
  const [reason, setReason] = useState('');
  const refresh = () => qc.invalidateQueries({ queryKey: ['get', '/api/admin/loans'] });
  async function approve() {
    if (await act.run(() => unwrap(client.POST('/api/admin/loans/{id}/approve', { params: { path: { id: loan.id } } })))) await refresh();
  }
  async function reject() {
    if (await act.run(() => unwrap(client.POST('/api/admin/loans/{id}/reject', { params: { path: { id: loan.id } }, body: { reason: reason || undefined } }))))
      await refresh();
  }
  async function writeOff() {
    if (!window.confirm('Write this loan off?')) return;
    if (await act.run(() => unwrap(client.POST('/api/admin/loans/{id}/write-off', { params: { path: { id: loan.id } } })))) await refresh();
  }
  return (
    <Card>
      <div className="grid gap-4 md:grid-cols-2">
        <div>
          <h2 className="text-lg font-semibold">
            <Link to={`/loans/${loan.id}`}>{loan.purpose}</Link> {loan.recommended && <Badge>Recommended</Badge>}
          </h2>
          <p className="text-sm">
            {loan.borrowerName} · <Money amount={loan.amount} /> over {loan.termMonths} months · <Badge>{label(loan.status)}</Badge>
          </p>
          <p className="text-xs text-slate-700">
            Applied <DateText value={loan.createdAt} time />
          </p>
          <p className="mt-2 text-sm">{loan.description}</p>
        </div>
        <div>{loan.score ? <ScoreFactors score={loan.score} /> : <p className="text-sm">Not scored yet.</p>}</div>
      </div>
      {act.error && !act.error.field && <ErrorBox error={new Error(act.error.message)} />}
      {loan.status === 'pending_review' && (
        <div className="mt-3 flex flex-wrap items-end gap-2">
          <div className="mb-3">
            <Button onClick={() => void approve()} busy={act.busy} aria-label={`Approve loan ${loan.purpose}`}>
              Approve
            </Button>
          </div>
          <div className="min-w-60 flex-1">
            <TextField label="Rejection reason" hint="Required to reject; the borrower is told." value={reason} onChange={(e) => setReason(e.target.value)} error={fieldError(act.error, 'reason')} />
          </div>
          <div className="mb-3">
            <Button variant="danger" onClick={() => void reject()} busy={act.busy} aria-label={`Reject loan ${loan.purpose}`}>
              Reject
            </Button>
          </div>
        </div>
      )}
      {loan.status === 'defaulted' && (
        <Button variant="danger" className="mt-3" onClick={() => void writeOff()} busy={act.busy}>
          Write off
        </Button>
      )}
    </Card>
  );
}
