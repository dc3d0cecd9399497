import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import AuditLogPage from './AuditLogPage';
import { tokens } from '../auth/tokens';

const ADMIN = '0190aaaa-0000-7000-8000-000000000001';

function entry(id: number, reason: string | null) {
  return {
    id,
    at: '2026-11-28T12:00:00Z',
    actorId: ADMIN,
    actorEmail: 'admin@commonpot.local',
    action: 'campaign.suspended',
    targetType: 'campaign',
    targetId: `0190bbbb-0000-7000-8000-00000000000${id}`,
    before: { status: 'active' },
    after: { status: 'suspended' },
    requestId: `req-${id}`,
    reason,
  };
}

const asked: URLSearchParams[] = [];

beforeEach(() => {
  asked.length = 0;
  tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
  vi.stubGlobal('fetch', async (req: Request) => {
    const q = new URL(req.url).searchParams;
    asked.push(q);
    const page = q.get('before') === '4' ? { entries: [entry(3, 'Third')], nextBefore: null } : { entries: [entry(5, 'Fifth'), entry(4, null)], nextBefore: 4 };
    return new Response(JSON.stringify(page), { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  tokens.clear();
});

function renderPage(path = '/admin/audit-log') {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={[path]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <AuditLogPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('AuditLogPage', () => {
  it('lists entries with reason, target link and change, and pages back with nextBefore', async () => {
    const user = userEvent.setup();
    renderPage();
    const table = await screen.findByRole('table', { name: 'Admin audit log' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByRole('cell', { name: 'Fifth' })).toBeInTheDocument();
    expect(within(rows[0]!).getByRole('link', { name: 'Campaign …00000005' })).toHaveAttribute('href', '/campaigns/0190bbbb-0000-7000-8000-000000000005');
    expect(rows[0]).toHaveTextContent('status: active → suspended');
    expect(screen.queryByRole('button', { name: 'Newer' })).not.toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Older' }));
    await screen.findByRole('cell', { name: 'Third' });
    expect(asked.at(-1)?.get('before')).toBe('4');
    expect(screen.queryByRole('button', { name: 'Older' })).not.toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Newer' }));
    await screen.findByRole('cell', { name: 'Fifth' });
    expect(asked.at(-1)?.get('before')).toBeNull();
  });

  it('sends the filters from the URL, a period as UTC instants with an exclusive end, and narrows by admin', async () => {
    const user = userEvent.setup();
    renderPage('/admin/audit-log?action=loan.rejected&from=2026-11-01&to=2026-11-28');
    await screen.findByRole('cell', { name: 'Fifth' });
    const q = asked.at(-1)!;
    expect(q.get('action')).toBe('loan.rejected');
    expect(q.get('from')).toBe('2026-11-01T00:00:00.000Z');
    expect(q.get('to')).toBe('2026-11-29T00:00:00.000Z');
    expect(screen.getByLabelText('Action')).toHaveValue('loan.rejected');

    await user.click(screen.getAllByRole('button', { name: 'admin@commonpot.local' })[0]!);
    await vi.waitFor(() => expect(asked.at(-1)?.get('actor')).toBe(ADMIN));
    expect(asked.at(-1)?.get('action')).toBe('loan.rejected');
  });
});
