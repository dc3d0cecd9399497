import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { AuthProvider } from '../auth/AuthContext';
import { tokens } from '../auth/tokens';
import SettingsPage from './SettingsPage';
import { RouteNotice } from './RouteNotice';
import { localDate } from './DataAndDeletion';

const ME = {
  id: '0190eeee-0000-7000-8000-000000000001',
  email: 'dana@example.com',
  firstName: 'Dana',
  lastName: 'Doe',
  role: 'user',
  tier: 'standard',
  isActive: true,
  emailNotifications: true,
  createdAt: '2026-11-28T12:00:00Z',
};

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
}

const sent: Array<{ method: string; path: string; body?: unknown }> = [];
let deleteAnswer: () => Response;
let exportAnswer: () => Response;
let patchAnswer: () => Response;

beforeEach(() => {
  sent.length = 0;
  deleteAnswer = () => new Response(null, { status: 204 });
  exportAnswer = () => json({ profile: { email: ME.email }, exportedAt: '2026-11-28T16:00:00Z' });
  tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
  vi.stubGlobal('fetch', async (req: Request) => {
    const path = new URL(req.url).pathname;
    const body = req.method === 'POST' || req.method === 'PATCH' ? await req.clone().json() : undefined;
    sent.push({ method: req.method, path, body });
    if (path === '/api/users/me/delete') return deleteAnswer();
    if (path === '/api/users/me/export') return exportAnswer();
    if (path === '/api/users/me' && req.method === 'PATCH') return patchAnswer();
    if (path === '/api/users/me') return json(ME);
    return json({ error: { code: 'not_found', message: 'Not found' } }, 404);
  });
});

const { createObjectURL, revokeObjectURL } = URL;

afterEach(() => {
  URL.createObjectURL = createObjectURL;
  URL.revokeObjectURL = revokeObjectURL;
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  tokens.clear();
});

function renderPage() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={['/account/settings']} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <AuthProvider>
          <Routes>
            <Route
              path="/"
              element={
                <>
                  <RouteNotice />
                  <p>Home page</p>
                </>
              }
            />
            <Route path="/account/settings" element={<SettingsPage />} />
          </Routes>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

async function deleteForm() {
  return screen.findByRole('form', { name: 'Delete account' });
}

