import { $api } from '../api/client';
import { Async, Button, DateText, Notice, PageTitle, Table, Td } from '../components/ui';
import { AdminNav } from './AdminNav';

export default function AuditPage() {
  const q = $api.useQuery('get', '/api/admin/audit', {}, { staleTime: 0 });
  return (
    <div>
      <PageTitle actions={<Button variant="secondary" onClick={() => void q.refetch()} busy={q.isFetching}>Run again</Button>}>Ledger audit</PageTitle>
      <AdminNav />
      <Async q={q} label="Auditing the ledger…">
        {(a) => (
          <div>
            <Notice tone={a.ok ? 'success' : 'warn'}>
              {a.ok ? 'All checks pass: ' : 'Drift found: '}
              {a.ledgerLines} ledger lines checked <DateText value={a.checkedAt} time />.
            </Notice>
            {a.drift.length > 0 && (
              <Table caption="Drift" head={['Kind', 'Subject', 'Expected', 'Actual']}>
                {a.drift.map((d, i) => (
                  <tr key={i}>
                    <Td>{d.kind}</Td>
                    <Td className="font-mono break-all">{d.subject}</Td>
                    <Td>{d.expected}</Td>
                    <Td>{d.actual}</Td>
                  </tr>
                ))}
              </Table>
            )}
          </div>
        )}
      </Async>
    </div>
  );
}
