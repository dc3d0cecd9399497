import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import { StrictMode } from 'react';
import { AuthProvider } from './AuthContext';
import VerifyEmailPage from './VerifyEmailPage';
import { VerifyEmailBanner } from './VerifyEmailBanner';
import { tokens } from './tokens';

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
}

const me = (emailVerified: boolean) => ({ id: '0190dddd-0000-7000-8000-000000000002', email: 'vera@example.com', firstName: 'Vera', lastName: 'Fied', role: 'user', tier: 'standard', isActive: true, emailNotifications: true, emailVerified, createdAt: '2026-11-28T12:00:00Z' });

const sent: Array<{ path: string; body: unknown; auth: string | null }> = [];
let verifyAnswer: () => Response;
let resendAnswer: () => Response;
let verified: boolean;

beforeEach(() => {
  sent.length = 0;
  verified = false;
  vi.stubGlobal('fetch', async (req: Request) => {
    const path = new URL(req.url).pathname;
    const auth = req.headers.get('Authorization');
    if (path === '/api/auth/verify-email') {
      sent.push({ path, body: await req.clone().json(), auth });
      return verifyAnswer();
    }
    if (path === '/api/users/me/verification-email') {
      sent.push({ path, body: null, auth });
      return resendAnswer();
    }
    return json(me(verified), 200);
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  tokens.clear();
});

function renderAt(path: string, page = <VerifyEmailPage />) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <StrictMode>
      <QueryClientProvider client={qc}>
        <MemoryRouter initialEntries={[path]} future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
          <AuthProvider>{page}</AuthProvider>
        </MemoryRouter>
      </QueryClientProvider>
    </StrictMode>,
  );
}

describe('VerifyEmailPage', () => {
  it('sends the link’s token once, without credentials, and says the address is verified', async () => {
    tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
    verifyAnswer = () => {
      verified = true;
      return new Response(null, { status: 204 });
    };
    renderAt('/verify-email?token=link-token');
    expect(await screen.findByText(/your email address is verified/i)).toBeInTheDocument();
    expect(sent).toEqual([{ path: '/api/auth/verify-email', body: { token: 'link-token' }, auth: null }]);
  });

  it('explains a used or expired link and lets a signed-in person ask for a new one', async () => {
    tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
    verifyAnswer = () => json({ error: { code: 'invalid_token', message: 'this link is invalid, expired or already used' } }, 422);
    resendAnswer = () => new Response(null, { status: 202 });
    renderAt('/verify-email?token=old-token');
    expect(await screen.findByText('This verification link is invalid, has expired or was already used.')).toBeInTheDocument();
    await userEvent.click(await screen.findByRole('button', { name: 'Resend link' }));
    expect(await screen.findByText('A new link is on its way.')).toBeInTheDocument();
    expect(sent.map((s) => s.path)).toEqual(['/api/auth/verify-email', '/api/users/me/verification-email']);
    expect(sent[1]?.auth).toBe('Bearer access-1');
  });

  it('asks a signed-out person to sign in for a new link, and treats a missing token as invalid', async () => {
    renderAt('/verify-email');
    expect(screen.getByText('This verification link is invalid, has expired or was already used.')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Sign in' })).toHaveAttribute('href', '/login');
    expect(sent).toHaveLength(0);
  });
});

describe('VerifyEmailBanner', () => {
  it('reminds an unverified person and explains when they asked for too many links', async () => {
    tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
    resendAnswer = () => new Response(JSON.stringify({ error: { code: 'rate_limited', message: 'too many requests' } }), { status: 429, headers: { 'Content-Type': 'application/json', 'Retry-After': '1200' } });
    renderAt('/', <VerifyEmailBanner />);
    expect(await screen.findByText(/please confirm your email address/i)).toBeInTheDocument();
    expect(screen.getByText('vera@example.com')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Resend link' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('You asked for several links in the last hour; please try again later.');
  });

  it('shows nothing once the address is verified', async () => {
    verified = true;
    tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
    const { container } = renderAt('/', <VerifyEmailBanner />);
    await new Promise((r) => setTimeout(r, 50));
    expect(container).toBeEmptyDOMElement();
  });
});
