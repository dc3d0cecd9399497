import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import LendingPage from './LendingPage';
import { tokens } from '../auth/tokens';

const REPAYING = '0190dddd-0000-7000-8000-000000000001';
const REFUNDED = '0190dddd-0000-7000-8000-000000000002';

const counts = { fundraising: 0, repaying: 1, late: 0, defaulted: 0, writtenOff: 0, repaid: 0, refunded: 1 };

function position(loanId: string, purpose: string, status: string, extra: object) {
  return {
    loanId,
    purpose,
    borrowerName: 'Ada L.',
    loanStatus: status === 'refunded' ? 'expired' : 'active',
    status,
    lent: 3_001,
    repaid: 0,
    outstanding: 0,
    nextDueAt: null,
    nextAmount: null,
    lentAt: '2026-11-01T12:00:00Z',
    ...extra,
  };
}

let body: unknown;
const calls: string[] = [];

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
}

beforeEach(() => {
  calls.length = 0;
  body = {
    totals: { lent: 3_001, refunded: 50, repaid: 300, outstanding: 2_701, byStatus: counts },
    items: [
      position(REPAYING, 'A new sewing machine', 'repaying', {
        repaid: 300,
        outstanding: 2_701,
        nextDueAt: '2026-12-01T12:00:00Z',
        nextAmount: 700,
      }),
      position(REFUNDED, 'A market stall', 'refunded', { lent: 50 }),
    ],
    page: 1,
    limit: 20,
    total: 2,
  };
  tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
  vi.stubGlobal('fetch', async (req: Request) => {
    const url = new URL(req.url);
    calls.push(`${req.method} ${url.pathname}${url.search}`);
    return json(body);
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  tokens.clear();
});

function renderPage() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={['/my/lending']} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <LendingPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('LendingPage', () => {
  it('shows the totals and one row per loan with its status, figures, next repayment and link', async () => {
    renderPage();
    const table = await screen.findByRole('table', { name: 'Loans you lent to' });
    expect(calls).toEqual(['GET /api/lending/portfolio?page=1&limit=20']);
    expect(screen.getByText('Still owed to you').parentElement).toHaveTextContent('$27.01');
    expect(screen.getByText('Repaid to you').parentElement).toHaveTextContent('$3.00');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    const [repaying, refunded] = rows as [HTMLElement, HTMLElement];
    expect(within(repaying).getByRole('link', { name: 'A new sewing machine' })).toHaveAttribute('href', `/loans/${REPAYING}`);
    expect(repaying).toHaveTextContent('Repaying');
    expect(repaying).toHaveTextContent('$7.00 on Dec 1, 2026');
    expect(refunded).toHaveTextContent('Refunded');
    expect(refunded).toHaveTextContent('—');
    const byStatus = screen.getByRole('list', { name: 'Loans by status' });
    expect(within(byStatus).getAllByRole('listitem')).toHaveLength(2);
  });

  it('says so when nothing has been lent yet', async () => {
    body = {
      totals: { lent: 0, refunded: 0, repaid: 0, outstanding: 0, byStatus: { ...counts, repaying: 0, refunded: 0 } },
      items: [],
      page: 1,
      limit: 20,
      total: 0,
    };
    renderPage();
    expect(await screen.findByText('You have not lent to a loan yet.')).toBeInTheDocument();
  });
});
