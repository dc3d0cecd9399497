import { useQueryClient } from '@tanstack/react-query';
import { $api, client } from '../api/client';
import { unwrap } from '../api/errors';
import { Async, Button, DateText, Empty, ErrorBox, PageTitle, Table, Td } from '../components/ui';
import { useAction } from '../lib/useAction';
import { AdminNav } from './AdminNav';
import { QueueTable } from './QueueTable';

export default function JobsPage() {
  const qc = useQueryClient();
  const q = $api.useQuery('get', '/api/admin/jobs', {}, { refetchInterval: 5000 });
  const act = useAction();
  async function retry(id: string) {
    const ok = await act.run(async () => {
      await unwrap(client.POST('/api/admin/jobs/dead-letters/{id}/retry', { params: { path: { id } } }));
      return true;
    });
    if (ok) await qc.invalidateQueries({ queryKey: ['get', '/api/admin/jobs'] });
  }
  return (
    <div>
      <PageTitle>Jobs</PageTitle>
      <AdminNav />
      {act.error && <ErrorBox error={new Error(act.error.message)} />}
      <Async q={q}>
        {(d) => (
          <div className="space-y-6">
            <section aria-labelledby="queues-h">
              <h2 id="queues-h" className="mb-2 text-lg font-semibold">Queues</h2>
              <QueueTable queues={d.queues} />
            </section>
            <section aria-labelledby="dl-h">
              <h2 id="dl-h" className="mb-2 text-lg font-semibold">Dead letters</h2>
              {d.deadLetters.length === 0 ? (
                <Empty>No dead letters: every job succeeded or is still retrying.</Empty>
              ) : (
                <Table caption="Dead letters" head={['Failed', 'Queue', 'Attempts', 'Error', '']}>
                  {d.deadLetters.map((x) => (
                    <tr key={x.id}>
                      <Td><DateText value={x.failedAt} time /></Td>
                      <Td className="font-mono">{x.queue}</Td>
                      <Td>{x.attempts}</Td>
                      <Td className="max-w-md break-words">{x.error}</Td>
                      <Td>
                        <Button variant="secondary" busy={act.busy} onClick={() => void retry(x.id)} aria-label={`Retry job ${x.id.slice(0, 8)}`}>
                          Retry
                        </Button>
                      </Td>
                    </tr>
                  ))}
                </Table>
              )}
            </section>
          </div>
        )}
      </Async>
    </div>
  );
}
