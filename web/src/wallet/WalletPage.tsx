import { useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { MoneyField } from '../components/MoneyField';
import { Async, Button, Card, DateText, Empty, ErrorBox, Money, Notice, PageTitle, Pagination, Table, Td } from '../components/ui';
import { label } from '../campaigns/constants';
import { newIdempotencyKey } from '../donate/DonateForm';
import { formatMoney, parseMoney } from '../lib/money';
import { useAction } from '../lib/useAction';
import { PayOut, PayoutsTable } from './Payouts';

export default function WalletPage() {
  const wallet = $api.useQuery('get', '/api/wallet');
  return (
    <div>
      <PageTitle>Wallet</PageTitle>
      <div className="grid gap-6 lg:grid-cols-[1fr_2fr]">
        <div className="space-y-4">
          <Card>
            <h2 className="text-sm font-medium text-slate-700">Balance</h2>
            <Async q={wallet}>
              {(w) => (
                <p className="text-3xl font-bold" data-testid="balance">
                  <Money amount={w.balance} currency={w.currency} />
                </p>
              )}
            </Async>
          </Card>
          <Deposit currency={wallet.data?.currency ?? 'USD'} />
          <PayOut currency={wallet.data?.currency ?? 'USD'} />
        </div>
        <div className="space-y-6">
          <Transactions currency={wallet.data?.currency ?? 'USD'} />
          <PayoutsTable currency={wallet.data?.currency ?? 'USD'} />
        </div>
      </div>
    </div>
  );
}

function Deposit({ currency }: { currency: string }) {
  const qc = useQueryClient();
  const [value, setValue] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const key = useRef<string | null>(null);
  const act = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const amount = parseMoney(value, currency);
    if (amount === null) {
      act.setError({ code: 'validation_failed', message: 'Enter an amount such as 50 or 12.34', field: 'amount', retryable: false });
      return;
    }
    key.current ??= newIdempotencyKey();
    const k = key.current;
    const d = await act.run(() =>
      unwrap(client.POST('/api/wallet/deposits', { params: { header: { 'Idempotency-Key': k } }, body: { amount } })),
    );
    if (d) {
      key.current = null;
      setValue('');
      setDone(`Deposit of ${formatMoney(d.amount, currency)} ${d.status === 'confirmed' ? 'confirmed' : label(d.status).toLowerCase()}.`);
      await qc.invalidateQueries({ queryKey: ['get', '/api/wallet'] });
      await qc.invalidateQueries({ queryKey: ['get', '/api/wallet/transactions'] });
    }
  }

  return (
    <Card>
      <h2 className="mb-2 text-lg font-semibold">Add money</h2>
      <p className="mb-3 text-sm text-slate-700">Deposits go through the payment provider (the sandbox confirms at once).</p>
      <form onSubmit={submit} noValidate aria-label="Deposit">
        <MoneyField
          label={`Amount (${currency})`}
          value={value}
          onChange={(v) => {
            setValue(v);
            key.current = null;
            setDone(null);
          }}
          error={fieldError(act.error, 'amount')}
        />
        {act.error && !act.error.field && <ErrorBox error={new Error(act.error.message)} />}
        {done && <Notice tone="success">{done}</Notice>}
        <Button type="submit" busy={act.busy}>
          Deposit
        </Button>
      </form>
    </Card>
  );
}

function Transactions({ currency }: { currency: string }) {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/wallet/transactions', { params: { query: { page, limit: 20 } } });
  return (
    <section aria-labelledby="tx-h">
      <h2 id="tx-h" className="mb-2 text-lg font-semibold">
        Transactions
      </h2>
      <Async q={q}>
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No transactions yet. Add money to get started.</Empty>
          ) : (
            <>
              <Table caption="Wallet transactions" head={['When', 'Kind', 'Amount']}>
                {d.items.map((l) => (
                  <tr key={l.id}>
                    <Td><DateText value={l.createdAt} time /></Td>
                    <Td>{label(l.kind)}</Td>
                    <Td className={l.amount < 0 ? 'text-red-800' : 'text-emerald-800'}>
                      <Money amount={l.amount} currency={currency} />
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
