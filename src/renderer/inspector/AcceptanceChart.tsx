// Accepted drafts per round (stacked over the rejected and unverified ones, so the bar's height is
// the draft length) and a histogram of accepted counts. Recharts draws SVG, so long replies are
// binned to at most ~160 bars and the chart follows live data at most five times a second.
import { useMemo } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { fmtNum, fmtPct } from '../lib/format';
import type { RoundsBuffer } from '../lib/rounds';
import { useThrottled } from '../hooks/useSize';
import { useApp } from '../store';

const MAX_BARS = 160;

/** 1200 -> 1.2k, so axis labels stay short */
function compact(v: number): string {
  return v >= 10_000 ? `${Math.round(v / 1000)}k` : v >= 1000 ? `${(v / 1000).toFixed(1).replace(/\.0$/, '')}k` : String(v);
}

interface Bin {
  start: number;
  end: number;
  label: string;
  accepted: number;
  rejected: number;
}

function binRounds(buf: RoundsBuffer, n: number): Bin[] {
  const cols = Math.max(1, Math.min(n, MAX_BARS));
  const out: Bin[] = [];
  for (let c = 0; c < cols; c++) {
    const r0 = Math.floor((c * n) / cols);
    const r1 = Math.max(r0 + 1, Math.floor(((c + 1) * n) / cols));
    let a = 0;
    let d = 0;
    for (let r = r0; r < r1; r++) {
      a += buf.accepted[r];
      d += buf.drafted[r];
    }
    const k = r1 - r0;
    out.push({ start: r0, end: r1 - 1, label: k === 1 ? String(r0) : `${r0}–${r1 - 1}`, accepted: a / k, rejected: (d - a) / k });
  }
  return out;
}

function histogram(buf: RoundsBuffer, n: number): { k: number; rounds: number }[] {
  const K = Math.max(1, buf.maxDraft);
  const h = new Array<number>(K + 1).fill(0);
  for (let r = 0; r < n; r++) h[Math.min(K, buf.accepted[r])]++;
  return h.map((rounds, k) => ({ k, rounds }));
}

function BinTip({ active, payload }: { active?: boolean; payload?: { payload: Bin }[] }) {
  if (!active || !payload?.length) return null;
  const b = payload[0].payload;
  const d = b.accepted + b.rejected;
  return (
    <div className="chart-tip static">
      <b>{b.start === b.end ? `Round ${b.start}` : `Rounds ${b.start}–${b.end} (mean)`}</b>
      <div>
        accepted {fmtNum(b.accepted, b.start === b.end ? 0 : 2)} of {fmtNum(d, b.start === b.end ? 0 : 2)} drafted
      </div>
      <div className="dim">{d > 0 ? fmtPct(b.accepted / d) : '–'} accepted · click to inspect</div>
    </div>
  );
}

function HistTip({ active, payload, total }: { active?: boolean; payload?: { payload: { k: number; rounds: number } }[]; total: number }) {
  if (!active || !payload?.length) return null;
  const b = payload[0].payload;
  return (
    <div className="chart-tip static">
      <b>{b.k} accepted</b>
      <div>
        {b.rounds} rounds ({total > 0 ? fmtPct(b.rounds / total) : '–'})
      </div>
    </div>
  );
}

export function AcceptanceChart({ buf, n, version }: { buf: RoundsBuffer; n: number; version: number }) {
  const select = useApp((s) => s.selectRound);
  const tick = useThrottled(`${version}:${n}`, 200);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const bins = useMemo(() => binRounds(buf, n), [buf, tick]);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const hist = useMemo(() => histogram(buf, n), [buf, tick]);
  const axis = { fontSize: 10, fill: 'var(--text-dim)' };
  return (
    <div className="acceptance" data-testid="inspector-acceptance-chart" data-rounds={n}>
      <div className="acc-timeline">
        <ResponsiveContainer width="100%" height={120}>
          <BarChart data={bins} margin={{ top: 6, right: 4, bottom: 0, left: -10 }} barCategoryGap={bins.length > 60 ? 0 : 1}>
            <CartesianGrid vertical={false} stroke="var(--grid)" />
            <XAxis dataKey="label" tick={axis} tickLine={false} axisLine={false} minTickGap={24} />
            <YAxis tick={axis} tickLine={false} axisLine={false} allowDecimals={false} width={34} tickFormatter={compact} />
            <Tooltip content={<BinTip />} cursor={{ fill: 'var(--hover)' }} isAnimationActive={false} />
            <Bar dataKey="accepted" stackId="a" fill="var(--fate-accepted)" isAnimationActive={false} onClick={(_, i) => select(bins[i]?.start ?? null)} />
            <Bar dataKey="rejected" stackId="a" fill="var(--rejected)" isAnimationActive={false} onClick={(_, i) => select(bins[i]?.start ?? null)} />
          </BarChart>
        </ResponsiveContainer>
        <div className="chart-caption">
          <span className="key accepted" /> accepted <span className="key rejected" /> drafted, not accepted · per round
        </div>
      </div>
      <div className="acc-hist">
        <ResponsiveContainer width="100%" height={120}>
          <BarChart data={hist} margin={{ top: 6, right: 4, bottom: 0, left: -10 }}>
            <CartesianGrid vertical={false} stroke="var(--grid)" />
            <XAxis dataKey="k" tick={axis} tickLine={false} axisLine={false} interval="preserveStartEnd" />
            <YAxis tick={axis} tickLine={false} axisLine={false} allowDecimals={false} width={34} tickFormatter={compact} />
            <Tooltip content={<HistTip total={n} />} cursor={{ fill: 'var(--hover)' }} isAnimationActive={false} />
            <Bar dataKey="rounds" fill="var(--accent)" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
        <div className="chart-caption">rounds by accepted count</div>
      </div>
    </div>
  );
}
