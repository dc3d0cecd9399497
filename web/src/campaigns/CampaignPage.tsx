import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link, useLocation, useParams } from 'react-router-dom';
import { $api, type Schemas } from '../api/client';
import { useAuth, loginPath } from '../auth/AuthContext';
import { Async, Badge, Button, Card, DateText, Empty, Money, Notice, PageTitle, Pagination, ProgressBar, Table, Td } from '../components/ui';
import { DonateForm } from '../donate/DonateForm';
import { RecurringForm } from '../donate/RecurringForm';
import { percentOf } from '../lib/money';
import { CampaignUpdates } from './CampaignUpdates';
import { label } from './constants';
import { useLiveStats } from './useLiveStats';

export default function CampaignPage() {
  const { id = '' } = useParams();
  const campaign = $api.useQuery('get', '/api/campaigns/{id}', { params: { path: { id } } });
  return <Async q={campaign} label="Loading campaign…">{(c) => <CampaignView c={c} />}</Async>;
}

function CampaignView({ c }: { c: Schemas['CampaignDto'] }) {
  const qc = useQueryClient();
  const { signedIn, user } = useAuth();
  const location = useLocation();
  const { stats, connected } = useLiveStats(c.id, () => {
    void qc.invalidateQueries({ queryKey: ['get', '/api/campaigns/{id}/donations'] });
    void qc.invalidateQueries({ queryKey: ['get', '/api/campaigns/{id}/ledger'] });
  });
  const raised = stats?.raisedAmount ?? c.raisedAmount;
  const donors = stats?.totalDonors ?? c.totalDonors;
  const img = c.images[0];
  const isOwner = user?.id === c.creatorId;

  return (
    <div>
      <PageTitle
        actions={
          isOwner ? (
            <Link to={`/campaigns/${c.id}/manage`} className="rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-900 no-underline">
              Manage campaign
            </Link>
          ) : undefined
        }
      >
        {c.title}
      </PageTitle>
      {c.status === 'suspended' && (
        <Notice tone="warn">
          Suspended by the moderators: only {isOwner ? 'you' : 'its creator'} and admins can see this campaign. It takes no donations and its
          monthly gifts are paused until it is reinstated.
        </Notice>
      )}
      {/* Phones: story, then progress and the donate form, then donors and ledger. */}
      <div className="grid gap-6 lg:grid-cols-[2fr_1fr] lg:items-start">
        <div className="min-w-0 space-y-6">
          {img ? (
            <img src={img.url} alt={`Image for ${c.title}`} className="max-h-96 w-full rounded-lg object-cover" />
          ) : null}
          <div className="flex flex-wrap gap-2 text-sm">
            {c.featured && <Badge>Featured</Badge>}
            <Badge>{label(c.category)}</Badge>
            <Badge>{label(c.status)}</Badge>
            <Badge>{label(c.fundingModel)}</Badge>
            <span>by {c.creatorName}</span>
            {c.deadline && (
              <span>
                · ends <DateText value={c.deadline} />
              </span>
            )}
          </div>
          <p className="whitespace-pre-line leading-relaxed">{c.description}</p>
        </div>
        <div className="space-y-4 lg:col-start-2 lg:row-span-2 lg:row-start-1">
          <Card>
            <p className="text-3xl font-bold" data-testid="raised">
              <Money amount={raised} currency={c.currency} />
            </p>
            <p className="mb-2 text-sm text-slate-700">
              raised of <Money amount={c.goalAmount} currency={c.currency} /> goal
            </p>
            <ProgressBar value={raised} max={c.goalAmount} label="Funding progress" />
            <p className="mt-2 text-sm" aria-live="polite">
              {percentOf(raised, c.goalAmount)}% · {donors} donor{donors === 1 ? '' : 's'}
              <span className="sr-only">{connected ? ' (live)' : ''}</span>
            </p>
            {/* A suspended campaign has no public event stream: nothing to connect to. */}
            {c.status !== 'suspended' && (
              <p className="mt-1 text-xs text-slate-600">{connected ? 'Live: updates as gifts arrive.' : 'Connecting to live updates…'}</p>
            )}
          </Card>
          <Card>
            {c.status !== 'active' ? (
              <p>This campaign is not taking donations ({label(c.status)}).</p>
            ) : signedIn ? (
              <>
                <DonateForm campaignId={c.id} currency={c.currency} />
                <RecurringForm campaignId={c.id} currency={c.currency} />
              </>
            ) : (
              <p>
                <Link to={loginPath(location)}>Sign in to donate</Link>
              </p>
            )}
          </Card>
          <Share title={c.title} />
        </div>
        <div className="min-w-0 space-y-6 lg:col-start-1">
          {/* Updates are posted on published campaigns that are not suspended. */}
          <CampaignUpdates campaignId={c.id} canPost={(isOwner || user?.role === 'admin') && ['active', 'completed', 'cancelled'].includes(c.status)} />
          <Donors id={c.id} currency={c.currency} />
          <Ledger id={c.id} currency={c.currency} />
        </div>
      </div>
    </div>
  );
}

