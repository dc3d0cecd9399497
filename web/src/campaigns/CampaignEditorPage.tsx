import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { $api, client, type Schemas } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { MoneyField } from '../components/MoneyField';
import { Async, Badge, Button, Card, ErrorBox, Money, Notice, PageTitle, SelectField, TextArea, TextField } from '../components/ui';
import { newIdempotencyKey } from '../donate/DonateForm';
import { parseMoney, toInputValue } from '../lib/money';
import { useAction } from '../lib/useAction';
import { CATEGORIES, FUNDING_MODELS, label } from './constants';

type Campaign = Schemas['CampaignDto'];

function toLocalInput(iso?: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export default function CampaignEditorPage() {
  const { id } = useParams();
  const q = $api.useQuery('get', '/api/campaigns/{id}', { params: { path: { id: id ?? '' } } }, { enabled: !!id });
  if (!id) return <Editor />;
  return <Async q={q}>{(c) => <Editor c={c} />}</Async>;
}

function Editor({ c }: { c?: Campaign }) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [form, setForm] = useState({
    title: c?.title ?? '',
    description: c?.description ?? '',
    goal: c ? toInputValue(c.goalAmount, c.currency) : '',
    category: c?.category ?? 'community',
    fundingModel: c?.fundingModel ?? 'keep_it_all',
    deadline: toLocalInput(c?.deadline),
  });
  const [saved, setSaved] = useState(false);
  const save = useAction();
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => {
    setSaved(false);
    setForm((f) => ({ ...f, [k]: e.target.value }));
  };
  const currency = c?.currency ?? 'USD';

  async function submit(e: FormEvent) {
    e.preventDefault();
    const goalAmount = parseMoney(form.goal, currency);
    if (goalAmount === null) {
      save.setError({ code: 'validation_failed', message: 'Enter a goal such as 500 or 1250.50', field: 'goalAmount', retryable: false });
      return;
    }
    const deadline = form.deadline ? new Date(form.deadline).toISOString() : undefined;
    const result = await save.run(async () => {
      if (c) {
        return unwrap(
          client.PATCH('/api/campaigns/{id}', {
            params: { path: { id: c.id } },
            body: { title: form.title, description: form.description, category: form.category, goalAmount, deadline },
          }),
        );
      }
      return unwrap(
        client.POST('/api/campaigns', {
          body: { title: form.title, description: form.description, category: form.category, goalAmount, currency, fundingModel: form.fundingModel, deadline },
        }),
      );
    });
    if (result) {
      await qc.invalidateQueries({ queryKey: ['get', '/api/campaigns'] });
      await qc.invalidateQueries({ queryKey: ['get', '/api/campaigns/{id}'] });
      setSaved(true);
      if (!c) navigate(`/campaigns/${result.id}/manage`);
    }
  }

  const err = save.error;
  const generic = err && !err.field;
  return (
    <div>
      <PageTitle>{c ? `Manage: ${c.title}` : 'Start a campaign'}</PageTitle>
      <div className="grid gap-6 lg:grid-cols-[3fr_2fr]">
        <Card>
          <form onSubmit={submit} noValidate aria-label="Campaign details">
            {generic && <ErrorBox error={new Error(err.message)} />}
            <TextField label="Title" required maxLength={200} value={form.title} onChange={set('title')} error={fieldError(err, 'title')} />
            <TextArea label="Description" required rows={6} value={form.description} onChange={set('description')} error={fieldError(err, 'description')} />
            <MoneyField label={`Goal (${currency})`} value={form.goal} onChange={(v) => set('goal')({ target: { value: v } })} error={fieldError(err, 'goalAmount')} hint="Between 10.00 and 1,000,000.00" />
            <SelectField label="Category" value={form.category} onChange={set('category')} options={CATEGORIES.map((x) => ({ value: x, label: label(x) }))} error={fieldError(err, 'category')} />
            {!c && (
              <SelectField label="Funding model" value={form.fundingModel} onChange={set('fundingModel')} options={[...FUNDING_MODELS]} error={fieldError(err, 'fundingModel')} />
            )}
            <TextField label="Deadline (optional)" type="datetime-local" value={form.deadline} onChange={set('deadline')} error={fieldError(err, 'deadline')} />
            {saved && <Notice tone="success">Saved.</Notice>}
            <Button type="submit" busy={save.busy}>
              {c ? 'Save changes' : 'Create draft'}
            </Button>
          </form>
        </Card>
        {c && <Manage c={c} />}
      </div>
    </div>
  );
}

