import { Link } from 'react-router-dom';
import { $api, type Schemas } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { Async, Badge, Empty, Loading, Money, PageTitle, Table, Td } from '../components/ui';
import { label } from './constants';

function Rows({ items }: { items: Schemas['CampaignDto'][] }) {
  return (
    <Table caption="Your campaigns" head={['Title', 'Status', 'Raised', 'Goal', '']}>
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
  const others = $api.useQuery('get', '/api/campaigns', { params: { query: { creator, limit: 50 } } }, { enabled: !!creator });
  if (!user) return <Loading />;
  return (
    <div>
      <PageTitle actions={<Link to="/campaigns/new" className="rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white no-underline">Start a campaign</Link>}>
        My campaigns
      </PageTitle>
      <h2 className="mb-2 mt-4 text-lg font-semibold">Drafts</h2>
      <Async q={drafts}>{(d) => (d.items.length ? <Rows items={d.items} /> : <Empty>No drafts.</Empty>)}</Async>
      <h2 className="mb-2 mt-6 text-lg font-semibold">Published</h2>
      <Async q={others}>{(d) => (d.items.length ? <Rows items={d.items} /> : <Empty>Nothing published yet.</Empty>)}</Async>
    </div>
  );
}
