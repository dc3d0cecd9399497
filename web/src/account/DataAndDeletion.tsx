// "Your data" (download everything held about you) and "Delete account", on the settings page.
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { client } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { useAuth } from '../auth/AuthContext';
import { Button, Card, ErrorBox, Notice, TextField } from '../components/ui';
import { useAction } from '../lib/useAction';

/** The word people type to confirm the deletion. */
export const CONFIRM_WORD = 'DELETE';

/** Shown on the home page (see RouteNotice) once the account is gone. */
export const DELETED_NOTICE = 'Your account has been deleted and you have been signed out. Thank you for being part of Commonpot.';

/** Today's local date as YYYY-MM-DD. */
export function localDate(d = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Saves a JSON document through a temporary <a download> on an object URL. */
function saveJson(data: unknown, filename: string) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Some browsers start the download after click() returns: revoke once it has.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function YourData() {
  const act = useAction();
  const [saved, setSaved] = useState<string | null>(null);

  async function download() {
    setSaved(null);
    const filename = `commonpot-export-${localDate()}.json`;
    const ok = await act.run(async () => {
      saveJson(await unwrap(client.GET('/api/users/me/export')), filename);
      return true;
    });
    if (ok) setSaved(filename);
  }

  return (
    <Card>
      <h2 className="mb-2 text-lg font-semibold">Your data</h2>
      <p className="mb-3 text-sm text-slate-700">
        Download everything Commonpot holds about you as one JSON file: your profile, wallet and its history, deposits, donations and recurring
        donations, campaigns, withdrawals, loans and repayments, loan shares, API keys and webhooks (without their secrets) and sessions.
      </p>
      {act.error && <ErrorBox error={new Error(act.error.message)} />}
      {saved && <Notice tone="success">Your data was saved as {saved}.</Notice>}
      <Button variant="secondary" busy={act.busy} onClick={() => void download()}>
        {act.busy ? 'Preparing your data…' : 'Download my data'}
      </Button>
    </Card>
  );
}

export function DeleteAccount() {
  const { signOutLocally } = useAuth();
  const navigate = useNavigate();
  const act = useAction();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const confirmed = confirm.trim() === CONFIRM_WORD;
  const notSettled = act.error?.code === 'account_not_settled' ? act.error : null;
  const passwordError = fieldError(act.error, 'password');
  const otherError = act.error && !notSettled && !passwordError ? act.error : null;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!confirmed || !password) return;
    const done = await act.run(async () => {
      await unwrap(client.POST('/api/users/me/delete', { body: { password } }));
      return true;
    });
    if (!done) return;
    // Every session has ended on the API: forget ours without calling it, and leave the
    // signed-in pages (in the same render, so nothing redirects to sign-in first).
    signOutLocally();
    navigate('/', { replace: true, state: { notice: DELETED_NOTICE } });
  }

  return (
    <section aria-labelledby="delete-account-title" className="rounded-lg border-2 border-red-300 bg-white p-4 shadow-sm">
      <h2 id="delete-account-title" className="mb-2 text-lg font-semibold text-red-800">
        Delete account
      </h2>
      <div className="mb-3 space-y-2 text-sm text-slate-800">
        <p>This cannot be undone. You may want to download your data first.</p>
        <p>
          <strong>Erased:</strong> your name and email, the messages on your donations, your loan documents, your campaign images, API keys,
          webhooks, linked accounts and every session (you are signed out everywhere).
        </p>
        <p>
          <strong>Kept, anonymised:</strong> the gifts you made and the loans you borrowed or lent stay on the public ledger, no longer linked
          to you, so campaigns and other lenders keep an accurate record.
        </p>
        <p>
          You can delete your account once it is settled: your wallet is empty, no loan you borrowed or lent is still being raised or repaid,
          and none of your campaigns is open.
        </p>
      </div>
      {notSettled && (
        <div role="alert" className="my-3 rounded-md border-2 border-red-400 bg-red-50 p-3 text-red-900">
          <p className="font-semibold">Your account can't be deleted yet</p>
          <p className="mt-1 text-sm">{notSettled.message}</p>
        </div>
      )}
      <form aria-label="Delete account" noValidate onSubmit={(e) => void submit(e)} className="max-w-md">
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={passwordError}
        />
        <TextField
          label={`Type ${CONFIRM_WORD} to confirm`}
          autoComplete="off"
          autoCapitalize="characters"
          spellCheck={false}
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
        />
        {otherError && <ErrorBox error={new Error(otherError.message)} />}
        <Button type="submit" variant="danger" busy={act.busy} disabled={!confirmed || !password}>
          Delete my account
        </Button>
      </form>
    </section>
  );
}