function Manage({ c }: { c: Campaign }) {
  const qc = useQueryClient();
  const act = useAction();
  const refresh = () => qc.invalidateQueries({ queryKey: ['get', '/api/campaigns/{id}'] });
  const [file, setFile] = useState<File | null>(null);
  const upload = useAction();
  const [withdraw, setWithdraw] = useState('');
  const [withdrawKey, setWithdrawKey] = useState<string | null>(null);
  const wd = useAction();
  const [done, setDone] = useState<string | null>(null);

  async function publish() {
    if (await act.run(() => unwrap(client.POST('/api/campaigns/{id}/publish', { params: { path: { id: c.id } } })))) {
      setDone('Published: the campaign now takes donations.');
      await refresh();
    }
  }
  async function cancel() {
    if (!window.confirm('Cancel this campaign? Donations held for all-or-nothing campaigns are refunded.')) return;
    const r = await act.run(() => unwrap(client.POST('/api/campaigns/{id}/cancel', { params: { path: { id: c.id } } })));
    if (r) {
      setDone(`Cancelled. ${r.refundedDonations} donation(s) refunded.`);
      await refresh();
    }
  }
  async function stopRecurring() {
    const r = await act.run(() => unwrap(client.POST('/api/campaigns/{id}/recurring/stop', { params: { path: { id: c.id } } })));
    if (r) setDone(`Stopped ${r.stopped} recurring plan(s).`);
  }
  async function uploadImage(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    const fd = new FormData();
    fd.append('file', file);
    const r = await upload.run(() =>
      unwrap(client.POST('/api/campaigns/{id}/images', { params: { path: { id: c.id } }, body: fd as never })),
    );
    if (r) {
      setFile(null);
      (e.target as HTMLFormElement).reset();
      await refresh();
    }
  }
  async function doWithdraw(e: FormEvent) {
    e.preventDefault();
    const amount = parseMoney(withdraw, c.currency);
    if (amount === null) {
      wd.setError({ code: 'validation_failed', message: 'Enter an amount such as 100.00', field: 'amount', retryable: false });
      return;
    }
    const key = withdrawKey ?? newIdempotencyKey();
    setWithdrawKey(key);
    const r = await wd.run(() =>
      unwrap(
        client.POST('/api/campaigns/{id}/withdrawals', {
          params: { path: { id: c.id }, header: { 'Idempotency-Key': key } },
          body: { amount },
        }),
      ),
    );
    if (r) {
      setWithdrawKey(null);
      setWithdraw('');
      setDone(`Withdrew ${toInputValue(r.amount, c.currency)} ${c.currency} to your wallet.`);
      await refresh();
      await qc.invalidateQueries({ queryKey: ['get', '/api/wallet'] });
    }
  }

  return (
    <div className="space-y-4">
      <Card>
        <h2 className="mb-2 text-lg font-semibold">Status</h2>
        <p className="mb-2">
          <Badge>{label(c.status)}</Badge> · raised <Money amount={c.raisedAmount} currency={c.currency} /> of <Money amount={c.goalAmount} currency={c.currency} />
        </p>
        <p className="mb-3 text-sm">
          <Link to={`/campaigns/${c.id}`}>View public page</Link>
        </p>
        {act.error && <ErrorBox error={new Error(act.error.message)} />}
        {done && <Notice tone="success">{done}</Notice>}
        <div className="flex flex-wrap gap-2">
          {c.status === 'draft' && (
            <Button onClick={() => void publish()} busy={act.busy}>
              Publish
            </Button>
          )}
          {(c.status === 'draft' || c.status === 'active') && (
            <Button variant="danger" onClick={() => void cancel()} busy={act.busy}>
              Cancel campaign
            </Button>
          )}
          {c.status === 'active' && (
            <Button variant="secondary" onClick={() => void stopRecurring()} busy={act.busy}>
              Stop recurring gifts
            </Button>
          )}
        </div>
      </Card>
      <Card>
        <h2 className="mb-2 text-lg font-semibold">Images</h2>
        {c.images.length > 0 && (
          <ul className="mb-3 grid grid-cols-3 gap-2">
            {c.images.map((i) => (
              <li key={i.id}>
                <img src={i.url} alt="Campaign image" className="h-20 w-full rounded object-cover" />
              </li>
            ))}
          </ul>
        )}
        <form onSubmit={uploadImage} aria-label="Upload image">
          <label htmlFor="image-file" className="mb-1 block text-sm font-medium">
            Image (PNG, JPEG, GIF or WebP, up to 5 MiB)
          </label>
          <input id="image-file" type="file" accept="image/png,image/jpeg,image/gif,image/webp" className="mb-2 block w-full text-sm" onChange={(e) => setFile(e.target.files?.[0] ?? null)} aria-describedby={upload.error ? 'image-error' : undefined} />
          {upload.error && (
            <p id="image-error" role="alert" className="mb-2 text-sm text-red-700">
              {upload.error.message}
            </p>
          )}
          <Button type="submit" variant="secondary" busy={upload.busy} disabled={!file}>
            Upload image
          </Button>
        </form>
      </Card>
      {c.fundingModel === 'keep_it_all' && c.status !== 'draft' && (
        <Card>
          <h2 className="mb-2 text-lg font-semibold">Withdraw to your wallet</h2>
          <form onSubmit={doWithdraw} noValidate aria-label="Withdraw funds">
            <MoneyField label={`Amount (${c.currency})`} value={withdraw} onChange={(v) => { setWithdraw(v); setWithdrawKey(null); }} error={fieldError(wd.error, 'amount')} />
            {wd.error && !wd.error.field && <ErrorBox error={new Error(wd.error.message)} />}
            <Button type="submit" busy={wd.busy}>
              Withdraw
            </Button>
          </form>
        </Card>
      )}
    </div>
  );
}
