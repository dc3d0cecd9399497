import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { PayOut, PayoutsTable } from './Payouts';
import { tokens } from '../auth/tokens';

const ACCOUNT = '0190dddd-0000-7000-8000-000000000001';
const PAYOUT = '0190dddd-0000-7000-8000-000000000002';

const bank = { id: ACCOUNT, bankName: 'Sandbox Bank', last4: '6789', createdAt: '2026-11-28T12:00:00Z' };

function payout(over: Record<string, unknown> = {}) {
  return {
    id: PAYOUT,
    payoutAccountId: ACCOUNT,
    amount: 5000,
    fee: 25,
    netAmount: 4975,
    status: 'pending',
    failureReason: null,
    createdAt: '2026-11-28T12:30:00Z',
    settledAt: null,
    ...over,
  };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
}

function envelope(status: number, code: string, message: string, field?: string): Response {
  return json({ error: { code, message, details: field ? { field } : null } }, status);
}

const sent: Array<{ method: string; path: string; key: string | null; body: unknown }> = [];
let accounts: (typeof bank)[];
let post: (path: string, body: unknown) => Response;

beforeEach(() => {
  sent.length = 0;
  accounts = [];
  post = () => new Response(null, { status: 500 });
  tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
  vi.stubGlobal('fetch', async (req: Request) => {
    const path = new URL(req.url).pathname;
    const body = req.method === 'POST' ? await req.clone().json() : undefined;
    sent.push({ method: req.method, path, key: req.headers.get('Idempotency-Key'), body });
    if (req.method === 'GET' && path === '/api/wallet/payout-accounts') return json(accounts);
    if (req.method === 'GET' && path === '/api/wallet/payouts') return json({ items: [], total: 0, page: 1, limit: 20 });
    if (req.method === 'POST') return post(path, body);
    return new Response(null, { status: 404 });
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  tokens.clear();
});

function renderCard() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <PayOut currency="USD" />
    </QueryClientProvider>,
  );
}

describe('PayOut', () => {
  it('shows the API routing number error next to that field and leaves the account number field valid', async () => {
    post = () => envelope(422, 'validation_failed', 'routingNumber is not a valid routing number', 'routingNumber');
    const user = userEvent.setup();
    renderCard();
    const form = await screen.findByRole('form', { name: 'Add bank account' });
    const accountInput = within(form).getByLabelText('Account number');
    const routingInput = within(form).getByLabelText('Routing number');
    await user.type(accountInput, '000123456789');
    await user.type(routingInput, '123456789');
    await user.click(within(form).getByRole('button', { name: 'Add bank account' }));
    const err = await screen.findByText('routingNumber is not a valid routing number');
    expect(routingInput).toHaveAttribute('aria-invalid', 'true');
    expect(routingInput.getAttribute('aria-describedby')).toBe(err.id);
    expect(accountInput).not.toHaveAttribute('aria-invalid');
    expect(sent.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/wallet/payout-accounts',
      body: { accountNumber: '000123456789', routingNumber: '123456789' },
    });
  });

  it('pays out and says what the provider keeps and what reaches the bank', async () => {
    accounts = [bank];
    post = () => json(payout(), 201);
    const user = userEvent.setup();
    renderCard();
    const list = await screen.findByRole('list', { name: 'Bank accounts' });
    expect(within(list).getByText('Sandbox Bank ending 6789')).toBeInTheDocument();
    expect(within(list).getByRole('button', { name: 'Remove Sandbox Bank ending 6789' })).toBeInTheDocument();
    const form = screen.getByRole('form', { name: 'Pay out' });
    await user.type(within(form).getByLabelText('Amount (USD)'), '50');
    await user.click(within(form).getByRole('button', { name: 'Pay out' }));
    expect(await screen.findByText(/Payout of \$50\.00 to Sandbox Bank ending 6789 requested/)).toHaveTextContent(
      "The provider's fee is $0.25; $49.75 reaches your bank.",
    );
    const call = sent.find((s) => s.method === 'POST');
    expect(call).toMatchObject({ path: '/api/wallet/payouts', body: { payoutAccountId: ACCOUNT, amount: 5000 } });
    expect(call?.key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('shows the email_not_verified message and reuses the key on retry', async () => {
    accounts = [bank];
    post = () => envelope(403, 'email_not_verified', 'Verify your email address before paying out');
    const user = userEvent.setup();
    renderCard();
    const form = await screen.findByRole('form', { name: 'Pay out' });
    await user.type(within(form).getByLabelText('Amount (USD)'), '20');
    await user.click(within(form).getByRole('button', { name: 'Pay out' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('Verify your email address before paying out');
    await user.click(within(form).getByRole('button', { name: 'Pay out' }));
    await waitFor(() => expect(sent.filter((s) => s.method === 'POST')).toHaveLength(2));
    const [first, second] = sent.filter((s) => s.method === 'POST');
    expect(second?.key).toBe(first?.key);
  });
});

describe('PayoutsTable', () => {
  it('shows a failed payout with its reason', async () => {
    vi.stubGlobal('fetch', async () =>
      json({ items: [payout({ status: 'failed', failureReason: 'account_closed', settledAt: '2026-11-28T12:31:00Z' })], total: 1, page: 1, limit: 20 }),
    );
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={qc}>
        <PayoutsTable currency="USD" />
      </QueryClientProvider>,
    );
    const table = await screen.findByRole('table', { name: 'Payouts' });
    const row = within(table).getAllByRole('row')[1]!;
    expect(row).toHaveTextContent('$50.00');
    expect(row).toHaveTextContent('$49.75');
    expect(row).toHaveTextContent('Failed');
    expect(row).toHaveTextContent('Account closed; the money is back in your wallet');
  });
});
