import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import BrowsePage from './BrowsePage';
import type { Schemas } from '../api/client';

function campaign(n: number): Schemas['CampaignDto'] {
  return {
    id: `0190cccc-0000-7000-8000-00000000000${n}`,
    creatorId: '0190aaaa-0000-7000-8000-000000000001',
    creatorName: 'Ada L.',
    title: `Campaign ${n}`,
    description: 'Clean water for the valley, one well at a time.',
    goalAmount: 100_000,
    currency: 'USD',
    category: 'community',
    fundingModel: 'keep_it_all',
    status: 'active',
    featured: false,
    createdAt: '2026-11-28T12:00:00Z',
    updatedAt: '2026-11-28T12:00:00Z',
    raisedAmount: 0,
    totalDonors: 0,
    donationsCount: 0,
    progressPercentage: 0,
    images: [],
  };
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
}

const asked: URLSearchParams[] = [];
/** Campaigns per page number, and how many pages there are. */
let pages: Schemas['CampaignDto'][][];

beforeEach(() => {
  asked.length = 0;
  pages = [[campaign(1), campaign(2)], [campaign(3)]];
  vi.stubGlobal('fetch', async (req: Request) => {
    const url = new URL(req.url);
    expect(url.pathname).toBe('/api/campaigns');
    asked.push(url.searchParams);
    const page = Number(url.searchParams.get('page') ?? '1');
    const limit = Number(url.searchParams.get('limit'));
    return json({ items: pages[page - 1] ?? [], page, limit, hasMore: page < pages.length, nextCursor: null });
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
});

function renderBrowse(path = '/campaigns') {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={[path]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <BrowsePage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('BrowsePage', () => {
  it('pages with Previous and Next while the list says another page follows', async () => {
    const user = userEvent.setup();
    renderBrowse();
    expect(await screen.findByRole('link', { name: 'Campaign 1' })).toBeInTheDocument();
    const nav = screen.getByRole('navigation', { name: 'Pagination' });
    expect(within(nav).getByRole('button', { name: 'Previous' })).toBeDisabled();
    expect(within(nav).getByText('Page 1')).toBeInTheDocument();
    // No count of the whole filtered set is shown: the API no longer gives one.
    expect(screen.queryByText(/\d+ campaigns?$/)).not.toBeInTheDocument();

    await user.click(within(nav).getByRole('button', { name: 'Next' }));
    expect(await screen.findByRole('link', { name: 'Campaign 3' })).toBeInTheDocument();
    expect(asked.at(-1)?.get('page')).toBe('2');
    const last = screen.getByRole('navigation', { name: 'Pagination' });
    expect(within(last).getByText('Page 2')).toBeInTheDocument();
    expect(within(last).getByRole('button', { name: 'Next' })).toBeDisabled();

    await user.click(within(last).getByRole('button', { name: 'Previous' }));
    expect(await screen.findByRole('link', { name: 'Campaign 1' })).toBeInTheDocument();
  });

  it('shows no paging when everything fits on one page', async () => {
    pages = [[campaign(1)]];
    renderBrowse();
    expect(await screen.findByRole('link', { name: 'Campaign 1' })).toBeInTheDocument();
    expect(screen.queryByRole('navigation', { name: 'Pagination' })).not.toBeInTheDocument();
  });

  it('says nothing matches, and past the last page still offers the way back', async () => {
    pages = [];
    const { unmount } = renderBrowse();
    expect(await screen.findByText(/No campaigns match/)).toBeInTheDocument();
    expect(screen.queryByRole('navigation', { name: 'Pagination' })).not.toBeInTheDocument();
    unmount();

    pages = [[campaign(1)]];
    renderBrowse('/campaigns?page=3');
    expect(await screen.findByText(/No campaigns match/)).toBeInTheDocument();
    const nav = screen.getByRole('navigation', { name: 'Pagination' });
    expect(within(nav).getByRole('button', { name: 'Next' })).toBeDisabled();
    expect(within(nav).getByRole('button', { name: 'Previous' })).toBeEnabled();
  });
});
