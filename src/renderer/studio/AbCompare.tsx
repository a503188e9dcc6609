// The inspector's A/B view: one trace pinned as A, the one shown as B. Their figures side by side,
// and a heatmap of where their skip sets differ, round r of A against round r of B.
import { useEffect, useMemo, useRef } from 'react';
import { Icon } from '../components/Icon';
import { useScheme } from '../hooks/useScheme';
import { useSize } from '../hooks/useSize';
import { DIFF, sideFigures, skipDiff, type SkipDiff } from '../lib/abDiff';
import { cssVarString } from '../lib/colors';
import { fmtInt, fmtNum, fmtPct } from '../lib/format';
import { useApp } from '../store';
import type { AbStats } from '../store/types';
import type { Inspected } from '../inspector/useInspected';

/** The pin button in the inspector's header: pins what is shown as A, or unpins it. */
export function PinButton({ ins }: { ins: Inspected }) {
  const pin = useApp((s) => s.abPin);
  const pinA = useApp((s) => s.pinA);
  const unpin = useApp((s) => s.unpinA);
  if (pin && pin.key === ins.key) {
    return (
      <button className="btn tiny ghost" data-testid="unpin-a" title="Unpin A" onClick={unpin}>
        <span className="ab-tag a">A</span> pinned
      </button>
    );
  }
  if (!ins.buf || ins.buf.count === 0 || ins.live) return null;
  return (
    <button
      className="btn tiny ghost"
      data-testid="pin-a"
      title="Pin this trace as A, then show another (a version, another reply, an imported trace) to compare it with A"
      onClick={pinA}
    >
      Pin as <span className="ab-tag a">A</span>
    </button>
  );
}

function bStats(ins: Inspected): AbStats | null {
  return ins.message?.stats ?? ins.trace?.summary ?? null;
}

