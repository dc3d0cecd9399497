import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { CampaignUpdates } from './CampaignUpdates';
import { tokens } from '../auth/tokens';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';

function update(n: number, title: string, body = 'The first well is dug.') {
  return { id: `0190dddd-0000-7000-8000-00000000000${n}`, campaignId: CAMPAIGN, title, body, createdAt: `2026-11-2${n}T12:00:00Z` };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
}

let posted: unknown[];
let stored: ReturnType<typeof update>[];
let nextPost: () => Response;

beforeEach(() => {
  posted = [];
  stored = [update(1, 'Week one')];
  nextPost = () => json(update(2, 'Week two'), 201);
  tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
  vi.stubGlobal('fetch', async (req: Request) => {
    expect(new URL(req.url).pathname).toBe(`/api/campaigns/${CAMPAIGN}/updates`);
    if (req.method === 'GET') return json({ items: stored, page: 1, limit: 5, total: stored.length });
    posted.push(await req.clone().json());
    const res = nextPost();
    if (res.status === 201) stored = [update(2, 'Week two'), ...stored];
    return res;
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  tokens.clear();
});

function renderUpdates(canPost: boolean) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <CampaignUpdates campaignId={CAMPAIGN} canPost={canPost} />
    </QueryClientProvider>,
  );
}

describe('CampaignUpdates', () => {
  it('lists the updates and offers no form to readers', async () => {
    renderUpdates(false);
    expect(await screen.findByRole('heading', { name: 'Week one' })).toBeInTheDocument();
    expect(screen.getByText('The first well is dug.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Post update' })).not.toBeInTheDocument();
  });

  it('shows the API field error next to the field it names', async () => {
    nextPost = () =>
      json({ error: { code: 'validation_failed', message: 'title must be 1 to 120 characters', details: { field: 'title' } } }, 422);
    const user = userEvent.setup();
    renderUpdates(true);
    await user.type(screen.getByLabelText('Update'), 'Some news');
    await user.click(screen.getByRole('button', { name: 'Post update' }));
    const err = await screen.findByText('title must be 1 to 120 characters');
    const title = screen.getByLabelText('Title');
    expect(title).toHaveAttribute('aria-invalid', 'true');
    expect(title.getAttribute('aria-describedby')).toBe(err.id);
    expect(screen.getByLabelText('Update')).not.toHaveAttribute('aria-invalid');
    expect(posted).toEqual([{ title: '', body: 'Some news' }]);
  });

  it('posts an update, clears the form and refetches the list', async () => {
    const user = userEvent.setup();
    renderUpdates(true);
    await screen.findByRole('heading', { name: 'Week one' });
    await user.type(screen.getByLabelText('Title'), 'Week two');
    await user.type(screen.getByLabelText('Update'), 'Water flows.');
    await user.click(screen.getByRole('button', { name: 'Post update' }));
    expect(await screen.findByRole('heading', { name: 'Week two' })).toBeInTheDocument();
    expect(screen.getByText(/your donors will get it/i)).toBeInTheDocument();
    expect(screen.getByLabelText('Title')).toHaveValue('');
    const items = within(screen.getByTestId('updates')).getAllByRole('article');
    expect(items.map((a) => within(a).getByRole('heading').textContent)).toEqual(['Week two', 'Week one']);
    expect(posted).toEqual([{ title: 'Week two', body: 'Water flows.' }]);
  });

  it('shows a refusal that names no field above the button', async () => {
    nextPost = () => json({ error: { code: 'too_many_updates', message: 'a campaign may post at most 10 updates in 24 hours' } }, 409);
    const user = userEvent.setup();
    renderUpdates(true);
    await user.type(screen.getByLabelText('Title'), 'Eleventh');
    await user.type(screen.getByLabelText('Update'), 'Again');
    await user.click(screen.getByRole('button', { name: 'Post update' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/at most 10 updates/);
  });
});