function Share({ title }: { title: string }) {
  const url = typeof window === 'undefined' ? '' : window.location.href;
  const [copied, setCopied] = useState(false);
  async function share() {
    if (navigator.share) {
      try {
        await navigator.share({ title, url });
        return;
      } catch {
        // Fall back to copying.
      }
    }
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return (
    <Card>
      <h2 className="mb-2 text-lg font-semibold">Share</h2>
      <label htmlFor="share-url" className="sr-only">
        Link to this campaign
      </label>
      <input id="share-url" readOnly value={url} className="mb-2 w-full rounded border border-slate-300 bg-slate-50 px-2 py-1 text-sm" onFocus={(e) => e.target.select()} />
      <Button variant="secondary" onClick={() => void share()}>
        Copy share link
      </Button>
      <span role="status" className="ml-2 text-sm">
        {copied ? 'Copied!' : ''}
      </span>
    </Card>
  );
}

function Donors({ id, currency }: { id: string; currency: string }) {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/campaigns/{id}/donations', { params: { path: { id }, query: { page, limit: 10 } } });
  return (
    <section aria-labelledby="donors-h">
      <h2 id="donors-h" className="mb-2 text-xl font-semibold">
        Donors
      </h2>
      <Async q={q} label="Loading donors…">
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No donations yet. Be the first!</Empty>
          ) : (
            <>
              <ul className="divide-y divide-slate-200 rounded-lg border border-slate-200 bg-white" data-testid="donors">
                {d.items.map((x) => (
                  <li key={x.id} className="flex flex-wrap justify-between gap-2 p-3">
                    <div>
                      <p className="font-medium">{x.donorName ?? 'Anonymous'}</p>
                      {x.message && <p className="text-sm text-slate-700">“{x.message}”</p>}
                    </div>
                    <div className="text-right text-sm">
                      <Money amount={x.amount} currency={currency} />
                      <br />
                      <DateText value={x.createdAt} />
                    </div>
                  </li>
                ))}
              </ul>
              <Pagination page={d.page} limit={d.limit} total={d.total} onPage={setPage} />
            </>
          )
        }
      </Async>
    </section>
  );
}

function Ledger({ id, currency }: { id: string; currency: string }) {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/campaigns/{id}/ledger', { params: { path: { id }, query: { page, limit: 10 } } });
  return (
    <section aria-labelledby="ledger-h">
      <h2 id="ledger-h" className="mb-2 text-xl font-semibold">
        Public ledger
      </h2>
      <Async q={q} label="Loading ledger…">
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No ledger lines yet.</Empty>
          ) : (
            <>
              <Table caption="Ledger lines of this campaign" head={['#', 'When', 'Kind', 'Amount']}>
                {d.items.map((l) => (
                  <tr key={l.id}>
                    <Td>{l.id}</Td>
                    <Td><DateText value={l.createdAt} time /></Td>
                    <Td>{label(l.kind)}</Td>
                    <Td className="text-right"><Money amount={l.amount} currency={currency} /></Td>
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
