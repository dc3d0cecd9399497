import { useRef, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { client, type Schemas } from '../api/client';
import { describe, fieldError, unwrap, type ErrorInfo } from '../api/errors';
import { Button, Checkbox, Notice, TextArea, TextField, cx } from '../components/ui';
import { formatMoney, parseMoney } from '../lib/money';

const PRESETS = [1000, 2500, 5000, 10000];

/** crypto.randomUUID where available (secure contexts), else a v4 UUID from getRandomValues. */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Gives to a campaign from the wallet. One Idempotency-Key per attempt: made when the attempt
 * is first sent, reused when it is sent again (a retry after a network error or a double
 * click), and replaced only after a success or when the gift itself is changed.
 */
export function DonateForm({
  campaignId,
  currency,
  onDonated,
}: {
  campaignId: string;
  currency: string;
  onDonated?: (d: Schemas['DonationDto']) => void;
}) {
  const qc = useQueryClient();
  const [preset, setPreset] = useState<number | null>(2500);
  const [custom, setCustom] = useState('');
  const [message, setMessage] = useState('');
  const [anonymous, setAnonymous] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [done, setDone] = useState<Schemas['DonationDto'] | null>(null);
  const keyRef = useRef<string | null>(null);
  const sending = useRef(false);

  // Changing the gift starts a new attempt.
  const changed = () => {
    keyRef.current = null;
    setDone(null);
  };

  const amount = preset ?? parseMoney(custom, currency);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (sending.current) return; // a second click while the first is on its way
    if (amount === null || amount <= 0) {
      setError({ code: 'validation_failed', message: 'Enter an amount, e.g. 12.50', field: 'amount', retryable: false });
      return;
    }
    sending.current = true;
    setBusy(true);
    setError(null);
    keyRef.current ??= newIdempotencyKey();
    try {
      const d = await unwrap(
        client.POST('/api/donations/campaign/{campaign_id}', {
          params: { path: { campaign_id: campaignId }, header: { 'Idempotency-Key': keyRef.current } },
          body: { amount, message: message.trim() || undefined, anonymous },
        }),
      );
      keyRef.current = null;
      setDone(d);
      setMessage('');
      void qc.invalidateQueries({ queryKey: ['get', '/api/wallet'] });
      void qc.invalidateQueries({ queryKey: ['get', '/api/campaigns/{id}/donations'] });
      onDonated?.(d);
    } catch (err) {
      setError(describe(err));
    } finally {
      sending.current = false;
      setBusy(false);
    }
  }

  const amountError = fieldError(error, 'amount');
  return (
    <form onSubmit={submit} noValidate aria-labelledby="donate-heading">
      <h2 id="donate-heading" className="mb-2 text-lg font-semibold">
        Donate
      </h2>
      <fieldset className="mb-3">
        <legend className="mb-1 text-sm font-medium">Amount</legend>
        <div className="grid grid-cols-4 gap-2">
          {PRESETS.map((p) => (
            <button
              key={p}
              type="button"
              aria-pressed={preset === p}
              onClick={() => {
                setPreset(p);
                setCustom('');
                changed();
              }}
              className={cx(
                'min-h-10 rounded-md border px-2 py-2 text-sm font-semibold',
                preset === p ? 'border-emerald-700 bg-emerald-700 text-white' : 'border-slate-300 bg-white',
              )}
            >
              {formatMoney(p, currency).replace(/\.00$/, '')}
            </button>
          ))}
        </div>
      </fieldset>
      <TextField
        label="Other amount"
        inputMode="decimal"
        placeholder="e.g. 12.50"
        value={custom}
        onChange={(e) => {
          setCustom(e.target.value);
          setPreset(e.target.value ? null : 2500);
          changed();
        }}
        error={amountError}
      />
      <TextArea
        label="Message (optional)"
        rows={2}
        maxLength={500}
        value={message}
        onChange={(e) => {
          setMessage(e.target.value);
          changed();
        }}
        error={fieldError(error, 'message')}
      />
      <Checkbox
        label="Give anonymously"
        checked={anonymous}
        onChange={(e) => {
          setAnonymous(e.target.checked);
          changed();
        }}
      />
      {error && !amountError && !fieldError(error, 'message') && (
        <div role="alert" className="mb-3 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900">
          {error.message}
          {error.retryable && ' Press Donate again to retry: you will not be charged twice.'}
        </div>
      )}
      {done && (
        <Notice tone="success">
          Thank you! You gave {formatMoney(done.amount, currency)}.
        </Notice>
      )}
      <Button type="submit" busy={busy} className="w-full">
        {amount ? `Donate ${formatMoney(amount, currency)}` : 'Donate'}
      </Button>
    </form>
  );
}
