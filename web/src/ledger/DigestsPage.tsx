import { useState } from 'react';
import { $api } from '../api/client';
import { Async, Button, Empty, PageTitle, Table, Td } from '../components/ui';

export default function DigestsPage() {
  const [before, setBefore] = useState<string | undefined>(undefined);
  const q = $api.useQuery('get', '/api/ledger/digests', { params: { query: { before, limit: 30 } } });
  return (
    <div>
      <PageTitle>Published ledger digests</PageTitle>
      <p className="mb-4 max-w-3xl text-sm text-slate-700">
        Every night the day's ledger lines are hashed into a SHA-256 Merkle root and published here. Keep a root you saw:
        recomputing it later from the same lines proves they were not changed.
      </p>
      <Async q={q}>
        {(items) =>
          items.length === 0 ? (
            <Empty>No digests published yet.</Empty>
          ) : (
            <>
              <Table caption="Ledger digests, newest first" head={['Day', 'Lines', 'Merkle root', 'Line ids']}>
                {items.map((d) => (
                  <tr key={d.day}>
                    <Td className="whitespace-nowrap">{d.day}</Td>
                    <Td>{d.lineCount}</Td>
                    <Td className="font-mono text-xs break-all">{d.merkleRoot}</Td>
                    <Td className="whitespace-nowrap">{d.firstId != null ? `${d.firstId}–${d.lastId ?? ''}` : '—'}</Td>
                  </tr>
                ))}
              </Table>
              {items.length === 30 && (
                <Button variant="secondary" className="mt-3" onClick={() => setBefore(items[items.length - 1]?.day)}>
                  Older digests
                </Button>
              )}
            </>
          )
        }
      </Async>
    </div>
  );
}
