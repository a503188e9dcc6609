// The inspector's three charts: skipped layers (with how often each layer was skipped beside it) and
// hidden-state similarity (canvas heatmaps, one column per verify round), and the accepted drafts per
// round. Heatmaps can be enlarged. `only` shows one of them (the narrow window's tabs).
import { useEffect, useState } from 'react';
import { Hint } from '../components/Hint';
import { Icon } from '../components/Icon';
import { DEFS } from '../chat/ReplyStats';
import { cssVar, ramp, viridis, type Lut, type Rgb } from '../lib/colors';
import type { HeatmapData } from '../lib/heatmap';
import type { RoundsBuffer } from '../lib/rounds';
import { useApp } from '../store';
import type { SimScale } from '../store/types';
import { AcceptanceChart } from './AcceptanceChart';
import { HeatmapCanvas } from './HeatmapCanvas';
import { SimilarityScale, SimilarityToggle } from './SimilarityToggle';
import { SkipFrequency } from './SkipFrequency';
import type { Inspected } from './useInspected';

export type HeatmapPart = 'layers' | 'similarity' | 'drafts';

/** The fixed scale shared by every reply (SimScale 'fixed'): cosines below it are all one colour. */
export const FIXED_SIM_LO = 0.5;

function domainLo(min: number): number {
  // Cosines near 1 matter: stretch the scale from the data's minimum (rounded down) to 1.
  if (!(min < 1)) return 0.9;
  return Math.max(-1, Math.floor(min * 100) / 100);
}

/** The similarity scale's range (and whether it is the log "nines" one) for a reply's minimum. */
export function simRange(scale: SimScale, min: number): { lo: number; hi: number; log: boolean; loText: string; hiText: string } {
  if (scale === 'log') return { lo: 0, hi: 4, log: true, loText: 'cos ≤ 0', hiText: '0.9999' };
  const lo = scale === 'fixed' ? FIXED_SIM_LO : domainLo(min);
  return { lo, hi: 1, log: false, loText: lo.toFixed(2), hiText: '1.00' };
}

// Colours are read from CSS when a frame is drawn (after the theme reached <html>), never during a
// render: the heatmaps then follow a theme switch. One LUT per colour pair.
let cached: { key: string; skip: Lut; base: Rgb } | null = null;
function colours() {
  const base = cssVar('--heat-base', [34, 37, 46]);
  const hot = cssVar('--skip', [255, 140, 66]);
  const key = `${base}|${hot}`;
  if (cached?.key !== key) cached = { key, skip: ramp(base, hot), base };
  return cached;
}

function Enlarge({ on, set }: { on: boolean; set(v: boolean): void }) {
  return (
    <button className="icon-btn" data-testid="heatmap-enlarge" aria-pressed={on} aria-label={on ? 'Back to normal size' : 'Enlarge'} title={on ? 'Back to normal size (Esc)' : 'Enlarge'} onClick={() => set(!on)}>
      <Icon name={on ? 'close' : 'expand'} size={13} />
    </button>
  );
}

