import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { $api, client, type Schemas } from '../api/client';
import { unwrap } from '../api/errors';
import { Async, Button, DateText, Empty, ErrorBox, PageTitle, Pagination, Table, TextField, Td } from '../components/ui';
import { useAction } from '../lib/useAction';
import type { UserRole, UserTier } from '../api/types';
import { AdminNav } from './AdminNav';

export default function UsersPage() {
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const list = $api.useQuery('get', '/api/admin/users', { params: { query: { q: q || undefined, page, limit: 20 } } });
  return (
    <div>
      <PageTitle>Users</PageTitle>
      <AdminNav />
      <div className="max-w-md">
        <TextField label="Search by name or email" type="search" value={q} onChange={(e) => { setQ(e.target.value); setPage(1); }} />
      </div>
      <Async q={list}>
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No users match.</Empty>
          ) : (
            <>
              <Table caption="Users" head={['Name', 'Email', 'Joined', 'Role', 'Tier', 'Active']}>
                {d.items.map((u) => (
                  <UserRow key={u.id} u={u} />
                ))}
              </Table>
              <Pagination page={d.page} limit={d.limit} total={d.total} onPage={setPage} />
            </>
          )
        }
      </Async>
    </div>
  );
}

function UserRow({ u }: { u: Schemas['UserDto'] }) {
  const qc = useQueryClient();
  const act = useAction();
  async function update(body: Schemas['AdminUserUpdate']) {
    if (await act.run(() => unwrap(client.PATCH('/api/admin/users/{id}', { params: { path: { id: u.id } }, body }))))
      await qc.invalidateQueries({ queryKey: ['get', '/api/admin/users'] });
  }
  const name = `${u.firstName} ${u.lastName}`;
  return (
    <tr>
      <Td>{name}</Td>
      <Td className="break-all">{u.email}</Td>
      <Td><DateText value={u.createdAt} /></Td>
      <Td>
        <label className="sr-only" htmlFor={`role-${u.id}`}>Role of {name}</label>
        <select id={`role-${u.id}`} className="rounded border border-slate-400 px-2 py-1" value={u.role} disabled={act.busy} onChange={(e) => void update({ role: e.target.value as UserRole })}>
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
      </Td>
      <Td>
        <label className="sr-only" htmlFor={`tier-${u.id}`}>Tier of {name}</label>
        <select id={`tier-${u.id}`} className="rounded border border-slate-400 px-2 py-1" value={u.tier} disabled={act.busy} onChange={(e) => void update({ tier: e.target.value as UserTier })}>
          <option value="standard">standard</option>
          <option value="premium">premium</option>
        </select>
      </Td>
      <Td>
        <Button variant={u.isActive ? 'danger' : 'secondary'} busy={act.busy} onClick={() => void update({ isActive: !u.isActive })} aria-label={`${u.isActive ? 'Deactivate' : 'Reactivate'} ${name}`}>
          {u.isActive ? 'Deactivate' : 'Reactivate'}
        </Button>
        {act.error && <ErrorBox error={new Error(act.error.message)} />}
      </Td>
    </tr>
  );
}
