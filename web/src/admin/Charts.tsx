// Tiny SVG charts: no chart library.

export function BarChart({ title, data, format }: { title: string; data: Array<{ label: string; value: number }>; format: (v: number) => string }) {
  const w = 600;
  const h = 160;
  const max = Math.max(1, ...data.map((d) => d.value));
  const bw = data.length ? w / data.length : w;
  const total = data.reduce((s, d) => s + d.value, 0);
  return (
    <figure className="rounded-lg border border-slate-200 bg-white p-3">
      <figcaption className="mb-2 text-sm font-semibold">
        {title} <span className="font-normal text-slate-700">(total {format(total)})</span>
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h + 20}`} className="h-44 w-full" role="img" aria-label={`${title}: ${data.map((d) => `${d.label} ${format(d.value)}`).join(', ') || 'no data'}`}>
        <line x1={0} y1={h} x2={w} y2={h} stroke="#94a3b8" />
        {data.map((d, i) => {
          const bh = Math.round((d.value / max) * (h - 10));
          return (
            <g key={d.label}>
              <rect x={i * bw + 1} y={h - bh} width={Math.max(1, bw - 2)} height={bh} fill="#047857">
                <title>{`${d.label}: ${format(d.value)}`}</title>
              </rect>
              {(i === 0 || i === data.length - 1) && (
                <text x={i * bw + bw / 2} y={h + 15} fontSize="11" textAnchor={i === 0 ? 'start' : 'end'} fill="#334155">
                  {d.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
