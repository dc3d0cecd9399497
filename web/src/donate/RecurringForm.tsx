import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { client } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { MoneyField } from '../components/MoneyField';
import { Button, ErrorBox, Notice, TextField } from '../components/ui';
import { formatMoney, parseMoney } from '../lib/money';
import { useAction } from '../lib/useAction';

/** Starts a monthly gift from the wallet (`POST /api/donations/recurring`). */
export function RecurringForm({ campaignId, currency }: { campaignId: string; currency: string }) {
  const qc = useQueryClient();
  const [amount, setAmount] = useState('');
  const [day, setDay] = useState(String(Math.min(28, new Date().getDate())));
  const [done, setDone] = useState<string | null>(null);
  const act = useAction();
  async function submit(e: FormEvent) {
    e.preventDefault();
    const minor = parseMoney(amount, currency);
    if (minor === null) {
      act.setError({ code: 'validation_failed', message: 'Enter an amount such as 10', field: 'amount', retryable: false });
      return;
    }
    const r = await act.run(() =>
      unwrap(client.POST('/api/donations/recurring', { body: { campaignId, amount: minor, dayOfMonth: Number(day) } })),
    );
    if (r) {
      setDone(`Monthly gift of ${formatMoney(r.amount, currency)} set up; next charge on ${r.nextChargeOn}.`);
      setAmount('');
      await qc.invalidateQueries({ queryKey: ['get', '/api/donations/recurring'] });
    }
  }
  return (
    <details className="mt-4 border-t border-slate-200 pt-3">
      <summary className="cursor-pointer text-sm font-semibold">Give monthly instead</summary>
      <form onSubmit={submit} noValidate aria-label="Give monthly" className="mt-3">
        <MoneyField label={`Monthly amount (${currency})`} value={amount} onChange={(v) => { setAmount(v); setDone(null); }} error={fieldError(act.error, 'amount')} />
        <TextField label="Day of the month (1–28)" inputMode="numeric" value={day} onChange={(e) => setDay(e.target.value)} error={fieldError(act.error, 'dayOfMonth')} />
        {act.error && !act.error.field && <ErrorBox error={new Error(act.error.message)} />}
        {done && (
          <Notice tone="success">
            {done} <Link to="/my/donations">Manage monthly gifts</Link>
          </Notice>
        )}
        <Button type="submit" variant="secondary" busy={act.busy}>
          Start monthly gift
        </Button>
      </form>
    </details>
  );
}
