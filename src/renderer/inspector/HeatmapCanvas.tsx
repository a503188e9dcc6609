// A rounds × layers heatmap on a canvas: redrawn at most once per animation frame, binned when
// there are more rounds than pixels, with the selected and hovered round marked, a tooltip on
// hover, click (or arrow keys) to pick a round.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { cssVarString } from '../lib/colors';
import { drawAxes, drawHeatmapCells, hitTest, plotRect, roundX, type HeatmapData } from '../lib/heatmap';
import type { RoundsBuffer } from '../lib/rounds';
import { useScheme } from '../hooks/useScheme';
import { useSize } from '../hooks/useSize';
import { useApp } from '../store';

export interface HeatmapCanvasProps {
  testId: string;
  label: string;
  height: number;
  buf: RoundsBuffer;
  n: number;
  version: number;
  /** builds the cell data; called on every draw */
  data(buf: RoundsBuffer, n: number): HeatmapData;
  /** marks rounds where a DP ran with a tick above the plot */
  dpTicks?: boolean;
  /** anything else that changes what is drawn (the colour scale, the measure) */
  redrawKey?: string;
  tooltip(round: number, layer: number): ReactNode;
}

export function HeatmapCanvas(p: HeatmapCanvasProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const { width } = useSize(wrap);
  const scheme = useScheme();
  const selected = useApp((s) => s.selectedRound);
  const hover = useApp((s) => s.hover);
  const setHover = useApp((s) => s.setHover);
  const select = useApp((s) => s.selectRound);
  const [tip, setTip] = useState<{ x: number; y: number; round: number; layer: number } | null>(null);
  const frame = useRef(0);

  // The latest draw closure; a frame already scheduled runs whatever is current when it fires.
  const draw = useRef<() => void>(() => {});
  draw.current = () => {
    const c = canvas.current;
    if (!c || width <= 0) return;
    const { buf, n } = p;
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const W = width;
    const H = p.height;
    if (c.width !== Math.round(W * dpr) || c.height !== Math.round(H * dpr)) {
      c.width = Math.round(W * dpr);
      c.height = Math.round(H * dpr);
    }
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const layout = plotRect(W, H);
    if (p.dpTicks) layout.top += 5;
    ctx.fillStyle = cssVarString('--heat-base', '#222');
    ctx.fillRect(layout.left, layout.top, layout.right - layout.left, layout.bottom - layout.top);
    if (n > 0) drawHeatmapCells(ctx, layout, p.data(buf, n), dpr);
    drawAxes(ctx, layout, buf.nLayer, n, { text: cssVarString('--text-dim', '#888'), grid: cssVarString('--border', '#444'), font: '10px system-ui, sans-serif' });
    if (n === 0) return;
    const cw = (layout.right - layout.left) / n;
    if (p.dpTicks) {
      ctx.fillStyle = cssVarString('--accent', '#6aa0ff');
      // at most one tick per pixel column
      let lastX = -1;
      for (let r = 0; r < n; r++) {
        if (!buf.dpHere[r]) continue;
        const x = Math.floor(layout.left + r * cw);
        if (x === lastX) continue;
        lastX = x;
        ctx.fillRect(x, layout.top - 5, Math.max(1, Math.min(3, cw)), 3);
      }
    }
    const mark = (r: number, color: string, w: number) => {
      const [x0, x1] = roundX(layout, n, r);
      ctx.strokeStyle = color;
      ctx.lineWidth = w;
      const wpx = Math.max(x1 - x0, 2);
      ctx.strokeRect(x0 - 0.5, layout.top - 0.5, wpx + 1, layout.bottom - layout.top + 1);
    };
    if (hover && hover.round < n) mark(hover.round, cssVarString('--text-dim', '#999'), 1);
    if (selected !== null && selected < n) mark(selected, cssVarString('--text', '#fff'), 1.5);
  };

  useEffect(() => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      draw.current();
    });
  }, [width, p.version, p.n, p.buf, selected, hover, scheme, p.height, p.redrawKey]);

  useEffect(
    () => () => {
      cancelAnimationFrame(frame.current);
      frame.current = 0;
    },
    [],
  );

  const locate = (e: React.MouseEvent) => {
    const rect = (e.currentTarget as HTMLCanvasElement).getBoundingClientRect();
    const layout = plotRect(width, p.height);
    if (p.dpTicks) layout.top += 5;
    const x = e.clientX - rect.left;
    const y = e.clientY - rect.top;
    return { hit: hitTest(layout, p.buf.nLayer, p.n, x, y), x, y };
  };

  return (
    <div className="heatmap" ref={wrap} data-testid={p.testId} data-rounds={p.n} data-layers={p.buf.nLayer}>
      <canvas
        ref={canvas}
        role="img"
        aria-label={`${p.label}: ${p.n} rounds by ${p.buf.nLayer} layers`}
        tabIndex={0}
        style={{ width: '100%', height: p.height }}
        onMouseMove={(e) => {
          const { hit, x, y } = locate(e);
          if (!hit) {
            setTip(null);
            setHover(null);
            return;
          }
          setTip({ x, y, ...hit });
          setHover({ round: hit.round, layer: hit.layer });
        }}
        onMouseLeave={() => {
          setTip(null);
          setHover(null);
        }}
        onClick={(e) => {
          const { hit } = locate(e);
          if (hit) select(hit.round);
        }}
        onKeyDown={(e) => {
          if (p.n === 0) return;
          const cur = selected ?? -1;
          if (e.key === 'ArrowRight') select(Math.min(p.n - 1, cur + 1));
          else if (e.key === 'ArrowLeft') select(Math.max(0, cur - 1));
          else if (e.key === 'Home') select(0);
          else if (e.key === 'End') select(p.n - 1);
          else return;
          e.preventDefault();
        }}
      />
      {tip && (
        <div className="chart-tip" style={{ left: Math.min(tip.x + 12, Math.max(0, width - 210)), top: tip.y + 14 }}>
          {p.tooltip(tip.round, tip.layer)}
        </div>
      )}
    </div>
  );
}
