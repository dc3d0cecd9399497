import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client, type Schemas } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { MoneyField } from '../components/MoneyField';
import { Async, Button, Card, DateText, Empty, ErrorBox, Money, Notice, Pagination, SelectField, Table, Td, TextField } from '../components/ui';
import { label } from '../campaigns/constants';
import { newIdempotencyKey } from '../donate/DonateForm';
import { formatMoney, parseMoney } from '../lib/money';
import { useAction } from '../lib/useAction';

type PayoutAccount = Schemas['PayoutAccountDto'];

const ACCOUNTS = ['get', '/api/wallet/payout-accounts'] as const;
const PAYOUTS = ['get', '/api/wallet/payouts'] as const;

export function accountName(a: Pick<PayoutAccount, 'bankName' | 'last4'>): string {
  return `${a.bankName} ending ${a.last4}`;
}

/** The "Pay out" card: bank accounts, adding one, and paying out to one. */
export function PayOut({ currency }: { currency: string }) {
  const accounts = $api.useQuery('get', '/api/wallet/payout-accounts');
  return (
    <Card>
      <h2 className="mb-2 text-lg font-semibold">Pay out</h2>
      <p className="mb-3 text-sm text-slate-700">Send money from your wallet to your bank account.</p>
      <Async q={accounts} label="Loading bank accounts…">
        {(list) => (
          <>
            <BankAccounts accounts={list} />
            {list.length > 0 && <PayoutForm accounts={list} currency={currency} />}
            <AddBankAccount first={list.length === 0} />
          </>
        )}
      </Async>
    </Card>
  );
}

function BankAccounts({ accounts }: { accounts: PayoutAccount[] }) {
  const qc = useQueryClient();
  const act = useAction();

  async function remove(a: PayoutAccount) {
    if (!window.confirm(`Remove ${accountName(a)}? Payouts already sent to it are unchanged.`)) return;
    const ok = await act.run(() =>
      unwrap(client.DELETE('/api/wallet/payout-accounts/{id}', { params: { path: { id: a.id } } })).then(() => true),
    );
    if (ok) await qc.invalidateQueries({ queryKey: ACCOUNTS });
  }

  return (
    <div className="mb-4">
      <h3 className="mb-1 text-sm font-medium text-slate-700">Bank accounts</h3>
      {accounts.length === 0 ? (
        <p className="text-sm text-slate-700">No bank account yet. Add one below to pay out.</p>
      ) : (
        <ul className="divide-y divide-slate-100 rounded-md border border-slate-200" aria-label="Bank accounts">
          {accounts.map((a) => (
            <li key={a.id} className="flex items-center justify-between gap-2 px-3 py-2 text-sm">
              <span>{accountName(a)}</span>
              <Button variant="ghost" aria-label={`Remove ${accountName(a)}`} disabled={act.busy} onClick={() => void remove(a)}>
                Remove
              </Button>
            </li>
          ))}
        </ul>
      )}
      {act.error && <ErrorBox error={new Error(act.error.message)} />}
    </div>
  );
}

function AddBankAccount({ first }: { first: boolean }) {
  const qc = useQueryClient();
  const [accountNumber, setAccountNumber] = useState('');
  const [routingNumber, setRoutingNumber] = useState('');
  const [done, setDone] = useState<string | null>(null);
  // Open at first when there is no account yet; it stays open after adding one so the person
  // sees the confirmation and keeps focus.
  const [open, setOpen] = useState(first);
  const act = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setDone(null);
    const a = await act.run(() =>
      unwrap(
        client.POST('/api/wallet/payout-accounts', {
          body: { accountNumber: accountNumber.trim(), routingNumber: routingNumber.trim() },
        }),
      ),
    );
    if (a) {
      // The full numbers are not needed any more; do not keep them in the page.
      setAccountNumber('');
      setRoutingNumber('');
      setDone(`Added ${accountName(a)}.`);
      await qc.invalidateQueries({ queryKey: ACCOUNTS });
    }
  }

  const fieldErr = fieldError(act.error, 'accountNumber') ?? fieldError(act.error, 'routingNumber');
  return (
    <details className="rounded-md border border-slate-200 p-3" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary className="cursor-pointer text-sm font-semibold text-emerald-800">Add bank account</summary>
      <form onSubmit={submit} noValidate aria-label="Add bank account" className="mt-3">
        <p className="mb-3 text-xs text-slate-600">
          The numbers go to the payment provider; Commonpot keeps only the bank&apos;s name and the last four digits.
        </p>
        {import.meta.env.DEV && (
          <Notice>
            Sandbox: use routing number 110000000. The sandbox bank refuses payouts to account numbers ending in 0002.
          </Notice>
        )}
        <TextField
          label="Account number"
          inputMode="numeric"
          autoComplete="off"
          value={accountNumber}
          onChange={(e) => {
            setAccountNumber(e.target.value);
            setDone(null);
          }}
          hint="4 to 17 digits"
          error={fieldError(act.error, 'accountNumber')}
        />
        <TextField
          label="Routing number"
          inputMode="numeric"
          autoComplete="off"
          value={routingNumber}
          onChange={(e) => {
            setRoutingNumber(e.target.value);
            setDone(null);
          }}
          hint="9 digits"
          error={fieldError(act.error, 'routingNumber')}
        />
        {act.error && !fieldErr && <ErrorBox error={new Error(act.error.message)} />}
        {done && <Notice tone="success">{done}</Notice>}
        <Button type="submit" variant="secondary" busy={act.busy}>
          Add bank account
        </Button>
      </form>
    </details>
  );
}

