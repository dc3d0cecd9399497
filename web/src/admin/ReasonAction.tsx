import { useId, useState, type FormEvent } from 'react';
import { fieldError } from '../api/errors';
import { Button, ErrorBox, TextArea } from '../components/ui';
import { useAction } from '../lib/useAction';

/**
 * An admin action that says why: the button opens an inline form with the reason (kept in the
 * audit log). The server decides whether the reason is acceptable; its refusal shows next to
 * the field and the form stays open with what was typed.
 */
export function ReasonAction({
  trigger,
  name,
  prompt,
  confirm,
  required,
  hint = 'Kept in the admin audit log.',
  variant = 'danger',
  onConfirm,
}: {
  /** The button's text, e.g. "Suspend". */
  trigger: string;
  /** The button's accessible name and the form's, e.g. "Suspend Garden". */
  name: string;
  /** The reason field's label. */
  prompt: string;
  /** The submit button's text. */
  confirm: string;
  required?: boolean;
  hint?: string;
  variant?: 'danger' | 'secondary' | 'primary';
  /** Runs the action; resolves when done, throws (ApiError) when refused. */
  onConfirm: (reason: string | undefined) => Promise<unknown>;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const act = useAction();
  const formId = useId();
  const openerId = `${formId}-open`;

  function close() {
    setOpen(false);
    setReason('');
    act.setError(null);
    // The form is gone: keyboard focus goes back where it came from.
    requestAnimationFrame(() => document.getElementById(openerId)?.focus());
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = await act.run(async () => {
      await onConfirm(reason.trim() || undefined);
      return true;
    });
    if (r) close();
  }

  if (!open) {
    return (
      <Button id={openerId} variant={variant} aria-label={name} onClick={() => setOpen(true)}>
        {trigger}
      </Button>
    );
  }
  return (
    <form id={formId} aria-label={name} noValidate onSubmit={submit} className="min-w-64 max-w-md rounded-md border border-slate-300 bg-slate-50 p-3">
      <TextArea
        // The form opens on the admin's click: the reason is what they type next.
        autoFocus
        label={required ? `${prompt} (required)` : `${prompt} (optional)`}
        hint={hint}
        rows={2}
        maxLength={1000}
        aria-required={required || undefined}
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') close();
        }}
        error={fieldError(act.error, 'reason')}
      />
      {act.error && !fieldError(act.error, 'reason') && <ErrorBox error={new Error(act.error.message)} />}
      <div className="flex flex-wrap gap-2">
        <Button type="submit" variant={variant === 'secondary' ? 'primary' : variant} busy={act.busy}>
          {confirm}
        </Button>
        <Button variant="secondary" onClick={close} disabled={act.busy}>
          Cancel
        </Button>
      </div>
    </form>
  );
}
