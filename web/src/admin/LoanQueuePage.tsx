import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { $api, client, type Schemas } from '../api/client';
import { unwrap } from '../api/errors';
import { Async, Badge, Button, Card, DateText, Empty, ErrorBox, Money, PageTitle, Pagination, SelectField } from '../components/ui';
import { label } from '../campaigns/constants';
import { ScoreFactors } from '../loans/ScoreFactors';
import { useAction } from '../lib/useAction';
import type { AdminLoanStatusFilter } from '../api/types';
import { AdminNav } from './AdminNav';
import { ReasonAction } from './ReasonAction';

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
  const refresh = () => qc.invalidateQueries({ queryKey: ['get', '/api/admin/loans'] });
  const path = { params: { path: { id: loan.id } } };
  async function approve() {
    if (await act.run(() => unwrap(client.POST('/api/admin/loans/{id}/approve', path)))) await refresh();
  }
  async function reject(reason: string | undefined) {
    await unwrap(client.POST('/api/admin/loans/{id}/reject', { ...path, body: { reason } }));
    await refresh();
  }
  async function writeOff(reason: string | undefined) {
    await unwrap(client.POST('/api/admin/loans/{id}/write-off', { ...path, body: { reason } }));
    await refresh();
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
      {act.error && <ErrorBox error={new Error(act.error.message)} />}
      {loan.status === 'pending_review' && (
        <div className="mt-3 flex flex-wrap items-start gap-2">
          <Button onClick={() => void approve()} busy={act.busy} aria-label={`Approve loan ${loan.purpose}`}>
            Approve
          </Button>
          <ReasonAction
            trigger="Reject"
            name={`Reject loan ${loan.purpose}`}
            prompt="Why reject it?"
            hint="Shown to the borrower and kept in the admin audit log."
            confirm="Reject loan"
            required
            onConfirm={reject}
          />
        </div>
      )}
      {loan.status === 'defaulted' && (
        <div className="mt-3">
          <ReasonAction
            trigger="Write off"
            name={`Write off loan ${loan.purpose}`}
            prompt="Why write it off?"
            hint="What is still owed is lost to the lenders. Kept in the admin audit log."
            confirm="Write loan off"
            required
            onConfirm={writeOff}
          />
        </div>
      )}
    </Card>
  );
}
