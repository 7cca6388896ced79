// A line chart in plain SVG: the app's only chart, so no charting library.
export interface Series {
  name: string;
  points: { x: string; y: number }[];
  color: string;
}

const W = 640;
const H = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

function ticks(min: number, max: number, count: number): number[] {
  if (min === max) return [min];
  const step = (max - min) / (count - 1);
  return Array.from({ length: count }, (_, i) => min + i * step);
}

function short(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return n.toFixed(abs < 10 ? 2 : 0);
}

export function LineChart({ series, label }: { series: Series[]; label: string }) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return <p class="muted">No data to chart yet.</p>;
  const xs = [...new Set(all.map((p) => p.x))].sort();
  const ys = all.map((p) => p.y);
  let min = Math.min(...ys);
  let max = Math.max(...ys);
  if (min === max) {
    min -= 1;
    max += 1;
  }
  const x = (v: string) => PAD.left + (xs.length === 1 ? 0.5 : xs.indexOf(v) / (xs.length - 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - (v - min) / (max - min)) * (H - PAD.top - PAD.bottom);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
        {ticks(min, max, 4).map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} class="grid" />
            <text x={PAD.left - 6} y={y(t) + 4} text-anchor="end">
              {short(t)}
            </text>
          </g>
        ))}
        <text x={PAD.left} y={H - 8}>
          {xs[0]}
        </text>
        <text x={W - PAD.right} y={H - 8} text-anchor="end">
          {xs[xs.length - 1]}
        </text>
        {series.map((s) => (
          <polyline
            key={s.name}
            fill="none"
            stroke={s.color}
            stroke-width="2"
            points={s.points.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ")}
          />
        ))}
      </svg>
      <figcaption>
        {series.map((s) => (
          <span key={s.name} class="legend">
            <i style={{ background: s.color }} /> {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** Horizontal bars of weights (0–1 as decimal strings). */
export function Bars({ items }: { items: { name: string; weight: string }[] }) {
  return (
    <ul class="bars">
      {items.map((i) => (
        <li key={i.name}>
          <span>{i.name}</span>
          <span class="bar">
            <span style={{ width: `${Math.min(100, Number(i.weight) * 100)}%` }} />
          </span>
          <span>{(Number(i.weight) * 100).toFixed(1)}%</span>
        </li>
      ))}
    </ul>
  );
}
