import { useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link, useLocation, useParams } from 'react-router-dom';
import { $api, client, type Schemas } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { loginPath, useAuth } from '../auth/AuthContext';
import { MoneyField } from '../components/MoneyField';
import { Async, Badge, Button, Card, DateText, ErrorBox, Money, Notice, PageTitle, ProgressBar, Table, Td } from '../components/ui';
import { label } from '../campaigns/constants';
import { newIdempotencyKey } from '../donate/DonateForm';
import { formatMoney, parseMoney } from '../lib/money';
import { useAction } from '../lib/useAction';
import { ScoreFactors } from './ScoreFactors';

type Loan = Schemas['LoanDetailDto'];
const UNDER_REVIEW = ['submitted', 'scoring', 'pending_review'];
const DISBURSED = ['active', 'late', 'repaid', 'defaulted', 'written_off', 'funded'];

export default function LoanPage() {
  const { id = '' } = useParams();
  const q = $api.useQuery(
    'get',
    '/api/loans/{id}',
    { params: { path: { id } } },
    // Scoring and disbursement happen in the worker: look again until they are done.
    { refetchInterval: (query) => (['submitted', 'scoring', 'funded'].includes(query.state.data?.status ?? '') ? 2000 : false) },
  );
  return <Async q={q} label="Loading loan…">{(l) => <LoanView loan={l} />}</Async>;
}

function LoanView({ loan }: { loan: Loan }) {
  const { user, signedIn } = useAuth();
  const location = useLocation();
  const isBorrower = user?.id === loan.borrowerId;
  // Kept here: a share that completes the funding moves the loan on and the lend form goes away.
  const [lent, setLent] = useState<string | null>(null);
  const myShare = (loan.lenders ?? []).filter((l) => l.lenderId === user?.id).reduce((s, l) => s + l.amount, 0);
  return (
    <div>
      <PageTitle>{loan.purpose}</PageTitle>
      <div className="grid gap-6 lg:grid-cols-[2fr_1fr]">
        <div className="min-w-0 space-y-6">
          <div className="flex flex-wrap gap-2 text-sm">
            <Badge>{label(loan.status)}</Badge>
            <span>
              {loan.borrowerName} · {loan.termMonths} months · {(loan.annualRateBp / 100).toFixed(2)}% a year
            </span>
          </div>
          <p className="whitespace-pre-line">{loan.description}</p>
          {isBorrower && UNDER_REVIEW.includes(loan.status) && <Documents loan={loan} />}
          {isBorrower && (loan.documents?.length ?? 0) > 0 && !UNDER_REVIEW.includes(loan.status) && <DocumentList loan={loan} />}
          {DISBURSED.includes(loan.status) && <Schedule id={loan.id} />}
          {loan.lenders && loan.lenders.length > 0 && (
            <section aria-labelledby="lenders-h">
              <h2 id="lenders-h" className="mb-2 text-lg font-semibold">
                Lenders ({loan.lendersCount})
              </h2>
              <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white">
                {loan.lenders.map((l, i) => (
                  <li key={`${l.lenderId}-${i}`} className="flex justify-between p-2 text-sm">
                    <span>{l.lenderId === user?.id ? 'You' : `Lender ${l.lenderId.slice(0, 8)}`}</span>
                    <Money amount={l.amount} />
                  </li>
                ))}
              </ul>
            </section>
          )}
          {loan.transitions && loan.transitions.length > 0 && (
            <section aria-labelledby="hist-h">
              <h2 id="hist-h" className="mb-2 text-lg font-semibold">
                History
              </h2>
              <ol className="space-y-1 text-sm">
                {loan.transitions.map((t, i) => (
                  <li key={i}>
                    <DateText value={t.createdAt} time />: {t.fromStatus ? `${label(t.fromStatus)} → ` : ''}
                    {label(t.toStatus)} {t.reason && `(${t.reason})`}
                  </li>
                ))}
              </ol>
            </section>
          )}
        </div>
        <div className="space-y-4">
          {UNDER_REVIEW.includes(loan.status) && (
            <Notice>
              {loan.status === 'pending_review' ? 'Scored and waiting for an admin to review it.' : 'Being scored: this takes a moment.'} Lenders see it once approved.
            </Notice>
          )}
          <Card>
            <p className="text-2xl font-bold">
              <Money amount={loan.fundedAmount} /> <span className="text-base font-normal">funded of</span> <Money amount={loan.amount} />
            </p>
            <ProgressBar value={loan.fundedAmount} max={loan.amount} label="Loan funding" />
            <p className="mt-1 text-sm">
              <Money amount={loan.remainingAmount} /> left to fund · {loan.lendersCount} lender{loan.lendersCount === 1 ? '' : 's'}
            </p>
            {loan.totalDue != null && (
              <p className="mt-1 text-sm">
                Repaid <Money amount={loan.repaidAmount} /> of <Money amount={loan.totalDue} />
              </p>
            )}
            {lent && <Notice tone="success">{lent}</Notice>}
            {myShare > 0 && (
              <p className="mt-1 text-sm font-medium" data-testid="my-share">
                You lent {formatMoney(myShare)}
              </p>
            )}
          </Card>
          {loan.status === 'fundraising' && !isBorrower && (
            <Card>{signedIn ? <Lend loan={loan} onLent={setLent} /> : <Link to={loginPath(location)}>Sign in to lend</Link>}</Card>
          )}
          {isBorrower && ['active', 'late'].includes(loan.status) && (
            <Card>
              <Repay loan={loan} />
            </Card>
          )}
          {loan.score && isBorrower && (
            <Card>
              <ScoreFactors score={loan.score} />
            </Card>
          )}
        </div>
      </div>
    </div>
  );
}