function PayoutForm({ accounts, currency }: { accounts: PayoutAccount[]; currency: string }) {
  const qc = useQueryClient();
  const [selected, setSelected] = useState('');
  const [value, setValue] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const key = useRef<string | null>(null);
  const act = useAction();
  const account = accounts.find((a) => a.id === selected) ?? accounts[0];

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!account) return;
    const amount = parseMoney(value, currency);
    if (amount === null) {
      act.setError({ code: 'validation_failed', message: 'Enter an amount such as 50 or 12.34', field: 'amount', retryable: false });
      return;
    }
    key.current ??= newIdempotencyKey();
    const k = key.current;
    const p = await act.run(() =>
      unwrap(
        client.POST('/api/wallet/payouts', {
          params: { header: { 'Idempotency-Key': k } },
          body: { payoutAccountId: account.id, amount },
        }),
      ),
    );
    if (p) {
      key.current = null;
      setValue('');
      setDone(
        `Payout of ${formatMoney(p.amount, currency)} to ${accountName(account)} requested. ` +
          `The provider's fee is ${formatMoney(p.fee, currency)}; ${formatMoney(p.netAmount, currency)} reaches your bank.`,
      );
      await Promise.all([
        qc.invalidateQueries({ queryKey: ['get', '/api/wallet'] }),
        qc.invalidateQueries({ queryKey: ['get', '/api/wallet/transactions'] }),
        qc.invalidateQueries({ queryKey: PAYOUTS }),
      ]);
    }
  }

  return (
    <form onSubmit={submit} noValidate aria-label="Pay out" className="mb-4">
      <SelectField
        label="To bank account"
        value={account?.id ?? ''}
        onChange={(e) => {
          setSelected(e.target.value);
          key.current = null;
          setDone(null);
        }}
        options={accounts.map((a) => ({ value: a.id, label: accountName(a) }))}
      />
      <MoneyField
        label={`Amount (${currency})`}
        value={value}
        onChange={(v) => {
          setValue(v);
          key.current = null;
          setDone(null);
        }}
        hint="Taken from your wallet; the provider's fee comes out of what reaches your bank."
        error={fieldError(act.error, 'amount')}
      />
      {act.error && !fieldError(act.error, 'amount') && <ErrorBox error={new Error(act.error.message)} />}
      {done && <Notice tone="success">{done}</Notice>}
      <Button type="submit" busy={act.busy}>
        Pay out
      </Button>
    </form>
  );
}

/** The caller's payouts, newest first. */
export function PayoutsTable({ currency }: { currency: string }) {
  const qc = useQueryClient();
  const [page, setPage] = useState(1);
  const q = $api.useQuery(
    'get',
    '/api/wallet/payouts',
    { params: { query: { page, limit: 20 } } },
    // The provider settles payouts a little later (a failed one returns the money), so poll
    // while any is still pending.
    { refetchInterval: (query) => (query.state.data?.items.some((p) => p.status === 'pending') ? 10_000 : false) },
  );

  const pending = q.data?.items.filter((p) => p.status === 'pending').length ?? 0;
  const lastPending = useRef(pending);
  useEffect(() => {
    if (pending < lastPending.current) {
      void qc.invalidateQueries({ queryKey: ['get', '/api/wallet'] });
      void qc.invalidateQueries({ queryKey: ['get', '/api/wallet/transactions'] });
    }
    lastPending.current = pending;
  }, [pending, qc]);

  return (
    <section aria-labelledby="payouts-h">
      <h2 id="payouts-h" className="mb-2 text-lg font-semibold">
        Payouts
      </h2>
      <Async q={q}>
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No payouts yet.</Empty>
          ) : (
            <>
              <Table caption="Payouts" head={['When', 'Amount', 'Fee', 'Reaches bank', 'Status']}>
                {d.items.map((p) => (
                  <tr key={p.id}>
                    <Td><DateText value={p.createdAt} time /></Td>
                    <Td><Money amount={p.amount} currency={currency} /></Td>
                    <Td><Money amount={p.fee} currency={currency} /></Td>
                    <Td><Money amount={p.netAmount} currency={currency} /></Td>
                    <Td>
                      <StatusText status={p.status} reason={p.failureReason} settledAt={p.settledAt} />
                    </Td>
                  </tr>
                ))}
              </Table>
              <Pagination page={d.page} limit={d.limit} total={d.total} onPage={setPage} />
            </>
          )
        }
      </Async>
    </section>
  );
}

function StatusText({ status, reason, settledAt }: { status: string; reason?: string | null; settledAt?: string | null }) {
  const tone = { paid: 'text-emerald-800', failed: 'text-red-800' }[status] ?? 'text-slate-800';
  return (
    <span className={tone}>
      {label(status)}
      {status === 'failed' && (
        <span className="block text-xs">
          {reason ? `${label(reason)}; the money is back in your wallet` : 'The money is back in your wallet'}
        </span>
      )}
      {settledAt && status === 'paid' && (
        <span className="block text-xs text-slate-600">
          <DateText value={settledAt} />
        </span>
      )}
    </span>
  );
}
