import { describe, expect, it } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { QueueTable } from './QueueTable';

describe('QueueTable', () => {
  it('shows each queue with its pending, scheduled and in-flight jobs', () => {
    render(
      <QueueTable
        queues={[
          { queue: 'send_notification', pending: 3, scheduled: 1, inFlight: 2 },
          { queue: 'deliver_webhook', pending: 0, scheduled: 0, inFlight: 0 },
        ]}
      />,
    );
    const table = screen.getByRole('table', { name: 'Queue depths' });
    const headers = within(table).getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual(['Queue', 'Pending', 'Scheduled', 'In flight']);
    const cells = within(table)
      .getAllByRole('row')
      .slice(1)
      .map((r) => within(r).getAllByRole('cell').map((c) => c.textContent));
    expect(cells).toEqual([
      ['send_notification', '3', '1', '2'],
      ['deliver_webhook', '0', '0', '0'],
    ]);
  });
});