/** A money form whose Idempotency-Key lives as long as the attempt (kept across retries). */
function useKeyedAmount() {
  const [value, setValue] = useState('');
  const key = useRef<string | null>(null);
  return {
    value,
    setValue: (v: string) => {
      setValue(v);
      key.current = null;
    },
    key: () => (key.current ??= newIdempotencyKey()),
    reset: () => {
      setValue('');
      key.current = null;
    },
  };
}

function Lend({ loan, onLent }: { loan: Loan; onLent: (msg: string | null) => void }) {
  const qc = useQueryClient();
  const f = useKeyedAmount();
  const act = useAction();
  async function submit(e: FormEvent) {
    e.preventDefault();
    const amount = parseMoney(f.value);
    if (amount === null) {
      act.setError({ code: 'validation_failed', message: 'Enter an amount such as 25', field: 'amount', retryable: false });
      return;
    }
    const key = f.key();
    const r = await act.run(() =>
      unwrap(client.POST('/api/loans/{id}/lend', { params: { path: { id: loan.id }, header: { 'Idempotency-Key': key } }, body: { amount } })),
    );
    if (r) {
      f.reset();
      onLent(`You lent ${formatMoney(r.amount)}.`);
      await qc.invalidateQueries({ queryKey: ['get', '/api/loans/{id}'] });
      await qc.invalidateQueries({ queryKey: ['get', '/api/wallet'] });
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-label="Lend to this loan">
      <h2 className="mb-2 text-lg font-semibold">Lend</h2>
      <MoneyField label="Amount (USD)" value={f.value} onChange={(v) => { f.setValue(v); onLent(null); }} error={fieldError(act.error, 'amount')} hint={`Up to ${formatMoney(loan.remainingAmount)}`} />
      {act.error && !act.error.field && <ErrorBox error={new Error(act.error.message)} />}
      <Button type="submit" busy={act.busy}>
        Lend
      </Button>
    </form>
  );
}

function Repay({ loan }: { loan: Loan }) {
  const qc = useQueryClient();
  const f = useKeyedAmount();
  const act = useAction();
  const [done, setDone] = useState<string | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const amount = parseMoney(f.value);
    if (amount === null) {
      act.setError({ code: 'validation_failed', message: 'Enter an amount such as 25', field: 'amount', retryable: false });
      return;
    }
    const key = f.key();
    const r = await act.run(() =>
      unwrap(client.POST('/api/loans/{id}/repayments', { params: { path: { id: loan.id }, header: { 'Idempotency-Key': key } }, body: { amount } })),
    );
    if (r) {
      f.reset();
      setDone(`Repaid ${formatMoney(r.amount)}. Outstanding: ${formatMoney(r.outstanding)}.`);
      await qc.invalidateQueries({ queryKey: ['get', '/api/loans/{id}'] });
      await qc.invalidateQueries({ queryKey: ['get', '/api/loans/{id}/schedule'] });
      await qc.invalidateQueries({ queryKey: ['get', '/api/wallet'] });
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-label="Repay">
      <h2 className="mb-2 text-lg font-semibold">Repay</h2>
      <MoneyField label="Amount (USD)" value={f.value} onChange={(v) => { f.setValue(v); setDone(null); }} error={fieldError(act.error, 'amount')} />
      {act.error && !act.error.field && <ErrorBox error={new Error(act.error.message)} />}
      {done && <Notice tone="success">{done}</Notice>}
      <Button type="submit" busy={act.busy}>
        Repay
      </Button>
    </form>
  );
}

function DocumentList({ loan }: { loan: Loan }) {
  return (
    <ul className="space-y-1 text-sm" aria-label="Uploaded documents">
      {(loan.documents ?? []).map((d) => (
        <li key={d.id}>
          <a href={d.url}>
            {d.contentType} · {Math.ceil(d.sizeBytes / 1024)} KiB
          </a>{' '}
          (<DateText value={d.createdAt} />)
        </li>
      ))}
    </ul>
  );
}

function Documents({ loan }: { loan: Loan }) {
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const act = useAction();
  const [done, setDone] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    const fd = new FormData();
    fd.append('file', file);
    const r = await act.run(() => unwrap(client.POST('/api/loans/{id}/documents', { params: { path: { id: loan.id } }, body: fd as never })));
    if (r) {
      setDone(true);
      setFile(null);
      (e.target as HTMLFormElement).reset();
      await qc.invalidateQueries({ queryKey: ['get', '/api/loans/{id}'] });
    }
  }
  return (
    <Card>
      <h2 className="mb-2 text-lg font-semibold">Supporting documents</h2>
      <DocumentList loan={loan} />
      <form onSubmit={submit} className="mt-3" aria-label="Upload a document">
        <label htmlFor="doc-file" className="mb-1 block text-sm font-medium">
          Document (PDF, PNG or JPEG, up to 10 MiB)
        </label>
        <input id="doc-file" type="file" accept="application/pdf,image/png,image/jpeg" className="mb-2 block w-full text-sm" onChange={(e) => { setFile(e.target.files?.[0] ?? null); setDone(false); }} />
        {act.error && (
          <p role="alert" className="mb-2 text-sm text-red-700">
            {act.error.message}
          </p>
        )}
        {done && <Notice tone="success">Document uploaded.</Notice>}
        <Button type="submit" variant="secondary" busy={act.busy} disabled={!file}>
          Upload document
        </Button>
      </form>
    </Card>
  );
}

function Schedule({ id }: { id: string }) {
  const q = $api.useQuery('get', '/api/loans/{id}/schedule', { params: { path: { id } } });
  return (
    <section aria-labelledby="sched-h">
      <h2 id="sched-h" className="mb-2 text-lg font-semibold">
        Repayment schedule
      </h2>
      <Async q={q}>
        {(s) => (
          <>
            <p className="mb-2 text-sm">
              Outstanding <Money amount={s.outstanding} /> · repaid <Money amount={s.repaidAmount} />
            </p>
            <Table caption="Installments" head={['#', 'Due', 'Amount', 'Paid', 'Status']}>
              {s.installments.map((i) => (
                <tr key={i.seq}>
                  <Td>{i.seq}</Td>
                  <Td><DateText value={i.dueAt} /></Td>
                  <Td><Money amount={i.amount} /></Td>
                  <Td><Money amount={i.paidAmount} /></Td>
                  <Td><Badge>{label(i.status)}</Badge></Td>
                </tr>
              ))}
            </Table>
          </>
        )}
      </Async>
    </section>
  );
}
