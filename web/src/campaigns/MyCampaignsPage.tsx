import { Link } from 'react-router-dom';
import { $api, type Schemas } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { Async, Badge, Empty, Loading, Money, PageTitle, Table, Td } from '../components/ui';
import { label } from './constants';

function Rows({ items, caption = 'Your campaigns' }: { items: Schemas['CampaignDto'][]; caption?: string }) {
  return (
    <Table caption={caption} head={['Title', 'Status', 'Raised', 'Goal', '']}>
      {items.map((c) => (
        <tr key={c.id}>
          <Td><Link to={`/campaigns/${c.id}`}>{c.title}</Link></Td>
          <Td><Badge>{label(c.status)}</Badge></Td>
          <Td><Money amount={c.raisedAmount} currency={c.currency} /></Td>
          <Td><Money amount={c.goalAmount} currency={c.currency} /></Td>
          <Td><Link to={`/campaigns/${c.id}/manage`} aria-label={`Manage ${c.title}`}>Manage</Link></Td>
        </tr>
      ))}
    </Table>
  );
}

export default function MyCampaignsPage() {
  const { user } = useAuth();
  const creator = user?.id ?? '';
  const drafts = $api.useQuery('get', '/api/campaigns', { params: { query: { creator, status: 'draft', limit: 50 } } }, { enabled: !!creator });
  // The public list leaves suspended campaigns out; asked for by status, a creator gets their own.
  const suspended = $api.useQuery('get', '/api/campaigns', { params: { query: { creator, status: 'suspended', limit: 50 } } }, { enabled: !!creator });
  const others = $api.useQuery('get', '/api/campaigns', { params: { query: { creator, limit: 50 } } }, { enabled: !!creator });
  if (!user) return <Loading />;
  return (
    <div>
      <PageTitle actions={<Link to="/campaigns/new" className="rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white no-underline">Start a campaign</Link>}>
        My campaigns
      </PageTitle>
      <h2 className="mb-2 mt-4 text-lg font-semibold">Drafts</h2>
      <Async q={drafts}>{(d) => (d.items.length ? <Rows items={d.items} /> : <Empty>No drafts.</Empty>)}</Async>
      <Async q={suspended}>
        {(d) =>
          d.items.length > 0 && (
            <section aria-labelledby="suspended-h">
              <h2 id="suspended-h" className="mb-2 mt-6 text-lg font-semibold">Suspended by the moderators</h2>
              <p className="mb-2 text-sm text-slate-700">Hidden from the public and not taking donations until an admin reinstates them.</p>
              <Rows items={d.items} caption="Your suspended campaigns" />
            </section>
          )
        }
      </Async>
      <h2 className="mb-2 mt-6 text-lg font-semibold">Published</h2>
      <Async q={others}>{(d) => (d.items.length ? <Rows items={d.items} /> : <Empty>Nothing published yet.</Empty>)}</Async>
    </div>
  );
}