export function AbCompare({ ins }: { ins: Inspected }) {
  const pin = useApp((s) => s.abPin);
  const bufA = useApp((s) => (pin ? (s.buffers[pin.key] ?? null) : null));
  const unpin = useApp((s) => s.unpinA);
  const label = useApp((s) => {
    const src = s.source;
    if (src?.kind === 'import') return src.name;
    if (src?.kind !== 'message') return '';
    const list = s.messages[src.conversationId] ?? [];
    const k = list.filter((m) => m.role === 'assistant').findIndex((m) => m.id === src.messageId);
    const m = list.find((x) => x.id === src.messageId);
    return `reply ${k + 1}${m?.versions ? ` v${m.versions.index + 1}/${m.versions.ids.length}` : ''}`;
  });
  const diff = useMemo(
    () => (pin && bufA && ins.buf && pin.key !== ins.key ? skipDiff(bufA, bufA.count, ins.buf, ins.n) : null),
    // the buffers grow in place: the version says when
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [pin, bufA, ins.buf, ins.n, ins.key, ins.version],
  );
  if (!pin || !bufA) return null;
  if (pin.key === ins.key) {
    return (
      <p className="dim ab-note" data-testid="ab-pinned-note">
        <span className="ab-tag a">A</span> is pinned ({pin.label}). Show another reply, version or imported trace to compare it with A.
      </p>
    );
  }
  if (!ins.buf) return null;
  const a = sideFigures(bufA, bufA.count);
  const b = sideFigures(ins.buf, ins.n);
  const sa = pin.stats;
  const sb = bStats(ins);
  const rows: [string, string, string][] = [
    ['mode', sa?.mode ?? '–', sb?.mode ?? '–'],
    ['tokens', fmtInt(sa?.n_generated), fmtInt(sb?.n_generated)],
    ['tok/s', fmtNum(sa?.tokens_per_s, 1), fmtNum(sb?.tokens_per_s, 1)],
    ['TTFT', sa ? `${fmtNum(sa.ttft_ms, 0)} ms` : '–', sb ? `${fmtNum(sb.ttft_ms, 0)} ms` : '–'],
    ['rounds', fmtInt(a.rounds), fmtInt(b.rounds)],
    ['mean accepted length', a.rounds ? fmtNum(a.meanAcceptedLength, 2) : '–', b.rounds ? fmtNum(b.meanAcceptedLength, 2) : '–'],
    ['acceptance', a.drafted ? fmtPct(a.acceptanceRate) : '–', b.drafted ? fmtPct(b.acceptanceRate) : '–'],
    ['mean layers skipped', fmtNum(a.meanSkipped, 1), fmtNum(b.meanSkipped, 1)],
    ['DP runs', fmtInt(a.dpRuns), fmtInt(b.dpRuns)],
  ];
  return (
    <section className="ab-panel" data-testid="ab-compare" aria-label="A/B comparison">
      <div className="ab-head">
        <strong>A/B</strong>
        <span className="dim">
          <span className="ab-tag a">A</span> {pin.label} · <span className="ab-tag b">B</span> {label}
        </span>
        <span className="spacer" />
        <button className="icon-btn" aria-label="Unpin A" title="Unpin A" onClick={unpin}>
          <Icon name="close" size={12} />
        </button>
      </div>
      <table className="ab-table" data-testid="ab-summary">
        <thead>
          <tr>
            <th />
            <th>
              <span className="ab-tag a">A</span>
            </th>
            <th>
              <span className="ab-tag b">B</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([k, x, y]) => (
            <tr key={k} data-row={k}>
              <td>{k}</td>
              <td>{x}</td>
              <td>{y}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {diff === null ? (
        <p className="dim">The two were made by models with different layer counts: their skip sets cannot be matched layer by layer.</p>
      ) : diff.rounds === 0 ? (
        <p className="dim">No rounds in common: one of them decoded plainly, so there are no skip sets to compare.</p>
      ) : (
        <DiffHeatmap d={diff} />
      )}
    </section>
  );
}

function DiffHeatmap({ d }: { d: SkipDiff }) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const { width } = useSize(wrap);
  const scheme = useScheme(); // colours come from the theme: redraw when it changes
  const H = Math.max(60, Math.min(160, d.nLayer * 5));
  useEffect(() => {
    // Drawn on the next frame: after a theme switch, the CSS colours it reads are the new ones by then.
    const frame = requestAnimationFrame(() => draw());
    return () => cancelAnimationFrame(frame);
    function draw() {
      const c = canvas.current;
      if (!c || width <= 0) return;
      const dpr = Math.min(2, window.devicePixelRatio || 1);
      c.width = Math.round(width * dpr);
      c.height = Math.round(H * dpr);
      const ctx = c.getContext('2d');
      if (!ctx) return;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const colour = {
        [DIFF.neither]: cssVarString('--heat-base', '#eee'),
        [DIFF.onlyA]: cssVarString('--ab-a', '#2f7fd1'),
        [DIFF.onlyB]: cssVarString('--ab-b', '#e0892b'),
        [DIFF.both]: cssVarString('--ab-both', '#888'),
      } as Record<number, string>;
      const cw = width / d.rounds;
      const ch = H / d.nLayer;
      ctx.clearRect(0, 0, width, H);
      for (let r = 0; r < d.rounds; r++) {
        for (let l = 0; l < d.nLayer; l++) {
          ctx.fillStyle = colour[d.cells[r * d.nLayer + l]];
          // layer 0 at the bottom, like the other heatmaps; cells overlap by a pixel fraction to avoid seams
          ctx.fillRect(r * cw, H - (l + 1) * ch, cw + 0.5, ch + 0.5);
        }
      }
    }
  }, [d, width, H, scheme]);
  const total = d.rounds * d.nLayer;
  return (
    <div className="ab-diff">
      <div className="dim">
        Skipped layers, round r of A against round r of B (the first {fmtInt(d.rounds)} rounds; layer 0 at the bottom). Mean overlap{' '}
        <strong data-testid="ab-overlap">{fmtPct(d.meanOverlap)}</strong> (skipped by both / by either, per round).
      </div>
      <div ref={wrap}>
        <canvas
          ref={canvas}
          className="ab-canvas"
          style={{ height: H }}
          data-testid="ab-diff-heatmap"
          data-rounds={d.rounds}
          data-only-a={d.onlyA}
          data-only-b={d.onlyB}
          data-both={d.both}
          role="img"
          aria-label={`Skip-set difference: ${d.onlyA} cells only A, ${d.onlyB} only B, ${d.both} both, of ${total}`}
        />
      </div>
      <div className="ab-legend">
        <span>
          <i style={{ background: 'var(--ab-a)' }} />
          only A ({fmtInt(d.onlyA)})
        </span>
        <span>
          <i style={{ background: 'var(--ab-b)' }} />
          only B ({fmtInt(d.onlyB)})
        </span>
        <span>
          <i style={{ background: 'var(--ab-both)' }} />
          both ({fmtInt(d.both)})
        </span>
        <span>
          <i style={{ background: 'var(--heat-base)', border: '1px solid var(--border)' }} />
          neither
        </span>
      </div>
    </div>
  );
}
