import { useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client, type Schemas } from '../api/client';
import { fieldError, unwrap } from '../api/errors';
import { Async, Button, Card, Checkbox, ErrorBox, Notice, PageTitle, TextField } from '../components/ui';
import { useAction } from '../lib/useAction';
import { AccountNav } from './AccountNav';
import { DeleteAccount, YourData } from './DataAndDeletion';

export default function SettingsPage() {
  const me = $api.useQuery('get', '/api/users/me', {});
  return (
    <div>
      <PageTitle>Account settings</PageTitle>
      <AccountNav />
      <Async q={me}>
        {(u) => (
          <div className="space-y-6">
            <Forms user={u} />
            <YourData />
            <DeleteAccount />
          </div>
        )}
      </Async>
    </div>
  );
}

function Forms({ user }: { user: Schemas['UserDto'] }) {
  const qc = useQueryClient();
  const [profile, setProfile] = useState({ firstName: user.firstName, lastName: user.lastName, emailNotifications: user.emailNotifications });
  const [pw, setPw] = useState({ currentPassword: '', newPassword: '' });
  const [mail, setMail] = useState({ email: '', currentPassword: '' });
  const p = useAction();
  const w = useAction();
  const m = useAction();
  const [saved, setSaved] = useState<string | null>(null);

  async function save(body: Schemas['UpdateMeRequest'], act: typeof p, msg: string) {
    setSaved(null);
    const u = await act.run(() => unwrap(client.PATCH('/api/users/me', { body })));
    if (u) {
      qc.setQueryData($api.queryOptions('get', '/api/users/me', {}).queryKey, u);
      setSaved(msg);
      return true;
    }
    return false;
  }

  return (
    <div className="grid gap-6 md:grid-cols-2">
      <Card>
        <h2 className="mb-2 text-lg font-semibold">Profile</h2>
        <p className="mb-3 text-sm text-slate-700">
          {user.email} · {user.role} · {user.tier}
        </p>
        <form
          aria-label="Profile"
          noValidate
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void save(profile, p, 'Profile saved.');
          }}
        >
          <TextField label="First name" value={profile.firstName} onChange={(e) => setProfile({ ...profile, firstName: e.target.value })} error={fieldError(p.error, 'firstName')} />
          <TextField label="Last name" value={profile.lastName} onChange={(e) => setProfile({ ...profile, lastName: e.target.value })} error={fieldError(p.error, 'lastName')} />
          <Checkbox label="Email me news and updates (receipts and security mail are always sent)" checked={profile.emailNotifications} onChange={(e) => setProfile({ ...profile, emailNotifications: e.target.checked })} />
          {p.error && !p.error.field && <ErrorBox error={new Error(p.error.message)} />}
          {saved === 'Profile saved.' && <Notice tone="success">{saved}</Notice>}
          <Button type="submit" busy={p.busy}>
            Save profile
          </Button>
        </form>
      </Card>
      <Card>
        <h2 className="mb-2 text-lg font-semibold">Password</h2>
        <form
          aria-label="Change password"
          noValidate
          onSubmit={async (e: FormEvent) => {
            e.preventDefault();
            if (await save(pw, w, 'Password changed.')) setPw({ currentPassword: '', newPassword: '' });
          }}
        >
          <TextField label="Current password" type="password" autoComplete="current-password" value={pw.currentPassword} onChange={(e) => setPw({ ...pw, currentPassword: e.target.value })} error={fieldError(w.error, 'currentPassword')} />
          <TextField label="New password" type="password" autoComplete="new-password" hint="At least 10 characters." value={pw.newPassword} onChange={(e) => setPw({ ...pw, newPassword: e.target.value })} error={fieldError(w.error, 'newPassword')} />
          {w.error && !w.error.field && <ErrorBox error={new Error(w.error.message)} />}
          {saved === 'Password changed.' && <Notice tone="success">{saved}</Notice>}
          <Button type="submit" busy={w.busy}>
            Change password
          </Button>
        </form>
      </Card>
      <Card>
        <h2 className="mb-2 text-lg font-semibold">Email address</h2>
        <p className="mb-3 text-sm text-slate-700">
          {user.email} · {user.emailVerified ? 'verified' : 'not verified yet'}
        </p>
        <form
          aria-label="Change email address"
          noValidate
          onSubmit={async (e: FormEvent) => {
            e.preventDefault();
            if (await save(mail, m, 'Email changed: follow the link we sent to the new address.')) setMail({ email: '', currentPassword: '' });
          }}
        >
          <TextField label="New email address" type="email" autoComplete="email" value={mail.email} onChange={(e) => setMail({ ...mail, email: e.target.value })} error={fieldError(m.error, 'email')} />
          <TextField label="Your password" type="password" autoComplete="current-password" value={mail.currentPassword} onChange={(e) => setMail({ ...mail, currentPassword: e.target.value })} error={fieldError(m.error, 'currentPassword')} />
          {m.error && !m.error.field && <ErrorBox error={new Error(m.error.message)} />}
          {saved?.startsWith('Email changed') && <Notice tone="success">{saved}</Notice>}
          <Button type="submit" busy={m.busy}>
            Change email
          </Button>
        </form>
      </Card>
    </div>
  );
}
