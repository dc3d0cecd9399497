import { useState, type FormEvent } from 'react';
import { $api, client } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { Badge, Button, Card, DateText, Empty, ErrorBox, PageTitle, SelectField, TextField } from '../components/ui';
import { useAction } from '../lib/useAction';
import type { ReportKind } from '../api/types';
import { AdminNav } from './AdminNav';

const STORE = 'commonpot.reports';

// The API has no list of reports: the ones requested from this browser are remembered here.
function loadIds(): string[] {
  try {
    return JSON.parse(localStorage.getItem(STORE) ?? '[]') as string[];
  } catch {
    return [];
  }
}

function isoDay(d: Date) {
  return d.toISOString().slice(0, 10);
}

export default function ReportsPage() {
  const today = new Date();
  const [kind, setKind] = useState('donations_by_campaign');
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 30 * 86400_000)));
  const [to, setTo] = useState(isoDay(today));
  const [ids, setIds] = useState<string[]>(loadIds);
  const act = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = await act.run(() => unwrap(client.POST('/api/admin/reports', { body: { kind: kind as ReportKind, from, to } })));
    if (r) {
      const next = [r.id, ...ids].slice(0, 20);
      localStorage.setItem(STORE, JSON.stringify(next));
      setIds(next);
    }
  }
  return (
    <div>
      <PageTitle>Reports</PageTitle>
      <AdminNav />
      <Card className="mb-6">
        <form onSubmit={submit} noValidate aria-label="Request a report" className="grid gap-x-3 sm:grid-cols-4 sm:items-end">
          <SelectField label="Report" value={kind} onChange={(e) => setKind(e.target.value)} options={[{ value: 'donations_by_campaign', label: 'Donations by campaign' }, { value: 'loan_book', label: 'Loan book' }]} error={fieldError(act.error, 'kind')} />
          <TextField label="From" type="date" value={from} onChange={(e) => setFrom(e.target.value)} error={fieldError(act.error, 'from')} />
          <TextField label="To" type="date" value={to} onChange={(e) => setTo(e.target.value)} error={fieldError(act.error, 'to')} />
          <div className="mb-3">
            <Button type="submit" busy={act.busy}>Generate</Button>
          </div>
        </form>
        {act.error && !act.error.field && <ErrorBox error={new Error(act.error.message)} />}
      </Card>
      {ids.length === 0 ? <Empty>No reports requested from this browser yet.</Empty> : (
        <ul className="space-y-2">
          {ids.map((id) => <ReportRow key={id} id={id} />)}
        </ul>
      )}
    </div>
  );
}

function ReportRow({ id }: { id: string }) {
  const q = $api.useQuery('get', '/api/admin/reports/{id}', { params: { path: { id } } }, {
    refetchInterval: (query) => {
      const s = query.state.data?.status;
      return s === 'done' || s === 'failed' || query.state.error ? false : 1500;
    },
  });
  const r = q.data;
  return (
    <li className="rounded-lg border border-slate-200 bg-white p-3 text-sm">
      {!r ? (q.isError ? 'Report not found.' : 'Loading…') : (
        <div className="flex flex-wrap items-center gap-2">
          <span className="font-medium">{r.kind.replace(/_/g, ' ')}</span>
          <span>{r.from} – {r.to}</span>
          <Badge>{r.status}</Badge>
          <span>requested <DateText value={r.createdAt} time /></span>
          {r.downloadUrl && <a href={r.downloadUrl}>Download CSV ({r.rowCount ?? 0} rows)</a>}
          {r.error && <span className="text-red-800">{r.error}</span>}
        </div>
      )}
    </li>
  );
}
