import { Link } from 'react-router-dom';
import type { Schemas } from '../api/client';
import { Badge, Money, ProgressBar } from '../components/ui';
import { label } from './constants';

export function CampaignCard({ c }: { c: Schemas['CampaignDto'] }) {
  const img = c.images[0];
  return (
    <article className="flex flex-col overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm">
      {img ? (
        <img src={img.url} alt="" className="h-40 w-full object-cover" loading="lazy" />
      ) : (
        <div className="h-40 w-full bg-gradient-to-br from-emerald-100 to-sky-100" aria-hidden="true" />
      )}
      <div className="flex flex-1 flex-col gap-2 p-4">
        <div className="flex flex-wrap gap-1">
          {c.featured && <Badge>Featured</Badge>}
          <Badge>{label(c.category)}</Badge>
          {c.status !== 'active' && <Badge>{label(c.status)}</Badge>}
        </div>
        <h2 className="text-lg font-semibold leading-snug">
          <Link to={`/campaigns/${c.id}`}>{c.title}</Link>
        </h2>
        <p className="line-clamp-2 text-sm text-slate-700">{c.description}</p>
        <div className="mt-auto">
          <ProgressBar value={c.raisedAmount} max={c.goalAmount} label={`Progress of ${c.title}`} />
          <p className="mt-1 text-sm">
            <strong><Money amount={c.raisedAmount} currency={c.currency} /></strong> of{' '}
            <Money amount={c.goalAmount} currency={c.currency} /> · {c.totalDonors} donor{c.totalDonors === 1 ? '' : 's'}
          </p>
        </div>
      </div>
    </article>
  );
}
