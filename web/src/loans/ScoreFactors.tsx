import type { Schemas } from '../api/client';
import { Badge, DateText } from '../components/ui';

export function ScoreFactors({ score }: { score: Schemas['ScoreDto'] }) {
  return (
    <div>
      <p className="mb-2">
        Score <strong className="text-xl">{score.score}</strong> / 1000 {score.recommended && <Badge>Recommended</Badge>}{' '}
        <span className="text-xs text-slate-600">
          scored <DateText value={score.createdAt} time />
        </span>
      </p>
      <ul className="space-y-1 text-sm">
        {score.factors.map((f) => (
          <li key={f.name} className="flex justify-between gap-3 border-b border-slate-100 py-1">
            <span>
              <span className="font-medium">{f.name.replace(/_/g, ' ')}</span> ({f.value}): {f.explanation}
            </span>
            <span className="tabular-nums font-semibold">{f.points >= 0 ? `+${f.points}` : f.points}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
