// The layer lab's cosine paths, one line per skip set: at each layer l, the cosine between the
// state along the set's path and the full model's h_l, for the prompt's last token (the target of a
// reply's first DP). The DP's choice is drawn solid; each lab run dashed, in its own colour.
import type { LabRun } from '../store/types';

const W = 320;
const H = 128;
const PAD = { l: 34, r: 8, t: 8, b: 30 };
const COLOURS = ['var(--accent)', '#e8a33d', '#3fb68b', '#c05bd6', '#5b8def'];

function points(path: (number | null)[], L: number, lo: number): string {
  const x = (l: number) => PAD.l + (l / L) * (W - PAD.l - PAD.r);
  const y = (v: number) => PAD.t + (1 - (v - lo) / (1 - lo)) * (H - PAD.t - PAD.b);
  return path
    .map((v, l) => (typeof v === 'number' && Number.isFinite(v) ? `${x(l).toFixed(1)},${y(Math.max(lo, v)).toFixed(1)}` : null))
    .filter((p) => p !== null)
    .join(' ');
}

export function LabPaths({ L, base, runs }: { L: number; base: { M: number; path: (number | null)[] } | null; runs: LabRun[] }) {
  const lines = [
    ...(base ? [{ label: `the DP's choice (M = ${base.M})`, path: base.path, colour: 'var(--path)', dashed: false }] : []),
    ...runs
      .filter((r) => r.path)
      .map((r, i) => ({
        label: r.kind === 'set' ? `your set (M = ${r.M})` : `CLaSp at M = ${r.M}: its first DP`,
        path: r.path as (number | null)[],
        colour: COLOURS[i % COLOURS.length],
        dashed: true,
      })),
  ];
  if (lines.length === 0 || L <= 0) return null;
  let min = 1;
  for (const ln of lines) for (const v of ln.path) if (typeof v === 'number' && Number.isFinite(v)) min = Math.min(min, v);
  const lo = Math.max(0, Math.floor((min - 0.02) * 20) / 20);
  const ticks = [lo, (lo + 1) / 2, 1];
  return (
    <figure className="lab-paths" data-testid="layer-lab-paths" data-lines={lines.length}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Cosine with the full model's hidden state, layer by layer, for each skip set">
        {ticks.map((t) => {
          const y = PAD.t + (1 - (t - lo) / (1 - lo)) * (H - PAD.t - PAD.b);
          return (
            <g key={t}>
              <line x1={PAD.l} x2={W - PAD.r} y1={y} y2={y} className="lab-grid" />
              <text x={PAD.l - 4} y={y + 3} textAnchor="end" className="lab-tick">
                {t.toFixed(2)}
              </text>
            </g>
          );
        })}
        {[0, Math.round(L / 2), L].map((l) => (
          <text key={l} x={PAD.l + (l / L) * (W - PAD.l - PAD.r)} y={H - PAD.b + 10} textAnchor="middle" className="lab-tick">
            {l}
          </text>
        ))}
        <text x={(W + PAD.l) / 2} y={H - 3} textAnchor="middle" className="lab-axis">
          h_l: the state after layer l − 1 (l = 0…{L})
        </text>
        <text x={8} y={H / 2} textAnchor="middle" transform={`rotate(-90 8 ${H / 2})`} className="lab-axis">
          cosine
        </text>
        {lines.map((ln, i) => (
          <polyline key={i} points={points(ln.path, L, lo)} fill="none" stroke={ln.colour} strokeWidth={1.6} strokeDasharray={ln.dashed ? '4 2' : undefined} />
        ))}
      </svg>
      <figcaption className="small">
        {lines.map((ln, i) => (
          <span key={i} className="lab-legend">
            <span className="swatch" style={{ background: ln.colour }} /> {ln.label}
            {typeof ln.path[L] === 'number' ? ` · last layer ${(ln.path[L] as number).toFixed(4)}` : ''}
          </span>
        ))}
        <span className="dim"> Cosine with the full model's state at the prompt's last token.</span>
      </figcaption>
    </figure>
  );
}
