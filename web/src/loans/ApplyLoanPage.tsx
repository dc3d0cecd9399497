import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { client } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { MoneyField } from '../components/MoneyField';
import { Button, Card, ErrorBox, PageTitle, SelectField, TextArea, TextField } from '../components/ui';
import { parseMoney } from '../lib/money';
import { useAction } from '../lib/useAction';

export default function ApplyLoanPage() {
  const navigate = useNavigate();
  const [form, setForm] = useState({ amount: '', termMonths: '12', purpose: '', description: '' });
  const act = useAction();
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    const amount = parseMoney(form.amount);
    if (amount === null) {
      act.setError({ code: 'validation_failed', message: 'Enter an amount such as 500', field: 'amount', retryable: false });
      return;
    }
    const loan = await act.run(() =>
      unwrap(client.POST('/api/loans', { body: { amount, termMonths: Number(form.termMonths), purpose: form.purpose, description: form.description } })),
    );
    if (loan) navigate(`/loans/${loan.id}`);
  }
  const err = act.error;
  return (
    <div className="mx-auto max-w-xl">
      <PageTitle>Apply for a loan</PageTitle>
      <Card>
        <form onSubmit={submit} noValidate aria-label="Loan application">
          {err && !err.field && <ErrorBox error={new Error(err.message)} />}
          <MoneyField label="Amount (USD)" value={form.amount} onChange={(v) => set('amount')({ target: { value: v } })} error={fieldError(err, 'amount')} />
          <SelectField
            label="Term"
            value={form.termMonths}
            onChange={set('termMonths')}
            options={[3, 6, 9, 12, 18, 24, 36].map((m) => ({ value: String(m), label: `${m} months` }))}
            error={fieldError(err, 'termMonths')}
          />
          <TextField label="Purpose" maxLength={200} value={form.purpose} onChange={set('purpose')} error={fieldError(err, 'purpose')} />
          <TextArea label="Tell lenders about it" rows={5} value={form.description} onChange={set('description')} error={fieldError(err, 'description')} />
          <Button type="submit" busy={act.busy}>
            Submit application
          </Button>
        </form>
      </Card>
    </div>
  );
}