describe('SettingsPage: delete account', () => {
  it('keeps the delete button disabled until DELETE is typed', async () => {
    const user = userEvent.setup();
    renderPage();
    const form = within(await deleteForm());
    const button = form.getByRole('button', { name: 'Delete my account' });
    expect(button).toBeDisabled();
    await user.type(form.getByLabelText('Password'), 'my passphrase');
    expect(button).toBeDisabled();
    await user.type(form.getByLabelText('Type DELETE to confirm'), 'delet');
    expect(button).toBeDisabled();
    await user.clear(form.getByLabelText('Type DELETE to confirm'));
    await user.type(form.getByLabelText('Type DELETE to confirm'), 'DELETE');
    expect(button).toBeEnabled();
    expect(sent.some((c) => c.path === '/api/users/me/delete')).toBe(false);
  });

  it('shows what to settle first on 409 and stays signed in', async () => {
    const message = 'Your wallet still holds $12.50: withdraw it or donate it before deleting your account.';
    deleteAnswer = () => json({ error: { code: 'account_not_settled', message } }, 409);
    const user = userEvent.setup();
    renderPage();
    const form = within(await deleteForm());
    await user.type(form.getByLabelText('Password'), 'my passphrase');
    await user.type(form.getByLabelText('Type DELETE to confirm'), 'DELETE');
    await user.click(form.getByRole('button', { name: 'Delete my account' }));
    const alert = await screen.findByText(message);
    expect(alert.closest('[role="alert"]')).toHaveTextContent("Your account can't be deleted yet");
    expect(tokens.tokens).not.toBeNull();
    expect(screen.queryByText('Home page')).not.toBeInTheDocument();
  });

  it('shows a wrong password on the password field (422)', async () => {
    deleteAnswer = () => json({ error: { code: 'validation_failed', message: 'The password is not correct.', details: { field: 'password' } } }, 422);
    const user = userEvent.setup();
    renderPage();
    const form = within(await deleteForm());
    await user.type(form.getByLabelText('Password'), 'wrong');
    await user.type(form.getByLabelText('Type DELETE to confirm'), 'DELETE');
    await user.click(form.getByRole('button', { name: 'Delete my account' }));
    expect(await form.findByText('The password is not correct.')).toBeInTheDocument();
    expect(form.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
    expect(tokens.tokens).not.toBeNull();
  });

  it('on success signs out locally and goes home with a notice', async () => {
    const user = userEvent.setup();
    renderPage();
    const form = within(await deleteForm());
    await user.type(form.getByLabelText('Password'), 'my passphrase');
    await user.type(form.getByLabelText('Type DELETE to confirm'), 'DELETE');
    await user.click(form.getByRole('button', { name: 'Delete my account' }));
    expect(await screen.findByText('Home page')).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('Your account has been deleted');
    expect(tokens.tokens).toBeNull();
    expect(sent).toContainEqual({ method: 'POST', path: '/api/users/me/delete', body: { password: 'my passphrase' } });
    // Signed out locally: the API (whose sessions already ended) is not asked to log out.
    expect(sent.some((c) => c.path === '/api/auth/logout')).toBe(false);
  });
});

describe('SettingsPage: your data', () => {
  it('downloads the export as a dated JSON file', async () => {
    let saved: Blob | null = null;
    let filename = '';
    // jsdom has no object URLs.
    const revoked: string[] = [];
    URL.createObjectURL = (b: Blob) => ((saved = b), 'blob:export');
    URL.revokeObjectURL = (u: string) => void revoked.push(u);
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      filename = this.download;
    });
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Download my data' }));
    const name = `commonpot-export-${localDate()}.json`;
    expect(await screen.findByText(`Your data was saved as ${name}.`)).toBeInTheDocument();
    expect(filename).toBe(name);
    expect(JSON.parse(await saved!.text())).toEqual({ profile: { email: ME.email }, exportedAt: '2026-11-28T16:00:00Z' });
    await vi.waitFor(() => expect(revoked).toEqual(['blob:export']));
    expect(document.querySelector('a[download]')).toBeNull();
  });

  it('shows why the export failed', async () => {
    exportAnswer = () => json({ error: { code: 'service_unavailable', message: 'The export is unavailable right now. Please try again.' } }, 503);
    const user = userEvent.setup();
    renderPage();
    await user.click(await screen.findByRole('button', { name: 'Download my data' }));
    expect(await screen.findByText('The export is unavailable right now. Please try again.')).toBeInTheDocument();
  });
});

describe('SettingsPage: email address', () => {
  it('sends the new address with the password, then shows it unverified', async () => {
    patchAnswer = () => json({ ...ME, email: 'new@example.com', emailVerified: false });
    const user = userEvent.setup();
    renderPage();
    const form = within(await screen.findByRole('form', { name: 'Change email address' }));
    await user.type(form.getByLabelText('New email address'), 'new@example.com');
    await user.type(form.getByLabelText('Your password'), 'my passphrase');
    await user.click(form.getByRole('button', { name: 'Change email' }));
    expect(await screen.findByText('Email changed: follow the link we sent to the new address.')).toBeInTheDocument();
    expect(screen.getByText('new@example.com · not verified yet')).toBeInTheDocument();
    expect(sent.find((c) => c.method === 'PATCH')?.body).toEqual({ email: 'new@example.com', currentPassword: 'my passphrase' });
  });

  it('shows an address another account has as the API words it', async () => {
    patchAnswer = () => json({ error: { code: 'email_taken', message: 'an account with this email already exists' } }, 409);
    const user = userEvent.setup();
    renderPage();
    const form = within(await screen.findByRole('form', { name: 'Change email address' }));
    await user.type(form.getByLabelText('New email address'), 'taken@example.com');
    await user.type(form.getByLabelText('Your password'), 'my passphrase');
    await user.click(form.getByRole('button', { name: 'Change email' }));
    expect(await form.findByText('an account with this email already exists')).toBeInTheDocument();
  });
});
