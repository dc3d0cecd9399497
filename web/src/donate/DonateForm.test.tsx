import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { DonateForm } from './DonateForm';
import { tokens } from '../auth/tokens';

const CAMPAIGN = '11111111-1111-4111-8111-111111111111';

function donation(amount: number) {
  return {
    id: '22222222-2222-4222-8222-222222222222',
    campaignId: CAMPAIGN,
    donorId: '33333333-3333-4333-8333-333333333333',
    amount,
    anonymous: false,
    status: 'completed',
    createdAt: '2026-11-28T05:00:00Z',
  };
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
}

function renderForm() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <DonateForm campaignId={CAMPAIGN} currency="USD" />
    </QueryClientProvider>,
  );
}

const sent: Array<{ key: string | null; body: unknown; auth: string | null }> = [];
let fetchMock: ReturnType<typeof vi.fn<(req: Request) => Promise<Response>>>;

beforeEach(() => {
  sent.length = 0;
  tokens.set({ accessToken: 'access-1', refreshToken: 'refresh-1', expiresIn: 900 });
  fetchMock = vi.fn();
  vi.stubGlobal('fetch', async (req: Request) => {
    sent.push({ key: req.headers.get('Idempotency-Key'), body: await req.clone().json(), auth: req.headers.get('Authorization') });
    return fetchMock(req);
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  tokens.clear();
});

describe('DonateForm', () => {
  it('reuses the idempotency key when retrying after a network error', async () => {
    fetchMock.mockRejectedValueOnce(new TypeError('Failed to fetch')).mockResolvedValueOnce(json(donation(5000), 201));
    const user = userEvent.setup();
    renderForm();
    await user.click(screen.getByRole('button', { name: '$50' }));
    await user.click(screen.getByRole('button', { name: 'Donate $50.00' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/network error/i);
    await user.click(screen.getByRole('button', { name: 'Donate $50.00' }));
    expect(await screen.findByText(/thank you/i)).toBeInTheDocument();
    expect(sent).toHaveLength(2);
    expect(sent[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent[1]?.key).toBe(sent[0]?.key);
    expect(sent[0]?.body).toEqual({ amount: 5000, anonymous: false });
    expect(sent[0]?.auth).toBe('Bearer access-1');
  });

  it('uses a new key for the next gift after a success', async () => {
    fetchMock.mockResolvedValue(json(donation(2500), 201));
    const user = userEvent.setup();
    renderForm();
    await user.click(screen.getByRole('button', { name: 'Donate $25.00' }));
    await screen.findByText(/thank you/i);
    await user.click(screen.getByRole('button', { name: 'Donate $25.00' }));
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]?.key).not.toBe(sent[0]?.key);
  });

  it('sends once when the button is double-clicked', async () => {
    let release!: (r: Response) => void;
    fetchMock.mockImplementation(() => new Promise<Response>((r) => (release = r)));
    const user = userEvent.setup();
    renderForm();
    const button = screen.getByRole('button', { name: 'Donate $25.00' });
    await user.dblClick(button);
    await waitFor(() => expect(sent).toHaveLength(1));
    release(json(donation(2500), 201));
    await screen.findByText(/thank you/i);
    expect(sent).toHaveLength(1);
  });

  it('shows the API field error next to the amount field and parses typed amounts exactly', async () => {
    fetchMock.mockResolvedValueOnce(
      json({ error: { code: 'insufficient_funds', message: 'Your wallet balance is too low', details: { field: 'amount' } } }, 422),
    );
    const user = userEvent.setup();
    renderForm();
    const input = screen.getByLabelText('Other amount');
    await user.type(input, '0.29');
    await user.type(screen.getByLabelText('Message (optional)'), 'Good luck');
    await user.click(screen.getByLabelText('Give anonymously'));
    await user.click(screen.getByRole('button', { name: 'Donate $0.29' }));
    const err = await screen.findByText('Your wallet balance is too low');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(input.getAttribute('aria-describedby')).toBe(err.id);
    expect(sent[0]?.body).toEqual({ amount: 29, message: 'Good luck', anonymous: true });
  });

  it('refuses an amount it cannot parse without calling the API', async () => {
    const user = userEvent.setup();
    renderForm();
    await user.type(screen.getByLabelText('Other amount'), '12.345');
    await user.click(screen.getByRole('button', { name: 'Donate' }));
    expect(await screen.findByText(/enter an amount/i)).toBeInTheDocument();
    expect(sent).toHaveLength(0);
  });
});
