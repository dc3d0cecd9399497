import { useState } from 'react';
import { Link } from 'react-router-dom';
import { $api, type Schemas } from '../api/client';
import { Async, Card, DateText, Empty, Money, PageTitle, Pagination, Table, Td, cx } from '../components/ui';

type LenderStatus = Schemas['LenderStatus'];

const STATUS: Record<LenderStatus, { text: string; tone: string }> = {
  fundraising: { text: 'Fundraising', tone: 'bg-sky-100 text-sky-900' },
  repaying: { text: 'Repaying', tone: 'bg-emerald-100 text-emerald-900' },
  late: { text: 'Late', tone: 'bg-amber-100 text-amber-900' },
  defaulted: { text: 'Defaulted', tone: 'bg-red-100 text-red-900' },
  written_off: { text: 'Written off', tone: 'bg-slate-300 text-slate-900' },
  repaid: { text: 'Repaid', tone: 'bg-emerald-700 text-white' },
  refunded: { text: 'Refunded', tone: 'bg-slate-200 text-slate-900' },
};

function StatusBadge({ status }: { status: LenderStatus }) {
  const s = STATUS[status];
  return <span className={cx('inline-block rounded-full px-2 py-0.5 text-xs font-medium', s.tone)}>{s.text}</span>;
}

function Total({ label, amount }: { label: string; amount: number }) {
  return (
    <Card>
      <p className="text-sm text-slate-700">{label}</p>
      <p className="text-xl font-semibold">
        <Money amount={amount} />
      </p>
    </Card>
  );
}

/** Everything the signed-in user has lent: totals, then one row per loan with what came back and what is still owed. */
export default function LendingPage() {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/lending/portfolio', { params: { query: { page, limit: 20 } } });
  return (
    <div>
      <PageTitle
        actions={
          <Link to="/loans" className="rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white no-underline">
            Find a loan to fund
          </Link>
        }
      >
        My lending
      </PageTitle>
      <Async q={q} label="Loading your lending…">
        {(d) =>
          d.total === 0 ? (
            <Empty>You have not lent to a loan yet.</Empty>
          ) : (
            <>
              <div className="mb-4 grid grid-cols-2 gap-3 md:grid-cols-4">
                <Total label="Lent" amount={d.totals.lent} />
                <Total label="Repaid to you" amount={d.totals.repaid} />
                <Total label="Still owed to you" amount={d.totals.outstanding} />
                <Total label="Refunded" amount={d.totals.refunded} />
              </div>
              <ul className="mb-4 flex flex-wrap gap-2 text-sm" aria-label="Loans by status">
                {(Object.keys(STATUS) as LenderStatus[])
                  .filter((s) => countOf(d.totals.byStatus, s) > 0)
                  .map((s) => (
                    <li key={s}>
                      <StatusBadge status={s} /> {countOf(d.totals.byStatus, s)}
                    </li>
                  ))}
              </ul>
              <Table caption="Loans you lent to" head={['Loan', 'Status', 'Lent', 'Repaid', 'Outstanding', 'Next repayment']}>
                {d.items.map((p) => (
                  <tr key={p.loanId}>
                    <Td>
                      <Link to={`/loans/${p.loanId}`}>{p.purpose}</Link>
                      <span className="block text-xs text-slate-700">{p.borrowerName}</span>
                    </Td>
                    <Td>
                      <StatusBadge status={p.status} />
                    </Td>
                    <Td>
                      <Money amount={p.lent} />
                    </Td>
                    <Td>
                      <Money amount={p.repaid} />
                    </Td>
                    <Td>
                      <Money amount={p.outstanding} />
                    </Td>
                    <Td>
                      {p.nextDueAt != null && p.nextAmount != null ? (
                        <>
                          <Money amount={p.nextAmount} /> on <DateText value={p.nextDueAt} />
                        </>
                      ) : (
                        '—'
                      )}
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

function countOf(counts: Schemas['LenderStatusCounts'], status: LenderStatus): number {
  const key = {
    fundraising: 'fundraising',
    repaying: 'repaying',
    late: 'late',
    defaulted: 'defaulted',
    written_off: 'writtenOff',
    repaid: 'repaid',
    refunded: 'refunded',
  } as const;
  return counts[key[status]];
}
