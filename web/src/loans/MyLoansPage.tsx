import { useState } from 'react';
import { Link } from 'react-router-dom';
import { $api } from '../api/client';
import { Async, Badge, DateText, Empty, Money, PageTitle, Pagination, Table, Td } from '../components/ui';
import { label } from '../campaigns/constants';

export default function MyLoansPage() {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/loans/me', { params: { query: { page, limit: 20 } } });
  return (
    <div>
      <PageTitle actions={<Link to="/loans/apply" className="rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white no-underline">Apply for a loan</Link>}>
        My loans
      </PageTitle>
      <Async q={q}>
        {(d) =>
          d.items.length === 0 ? (
            <Empty>You have not applied for a loan.</Empty>
          ) : (
            <>
              <Table caption="Your loan applications" head={['Applied', 'Purpose', 'Amount', 'Status', 'Repaid']}>
                {d.items.map((l) => (
                  <tr key={l.id}>
                    <Td><DateText value={l.createdAt} /></Td>
                    <Td><Link to={`/loans/${l.id}`}>{l.purpose}</Link></Td>
                    <Td><Money amount={l.amount} /></Td>
                    <Td><Badge>{label(l.status)}</Badge></Td>
                    <Td><Money amount={l.repaidAmount} /></Td>
                  </tr>
                ))}
              </Table>
              <Pagination page={d.page} limit={d.limit} total={d.total} onPage={setPage} />
            </>
          )
        }
      </Async>
      <p className="mt-4 text-sm text-slate-700">
        Loans you lent to are under <Link to="/my/lending">My lending</Link>.
      </p>
    </div>
  );
}
