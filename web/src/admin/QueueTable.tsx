import type { Schemas } from '../api/client';
import { Table, Td } from '../components/ui';

/** Each job queue's depth: the Jobs page and the dashboard's pipeline show the same table. */
export function QueueTable({ queues }: { queues: Schemas['QueueDto'][] }) {
  return (
    <Table caption="Queue depths" head={['Queue', 'Pending', 'Scheduled', 'In flight']}>
      {queues.map((x) => (
        <tr key={x.queue}>
          <Td className="font-mono">{x.queue}</Td>
          <Td className="tabular-nums">{x.pending}</Td>
          <Td className="tabular-nums">{x.scheduled}</Td>
          <Td className="tabular-nums">{x.inFlight}</Td>
        </tr>
      ))}
    </Table>
  );
}
