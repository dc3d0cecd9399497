import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { $api } from '../api/client';
import { Async, Button, Checkbox, Empty, PageTitle, PrevNext, SelectField, TextField } from '../components/ui';
import { CampaignCard } from './CampaignCard';
import { CATEGORIES, SORTS, label } from './constants';
import type { CampaignCategory, CampaignSort } from '../api/types';

const LIMIT = 12;

export default function BrowsePage() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const category = params.get('category') ?? '';
  const sort = params.get('sort') ?? 'newest';
  const featured = params.get('featured') === 'true';
  const page = Number(params.get('page') ?? '1') || 1;
  const [text, setText] = useState(q);

  const update = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!('page' in changes)) next.delete('page');
    setParams(next);
  };

  const list = $api.useQuery('get', '/api/campaigns', {
    params: {
      query: {
        // The public list also holds completed, cancelled and suspended campaigns: browse shows
        // the ones taking donations.
        status: 'active',
        q: q || undefined,
        category: (category || undefined) as CampaignCategory,
        featured: featured || undefined,
        sort: sort as CampaignSort,
        page,
        limit: LIMIT,
      },
    },
  });

  function search(e: FormEvent) {
    e.preventDefault();
    update({ q: text.trim() });
  }

  return (
    <div>
      <PageTitle actions={<Link to="/campaigns/new" className="rounded-md bg-emerald-700 px-4 py-2 text-sm font-semibold text-white no-underline hover:bg-emerald-800">Start a campaign</Link>}>
        Campaigns
      </PageTitle>
      <form role="search" onSubmit={search} className="mb-4 grid gap-x-3 sm:grid-cols-[2fr_1fr_1fr_auto] sm:items-end">
        <TextField label="Search campaigns" type="search" value={text} onChange={(e) => setText(e.target.value)} />
        <SelectField
          label="Category"
          value={category}
          onChange={(e) => update({ category: e.target.value })}
          options={[{ value: '', label: 'All categories' }, ...CATEGORIES.map((c) => ({ value: c, label: label(c) }))]}
        />
        <SelectField label="Sort by" value={sort} onChange={(e) => update({ sort: e.target.value })} options={[...SORTS]} />
        <div className="mb-3">
          <Button type="submit">Search</Button>
        </div>
        <Checkbox label="Featured only" checked={featured} onChange={(e) => update({ featured: e.target.checked ? 'true' : '' })} />
      </form>
      <Async q={list} label="Loading campaigns…">
        {(data) => {
          // The list says whether another page follows, not how many campaigns match.
          const paging = <PrevNext page={data.page} hasMore={data.hasMore} onPage={(p) => update({ page: String(p) })} />;
          return data.items.length === 0 ? (
            <>
              <Empty>No campaigns match. Try another search or category{featured ? ', or show more than the featured ones' : ''}.</Empty>
              {/* Past the last page (e.g. an old link): still a way back. */}
              {paging}
            </>
          ) : (
            <>
              <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                {data.items.map((c) => (
                  <CampaignCard key={c.id} c={c} />
                ))}
              </div>
              {paging}
            </>
          );
        }}
      </Async>
    </div>
  );
}
