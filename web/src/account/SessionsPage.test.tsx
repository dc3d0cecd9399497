import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import SessionsPage from './SessionsPage';
import { tokens } from '../auth/tokens';

const CURRENT = '0190cccc-0000-7000-8000-000000000001';
const PHONE = '0190cccc-0000-7000-8000-000000000002';
const LAPTOP = '0190cccc-0000-7000-8000-000000000003';

function session(id: string, device: string, current = false) {
  return { id, device, createdAt: '2026-11-28T12:00:00Z', lastUsedAt: '2026-11-28T12:30:00Z', current };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
}

const calls: string[] = [];
let live: ReturnType<typeof session>[];

beforeEach(() => {
  calls.length = 0;
  live = [session(CURRENT, 'Firefox on Linux', true), session(PHONE, 'Safari on iPhone'), session(LAPTOP, '')];
  tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
  vi.stubGlobal('fetch', async (req: Request) => {
    const path = new URL(req.url).pathname;
    calls.push(`${req.method} ${path}`);
    if (req.method === 'GET') return json(live);
    if (path === '/api/users/me/sessions') {
      const ended = live.filter((s) => !s.current).length;
      live = live.filter((s) => s.current);
      return json({ ended });
    }
    live = live.filter((s) => path !== `/api/users/me/sessions/${s.id}`);
    return new Response(null, { status: 204 });
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
      <MemoryRouter initialEntries={['/account/sessions']} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <SessionsPage />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('SessionsPage', () => {
  it('lists the sessions, badges this device and offers no sign-out for it', async () => {
    renderPage();
    const table = await screen.findByRole('table', { name: 'Your sessions' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent('Firefox on Linux');
    expect(within(rows[0]!).getByText('This device')).toBeInTheDocument();
    expect(within(rows[0]!).queryByRole('button')).not.toBeInTheDocument();
    expect(within(rows[1]!).queryByText('This device')).not.toBeInTheDocument();
    expect(within(rows[1]!).getByRole('button', { name: 'Sign out Safari on iPhone' })).toBeInTheDocument();
    expect(rows[2]).toHaveTextContent('Unknown device');
  });

  it('signs one other session out and reloads the list', async () => {
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Sign out Safari on iPhone' }));
    await vi.waitFor(() => expect(screen.queryByText('Safari on iPhone')).not.toBeInTheDocument());
    expect(calls).toEqual(['GET /api/users/me/sessions', `DELETE /api/users/me/sessions/${PHONE}`, 'GET /api/users/me/sessions']);
  });

  it('signs all other sessions out and says how many', async () => {
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Sign out all other sessions' }));
    expect(await screen.findByText('Signed out 2 other sessions.')).toBeInTheDocument();
    await vi.waitFor(() => expect(screen.queryByRole('button', { name: 'Sign out all other sessions' })).not.toBeInTheDocument());
    expect(calls).toContain('DELETE /api/users/me/sessions');
    expect(screen.getByText('Firefox on Linux')).toBeInTheDocument();
  });
});
