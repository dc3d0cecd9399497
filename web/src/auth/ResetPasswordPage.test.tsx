import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import { AuthProvider } from './AuthContext';
import ResetPasswordPage from './ResetPasswordPage';
import { tokens } from './tokens';

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
}

const sent: Array<{ path: string; body: unknown; auth: string | null }> = [];
let answer: () => Response;

beforeEach(() => {
  sent.length = 0;
  vi.stubGlobal('fetch', async (req: Request) => {
    const path = new URL(req.url).pathname;
    if (path === '/api/auth/password-reset/confirm') {
      sent.push({ path, body: await req.clone().json(), auth: req.headers.get('Authorization') });
      return answer();
    }
    // The AuthProvider loads the signed-in person.
    return json({ id: '0190dddd-0000-7000-8000-000000000001', email: 'rita@example.com', firstName: 'Rita', lastName: 'Reset', role: 'user', tier: 'standard', isActive: true, emailNotifications: true, createdAt: '2026-11-28T12:00:00Z' }, 200);
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  tokens.clear();
});

function renderPage(path = '/reset-password?token=link-token') {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter initialEntries={[path]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <AuthProvider>
          <ResetPasswordPage />
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

async function fill(password: string, repeat: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('New password'), password);
  await user.type(screen.getByLabelText('Repeat the new password'), repeat);
  await user.click(screen.getByRole('button', { name: 'Set new password' }));
}

describe('ResetPasswordPage', () => {
  it('refuses mismatched or short passwords without spending the link', async () => {
    renderPage();
    await fill('a long passphrase', 'a long passphrasE');
    expect(await screen.findByText('The two passwords do not match.')).toBeInTheDocument();
    expect(screen.getByLabelText('Repeat the new password')).toHaveAttribute('aria-invalid', 'true');

    await userEvent.clear(screen.getByLabelText('New password'));
    await userEvent.clear(screen.getByLabelText('Repeat the new password'));
    await fill('short', 'short');
    expect(await screen.findByText('Use at least 10 characters.')).toBeInTheDocument();
    expect(sent).toHaveLength(0);
  });

  it('sends the token and password, then forgets the stored sign-in and offers to sign in', async () => {
    tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
    answer = () => new Response(null, { status: 204 });
    renderPage();
    await fill('a long passphrase', 'a long passphrase');
    expect(await screen.findByText(/your new password is set/i)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Sign in with your new password' })).toHaveAttribute('href', '/login');
    expect(sent).toEqual([{ path: '/api/auth/password-reset/confirm', body: { token: 'link-token', password: 'a long passphrase' }, auth: null }]);
    expect(tokens.tokens).toBeNull();
  });

  it('explains a link that is invalid, expired or used and links to ask for a new one', async () => {
    answer = () => json({ error: { code: 'invalid_token', message: 'this link is invalid, expired or already used' } }, 422);
    renderPage();
    await fill('a long passphrase', 'a long passphrase');
    expect(await screen.findByText('This reset link is invalid, has expired or was already used.')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Ask for a new link' })).toHaveAttribute('href', '/forgot-password');
    expect(screen.queryByRole('button', { name: 'Set new password' })).not.toBeInTheDocument();
  });

  it('shows the API’s password error next to the field', async () => {
    answer = () => json({ error: { code: 'validation_failed', message: 'password must not be a common password', details: { field: 'password' } } }, 422);
    renderPage();
    await fill('password1234', 'password1234');
    const err = await screen.findByText('password must not be a common password');
    expect(screen.getByLabelText('New password').getAttribute('aria-describedby')).toBe(err.id);
  });

  it('treats a link without a token as invalid', () => {
    renderPage('/reset-password');
    expect(screen.getByText('This reset link is invalid, has expired or was already used.')).toBeInTheDocument();
  });
});
