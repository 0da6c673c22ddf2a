// Small SVG charts for column summaries: a histogram for numbers and dates, bars for categories.
// Drawn by hand (no chart library), sized in viewBox units so they scale with zoom.
import type { ColumnSummary } from '../../../common/dataset.js';
import { formatCount, formatDate, formatNumber } from '../format.js';

export function Histogram({ summary }: { summary: Extract<ColumnSummary, { kind: 'numeric' }> }) {
  const bins = summary.histogram;
  if (bins.length === 0) return <p className="muted">No values to chart.</p>;
  const max = Math.max(...bins.map((b) => b.count), 1);
  const w = 200;
  const h = 60;
  const bw = w / bins.length;
  const label = `Histogram of ${summary.column}: ${bins.length} bins from ${formatNumber(summary.min, summary.type)} to ${formatNumber(summary.max, summary.type)}`;
  return (
    <svg className="chart" viewBox={`0 0 ${w} ${h + 14}`} role="img" aria-label={label}>
      {bins.map((b, i) => {
        const bh = (b.count / max) * h;
        return (
          <rect key={i} x={i * bw + 1} y={h - bh} width={Math.max(bw - 2, 1)} height={bh} className="bar">
            <title>{`${formatNumber(b.from, summary.type)} – ${formatNumber(b.to, summary.type)}: ${formatCount(b.count)}`}</title>
          </rect>
        );
      })}
      <line x1="0" x2={w} y1={h + 0.5} y2={h + 0.5} className="axis" />
      <text x="0" y={h + 12} className="tick">
        {formatNumber(summary.min, summary.type)}
      </text>
      <text x={w} y={h + 12} className="tick" textAnchor="end">
        {formatNumber(summary.max, summary.type)}
      </text>
    </svg>
  );
}

export function TopValues({ summary }: { summary: Extract<ColumnSummary, { kind: 'categorical' }> }) {
  const top = summary.top.slice(0, 5);
  if (top.length === 0) return <p className="muted">No values to chart.</p>;
  const max = Math.max(...top.map((t) => t.count), 1);
  const rowH = 14;
  const w = 200;
  return (
    <svg className="chart" viewBox={`0 0 ${w} ${top.length * rowH}`} role="img" aria-label={`Most common values of ${summary.column}`}>
      {top.map((t, i) => (
        <g key={t.value} transform={`translate(0 ${i * rowH})`}>
          <rect x="0" y="1" width={Math.max((t.count / max) * (w * 0.55), 1)} height={rowH - 3} className="bar" />
          <text x={w * 0.57} y={rowH - 4} className="tick">
            {t.value.length > 16 ? `${t.value.slice(0, 15)}…` : t.value} ({formatCount(t.count)})
          </text>
        </g>
      ))}
    </svg>
  );
}

/**
 * The personal privacy budget as one bar: spent by earlier jobs, what this job adds, what stays
 * left. Shares are 0..1 (see budgetSplit); the words beside it carry the numbers.
 */
export function BudgetBar({ spent, job, left, over, label }: { spent: number; job: number; left: number; over: boolean; label: string }) {
  const w = 200;
  const h = 12;
  return (
    <svg className={`chart budget${over ? ' over' : ''}`} viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <rect x="0" y="0" width={w} height={h} rx="3" className="budget-track" />
      <rect x="0" y="0" width={spent * w} height={h} className="budget-spent" />
      <rect x={spent * w} y="0" width={job * w} height={h} className="budget-job" />
      {left > 0 ? <rect x={(spent + job) * w} y="0" width={left * w} height={h} className="budget-left" /> : null}
    </svg>
  );
}

/**
 * A job's rounds as a row of cells: those this device contributed to filled, the round in
 * progress (`current`, counted from 0 like the chain) outlined. Past a few dozen rounds the cells would be too thin to see, so a plain
 * bar stands in.
 */
export function RoundsChart({ rounds, contributed, current }: { rounds: number; contributed: number; current: number | null }) {
  const label = `${formatCount(contributed)} of ${formatCount(rounds)} rounds contributed`;
  if (rounds < 1) return null;
  const w = 200;
  const h = 14;
  if (rounds > 40) {
    return (
      <svg className="chart rounds" viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label={label}>
        <rect x="0" y="0" width={w} height={h} rx="3" className="budget-track" />
        <rect x="0" y="0" width={(Math.min(contributed, rounds) / rounds) * w} height={h} className="bar" />
      </svg>
    );
  }
  const cell = w / rounds;
  return (
    <svg className="chart rounds" viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="xMinYMid meet" role="img" aria-label={label}>
      {Array.from({ length: rounds }, (_, i) => (
        <rect
          key={i}
          x={i * cell + 1}
          y="1"
          width={Math.max(cell - 2, 1)}
          height={h - 2}
          rx="2"
          className={i < contributed ? 'bar' : i === current ? 'round-current' : 'round-empty'}
        />
      ))}
    </svg>
  );
}

/**
 * What was claimed over time, as a rising step line of the running total (in the token's whole
 * units). Points are the moments each claim landed; the first and last dates and the total are
 * written beside it, since a line alone says nothing about scale.
 */
export function EarningsChart({ points, label, unit }: { points: { at: number; total: number }[]; label: string; unit: string }) {
  if (points.length === 0) return null;
  const w = 300;
  const h = 90;
  const top = 14;
  const bottom = h - 14;
  const t0 = points[0]!.at;
  const t1 = points.at(-1)!.at;
  const span = Math.max(1, t1 - t0);
  const max = Math.max(...points.map((p) => p.total)) || 1;
  const x = (at: number) => 4 + ((at - t0) / span) * (w - 8);
  const y = (v: number) => bottom - (v / max) * (bottom - top);
  let d = `M ${x(t0)} ${y(0)}`;
  for (const p of points) d += ` H ${x(p.at)} V ${y(p.total)}`;
  d += ` H ${w - 4}`;
  const total = points.at(-1)!.total;
  return (
    <svg className="chart earnings" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label}>
      <line x1="0" x2={w} y1={bottom + 0.5} y2={bottom + 0.5} className="axis" />
      <path d={d} className="earnings-line" fill="none" />
      <text x="0" y={top - 4} className="tick">
        Claimed over time
      </text>
      <text x={w - 4} y={top - 4} className="tick" textAnchor="end">
        {`${total.toLocaleString('en', { maximumFractionDigits: 6 })} ${unit}`}
      </text>
      <text x="0" y={h - 2} className="tick">
        {formatDate(t0)}
      </text>
      {t1 - t0 >= 86_400_000 ? (
        <text x={w} y={h - 2} className="tick" textAnchor="end">
          {formatDate(t1)}
        </text>
      ) : null}
    </svg>
  );
}
