import { useState } from 'react';
import { Link } from 'react-router-dom';
import { $api } from '../api/client';
import { Async, Empty, Money, PageTitle, Pagination, ProgressBar } from '../components/ui';

export default function MarketplacePage() {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/loans', { params: { query: { status: 'fundraising', page, limit: 12 } } });
  return (
    <div>
      <PageTitle actions={<Link to="/loans/apply" className="rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white no-underline">Apply for a loan</Link>}>
        Lend to a borrower
      </PageTitle>
      <Async q={q} label="Loading loans…">
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No loans are raising money right now.</Empty>
          ) : (
            <>
              <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                {d.items.map((l) => (
                  <li key={l.id} className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
                    <h2 className="text-lg font-semibold">
                      <Link to={`/loans/${l.id}`}>{l.purpose}</Link>
                    </h2>
                    <p className="mb-2 text-sm text-slate-700">
                      {l.borrowerName} · {l.termMonths} months · {(l.annualRateBp / 100).toFixed(2)}% a year
                    </p>
                    <ProgressBar value={l.fundedAmount} max={l.amount} label={`Funding of ${l.purpose}`} />
                    <p className="mt-1 text-sm">
                      <strong><Money amount={l.remainingAmount} /></strong> left to fund of <Money amount={l.amount} />
                    </p>
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
