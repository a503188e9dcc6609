// The DP's table D(i, j) — the best cosine with the target at layer i having skipped j layers —
// drawn as a grid with the chosen path on it: down a row per layer, one column right for each
// skipped layer, from (0, 0) to (L, M). When the trace has no table, only the path's cells (whose
// cosines the round does carry) are drawn.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { DpInfo } from '@shared/engineTypes';
import { cssVarString, lutCss, viridis } from '../lib/colors';
import { useScheme } from '../hooks/useScheme';
import { useSize } from '../hooks/useSize';

export interface DpTableProps {
  dp: Omit<DpInfo, 'M'> & { M?: number };
  skip: readonly number[];
  nLayer: number;
}

/** The path's cell per row: j(i) = how many of layers 0..i-1 the chosen set skips. */
export function dpPath(skip: readonly number[], L: number): number[] {
  const s = new Set(skip);
  const out = [0];
  let j = 0;
  for (let l = 0; l < L; l++) {
    if (s.has(l)) j++;
    out.push(j);
  }
  return out;
}

const LEFT = 30;
const TOP = 16;

export function DpTable({ dp, skip, nLayer: L }: DpTableProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const ref = useRef<HTMLCanvasElement>(null);
  const { width } = useSize(wrap);
  const scheme = useScheme();
  const [tip, setTip] = useState<{ x: number; y: number; i: number; j: number } | null>(null);
  const M = dp.M ?? skip.length;
  const path = useMemo(() => dpPath(skip, L), [skip, L]);
  const table = dp.table ?? null;

  // The scale runs from the 10th percentile to the maximum: a few very low cells (many layers
  // skipped early) would otherwise squeeze the interesting range near 1 into one colour.
  const { lo, hi } = useMemo(() => {
    const vals: number[] = [];
    const see = (v: number | null | undefined) => {
      if (typeof v === 'number' && Number.isFinite(v)) vals.push(v);
    };
    if (table) for (const row of table) for (const v of row) see(v);
    else for (let i = 0; i <= L; i++) see(dp.path_cosine[i]);
    if (vals.length === 0) return { lo: 0, hi: 1 };
    vals.sort((a, b) => a - b);
    const hi = vals[vals.length - 1];
    const lo = vals[Math.floor(vals.length * 0.1)];
    return { lo: Math.min(lo, hi - 1e-3), hi };
  }, [table, dp.path_cosine, L]);

  const cellW = Math.max(4, Math.min(22, Math.floor((width - LEFT - 8) / (M + 1))));
  const cellH = L <= 40 ? 7 : Math.max(2, Math.floor(300 / (L + 1)));
  const H = TOP + (L + 1) * cellH + 4;

  const value = (i: number, j: number): number | null => {
    if (table) {
      const v = table[i]?.[j];
      return typeof v === 'number' ? v : null;
    }
    return path[i] === j && typeof dp.path_cosine[i] === 'number' ? (dp.path_cosine[i] as number) : null;
  };

  useEffect(() => {
    const c = ref.current;
    if (!c || width <= 0) return;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    c.width = Math.round(width * dpr);
    c.height = Math.round(H * dpr);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, H);
    const base = cssVarString('--heat-base', '#222');
    const dim = cssVarString('--text-dim', '#888');
    for (let i = 0; i <= L; i++) {
      for (let j = 0; j <= M; j++) {
        const x = LEFT + j * cellW;
        const y = TOP + i * cellH;
        if (j > i) continue; // D(i, j) is undefined: cannot skip more layers than seen
        const v = value(i, j);
        ctx.fillStyle = v === null ? base : lutCss(viridis, (v - lo) / (hi - lo));
        ctx.fillRect(x, y, cellW - 1, cellH - 1);
      }
    }
    // the chosen path, as a line through its cells
    ctx.strokeStyle = cssVarString('--path', '#ff4d6d');
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let i = 0; i <= L; i++) {
      const x = LEFT + path[i] * cellW + (cellW - 1) / 2;
      const y = TOP + i * cellH + (cellH - 1) / 2;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
    ctx.fillStyle = dim;
    ctx.font = '10px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const step = L <= 16 ? 2 : L <= 40 ? 4 : Math.ceil(L / 10);
    for (let i = 0; i <= L; i += step) ctx.fillText(`h${i}`, LEFT - 4, TOP + i * cellH + cellH / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    const jstep = Math.max(1, Math.ceil(18 / cellW));
    for (let j = 0; j <= M; j += jstep) ctx.fillText(String(j), LEFT + j * cellW + cellW / 2, TOP - 5);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [width, H, cellW, cellH, dp, path, lo, hi, scheme, M, L]);

  return (
    <div className="dp-table" ref={wrap} data-testid="inspector-dp-table" data-has-table={table ? 'yes' : 'no'}>
      <div className="dp-caption">
        <span>
          rows: hidden state h<sub>i</sub> after layer i−1 · columns: layers skipped so far (j = 0…{M})
        </span>
        <span className="legend-ramp">
          <span>≤{lo.toFixed(3)}</span>
          <span className="ramp viridis" />
          <span>{hi.toFixed(3)}</span>
        </span>
      </div>
      <canvas
        ref={ref}
        style={{ width: '100%', height: H }}
        role="img"
        aria-label={`DP table, ${L + 1} rows by ${M + 1} columns, with the chosen path`}
        onMouseMove={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          const x = e.clientX - r.left;
          const y = e.clientY - r.top;
          const j = Math.floor((x - LEFT) / cellW);
          const i = Math.floor((y - TOP) / cellH);
          if (i < 0 || i > L || j < 0 || j > M) setTip(null);
          else setTip({ x, y, i, j });
        }}
        onMouseLeave={() => setTip(null)}
      />
      {tip && (
        <div className="chart-tip" style={{ left: Math.min(tip.x + 12, Math.max(0, width - 200)), top: tip.y + 12 }}>
          <b>
            D({tip.i}, {tip.j})
          </b>
          {tip.j > tip.i ? (
            <div className="dim">undefined: only {tip.i} layers seen</div>
          ) : (
            <div>cos = {value(tip.i, tip.j)?.toFixed(4) ?? (table ? '–' : 'not recorded')}</div>
          )}
          {path[tip.i] === tip.j && <div className="path-note">on the chosen path</div>}
          {tip.i > 0 && path[tip.i] === tip.j && (
            <div className="dim">layer {tip.i - 1} {path[tip.i] > path[tip.i - 1] ? 'skipped' : 'kept'}</div>
          )}
        </div>
      )}
      {!table && <p className="dim small">This trace has only the path's cosines; the rest of the table was not recorded.</p>}
    </div>
  );
}
