import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { $api, type Schemas } from '../api/client';
import { Async, Badge, Button, DateText, Empty, PageTitle, SelectField, Table, TextField, Td } from '../components/ui';
import { label } from '../campaigns/constants';
import { AdminNav } from './AdminNav';
import { ACTION_LABELS, TARGET_TYPES, dayStart, diffSnapshots, targetPath, type AuditAction } from './auditLog';

const FILTERS = ['action', 'actor', 'target_type', 'target_id', 'from', 'to'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

// Filters live in the URL (shareable, survive a reload); the "Older" cursors are this view's.
export default function AuditLogPage() {
  const [params, setParams] = useSearchParams();
  const applied = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ''])) as Filters;
  const [draft, setDraft] = useState<Filters>(applied);
  const [cursors, setCursors] = useState<number[]>([]);
  const before = cursors[cursors.length - 1];

  const q = $api.useQuery(
    'get',
    '/api/admin/audit-log',
    {
      params: {
        query: {
          action: (applied.action || undefined) as AuditAction | undefined,
          actor: applied.actor || undefined,
          target_type: applied.target_type || undefined,
          target_id: applied.target_id || undefined,
          from: dayStart(applied.from),
          to: dayStart(applied.to, true),
          before,
        },
      },
    },
    { staleTime: 0 },
  );

  function apply(next: Filters) {
    setDraft(next);
    setCursors([]);
    const p = new URLSearchParams();
    for (const k of FILTERS) if (next[k].trim()) p.set(k, next[k].trim());
    setParams(p);
  }
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [k]: e.target.value }));

  return (
    <div>
      <PageTitle actions={<Button variant="secondary" onClick={() => void q.refetch()} busy={q.isFetching}>Refresh</Button>}>Admin audit log</PageTitle>
      <AdminNav />
      <p className="mb-3 text-sm text-slate-700">Every admin action, newest first: who, what, on which thing, why, and what changed.</p>
      <form
        aria-label="Filter the audit log"
        className="mb-4 grid gap-x-3 sm:grid-cols-3"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          apply(draft);
        }}
      >
        <SelectField
          label="Action"
          value={draft.action}
          onChange={(e) => apply({ ...draft, action: e.target.value })}
          options={[{ value: '', label: 'All actions' }, ...Object.entries(ACTION_LABELS).map(([value, text]) => ({ value, label: text }))]}
        />
        <TextField label="Admin (user id)" value={draft.actor} onChange={set('actor')} spellCheck={false} />
        <SelectField
          label="Target type"
          value={draft.target_type}
          onChange={(e) => apply({ ...draft, target_type: e.target.value })}
          options={[{ value: '', label: 'Any' }, ...TARGET_TYPES.map((t) => ({ value: t, label: label(t) }))]}
        />
        <TextField label="Target id" value={draft.target_id} onChange={set('target_id')} spellCheck={false} />
        <TextField label="From (UTC day)" type="date" value={draft.from} onChange={set('from')} />
        <TextField label="To (UTC day, inclusive)" type="date" value={draft.to} onChange={set('to')} />
        <div className="mb-3 flex gap-2 sm:col-span-3">
          <Button type="submit">Apply filters</Button>
          <Button variant="secondary" onClick={() => apply(Object.fromEntries(FILTERS.map((k) => [k, ''])) as Filters)}>
            Clear
          </Button>
        </div>
      </form>
      <Async q={q} label="Loading the audit log…">
        {(d) => (
          <>
            {d.entries.length === 0 ? (
              <Empty>{cursors.length ? 'No older entries.' : 'No admin actions match.'}</Empty>
            ) : (
              <Table caption="Admin audit log" head={['When', 'Admin', 'Action', 'Target', 'Reason', 'Change', 'Request']}>
                {d.entries.map((e) => (
                  <Row key={e.id} e={e} onActor={(actor) => apply({ ...draft, actor })} />
                ))}
              </Table>
            )}
            <nav aria-label="Audit log pages" className="mt-4 flex justify-center gap-3">
              {cursors.length > 0 && (
                <Button variant="secondary" onClick={() => setCursors((c) => c.slice(0, -1))}>
                  Newer
                </Button>
              )}
              {typeof d.nextBefore === 'number' && (
                <Button variant="secondary" onClick={() => setCursors((c) => [...c, d.nextBefore as number])}>
                  Older
                </Button>
              )}
            </nav>
          </>
        )}
      </Async>
    </div>
  );
}

function Row({ e, onActor }: { e: Schemas['AuditEntry']; onActor: (id: string) => void }) {
  const path = targetPath(e.targetType, e.targetId);
  // Ids are UUIDv7 (time first): their tail tells apart things made the same minute.
  const target = `${label(e.targetType)} …${e.targetId.slice(-8)}`;
  const changes = diffSnapshots(e.before, e.after);
  return (
    <tr>
      <Td className="whitespace-nowrap"><DateText value={e.at} time /></Td>
      <Td className="whitespace-nowrap">
        <button
          type="button"
          className="font-medium text-emerald-800 underline-offset-2 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-emerald-600"
          title="Show only this admin’s actions"
          onClick={() => onActor(e.actorId)}
        >
          {e.actorEmail ?? e.actorId}
        </button>
      </Td>
      <Td><Badge>{ACTION_LABELS[e.action] ?? e.action}</Badge></Td>
      <Td className="whitespace-nowrap font-mono text-xs">
        {path ? <Link to={path} title={e.targetId}>{target}</Link> : <span title={e.targetId}>{target}</span>}
      </Td>
      <Td className="min-w-48 max-w-xs break-words">{e.reason ?? <span className="text-slate-600">—</span>}</Td>
      <Td className="text-xs">
        {changes.length === 0 ? (
          <span className="text-slate-600">—</span>
        ) : (
          <ul>
            {changes.map((c) => (
              <li key={c.key} className="whitespace-nowrap">
                <span className="font-medium">{c.key}</span>: {c.before ?? '∅'} → {c.after ?? '∅'}
              </li>
            ))}
          </ul>
        )}
      </Td>
      <Td className="min-w-36 break-all font-mono text-xs">{e.requestId ?? '—'}</Td>
    </tr>
  );
}