export function Heatmaps({ ins, only }: { ins: Inspected; only?: HeatmapPart }) {
  const metric = useApp((s) => s.simMetric);
  const scale = useApp((s) => s.simScale);
  const [big, setBig] = useState<HeatmapPart | null>(null);
  const buf = ins.buf as RoundsBuffer;
  const show = (part: HeatmapPart) => !only || only === part;
  const height = (part: HeatmapPart) => (big === part ? Math.max(300, Math.round(window.innerHeight * 0.62)) : 160);
  const sectionProps = (part: HeatmapPart) => ({ className: `insp-section ${big === part ? 'enlarged' : ''}` });
  useEffect(() => {
    if (!big) return;
    const esc = (e: KeyboardEvent) => e.key === 'Escape' && setBig(null);
    window.addEventListener('keydown', esc);
    return () => window.removeEventListener('keydown', esc);
  }, [big]);

  const skipData = (b: RoundsBuffer, n: number): HeatmapData => {
    const c = colours();
    return { values: b.skip, nLayer: b.nLayer, n, lo: 0, hi: 1, lut: c.skip, empty: [...c.base, 255] as [number, number, number, number] };
  };
  const range = simRange(scale, metric === 'path' ? buf.pathMin : buf.layerMin);
  const simData = (b: RoundsBuffer, n: number): HeatmapData => ({
    values: metric === 'path' ? b.pathCos : b.layerCos,
    nLayer: b.nLayer,
    n,
    lo: range.lo,
    hi: range.hi,
    log: range.log,
    lut: viridis,
    empty: [...colours().base, 255] as [number, number, number, number],
  });

  const roundLine = (r: number) => {
    const rd = buf.rounds[r];
    return (
      <>
        <b>Round {r}</b> <span className="dim">pos {rd.pos}</span>
        <div>
          accepted {rd.verify.accepted} of {rd.draft.ids.length} · M={rd.skip.length}
        </div>
      </>
    );
  };

  return (
    <>
      {big && <div className="enlarge-backdrop" onClick={() => setBig(null)} />}
      {show('layers') && (
        <section {...sectionProps('layers')}>
          <div className="insp-head">
            <h3>
              <Hint text="Each column is one verify round; each row a decoder layer (0 at the top). A filled cell: that layer was skipped while drafting the round. With more rounds than pixels, a cell shows the share of its rounds that skipped the layer. The bars on the right: how often each layer was skipped in the rounds shown. Ticks above: rounds where the DP ran.">
                Skipped layers
              </Hint>
            </h3>
            <span className="legend-ramp">
              <span>kept</span>
              <span className="ramp skip" />
              <span>skipped</span>
            </span>
            <Enlarge on={big === 'layers'} set={(v) => setBig(v ? 'layers' : null)} />
          </div>
          <div className="heatmap-row">
            <HeatmapCanvas
              testId="inspector-skip-heatmap"
              label="Skipped layers"
              height={height('layers')}
              buf={buf}
              n={ins.n}
              version={ins.version}
              data={skipData}
              dpTicks
              tooltip={(r, l) => (
                <>
                  {roundLine(r)}
                  <div>
                    layer {l}: <b>{buf.skip[r * buf.nLayer + l] ? 'skipped' : 'kept'}</b>
                  </div>
                </>
              )}
            />
            <SkipFrequency buf={buf} n={ins.n} version={ins.version} height={height('layers')} />
          </div>
        </section>
      )}

      {show('similarity') && (
        <section {...sectionProps('similarity')}>
          <div className="insp-head">
            <h3>
              <Hint
                text={
                  metric === 'path'
                    ? "Cosine similarity between the DP's chosen path state and the full model's state after each layer, for the target token of the DP that set the round's skip set. Near 1: skipping those layers barely changed the state. Ticks above: rounds where the DP ran."
                    : "cos(h_l, h_{l−1}) of the DP's target token: how little layer l−1 changed the hidden state. Near 1: the layer barely changed it, so it is a good one to skip. Ticks above: rounds where the DP ran."
                }
              >
                Hidden-state similarity
              </Hint>
            </h3>
            <SimilarityToggle />
            <Enlarge on={big === 'similarity'} set={(v) => setBig(v ? 'similarity' : null)} />
          </div>
          <HeatmapCanvas
            testId="inspector-similarity-heatmap"
            label={metric === 'path' ? 'DP path cosine' : 'per-layer change cosine'}
            height={height('similarity')}
            buf={buf}
            n={ins.n}
            version={ins.version}
            redrawKey={`${metric}:${scale}`}
            data={simData}
            dpTicks
            tooltip={(r, l) => {
              const v = (metric === 'path' ? buf.pathCos : buf.layerCos)[r * buf.nLayer + l];
              const dpr = buf.dpRoundFor(r);
              return (
                <>
                  {roundLine(r)}
                  <div>
                    {metric === 'path' ? `after layer ${l}: path cos` : `layer ${l} change: cos(h${l + 1}, h${l})`} = <b>{Number.isNaN(v) ? '–' : v.toFixed(4)}</b>
                  </div>
                  <div className="dim">{dpr >= 0 ? (dpr === r ? 'DP ran before this round' : `from the DP before round ${dpr}`) : 'no DP yet'}</div>
                </>
              );
            }}
          />
          <div className="legend-row">
            <SimilarityScale />
            <div className="legend-ramp end" data-testid="similarity-legend" data-lo={range.loText} data-scale={scale}>
              <span>{range.loText}</span>
              <span className="ramp viridis" />
              <span>{range.hiText}</span>
            </div>
          </div>
        </section>
      )}

      {show('drafts') && (
        <section className="insp-section">
          <div className="insp-head">
            <h3>
              <Hint text={`${DEFS.rate} ${DEFS.mal}`}>Accepted drafts</Hint>
            </h3>
          </div>
          <AcceptanceChart buf={buf} n={ins.n} version={ins.version} />
        </section>
      )}
    </>
  );
}
