// The inspector's three charts: skipped layers and hidden-state similarity (canvas heatmaps, one column
// per verify round) and the accepted drafts per round.
import { useMemo } from 'react';
import { Hint } from '../components/Hint';
import { DEFS } from '../chat/ReplyStats';
import { useScheme } from '../hooks/useScheme';
import { cssVar, ramp, viridis } from '../lib/colors';
import type { HeatmapData } from '../lib/heatmap';
import type { RoundsBuffer } from '../lib/rounds';
import { useApp } from '../store';
import { AcceptanceChart } from './AcceptanceChart';
import { HeatmapCanvas } from './HeatmapCanvas';
import { SimilarityToggle } from './SimilarityToggle';
import type { Inspected } from './useInspected';

function domainLo(min: number): number {
  // Cosines near 1 matter: stretch the scale from the data's minimum (rounded down) to 1.
  if (!(min < 1)) return 0.9;
  return Math.max(-1, Math.floor(min * 100) / 100);
}

export function Heatmaps({ ins }: { ins: Inspected }) {
  const scheme = useScheme();
  const metric = useApp((s) => s.simMetric);
  const buf = ins.buf as RoundsBuffer;
  const luts = useMemo(() => {
    const base = cssVar('--heat-base', scheme === 'dark' ? [34, 37, 46] : [236, 238, 243]);
    const hot = cssVar('--skip', [255, 140, 66]);
    return { skip: ramp(base, hot), base };
  }, [scheme]);

  const skipData = (b: RoundsBuffer, n: number): HeatmapData => ({
    values: b.skip,
    nLayer: b.nLayer,
    n,
    lo: 0,
    hi: 1,
    lut: luts.skip,
    empty: [...luts.base, 255] as [number, number, number, number],
  });
  const simLo = domainLo(metric === 'path' ? buf.pathMin : buf.layerMin);
  const simData = (b: RoundsBuffer, n: number): HeatmapData => ({
    values: metric === 'path' ? b.pathCos : b.layerCos,
    nLayer: b.nLayer,
    n,
    lo: simLo,
    hi: 1,
    lut: viridis,
    empty: [...luts.base, 255] as [number, number, number, number],
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
      <section className="insp-section">
        <div className="insp-head">
          <h3>
            <Hint text="Each column is one verify round; each row a decoder layer (0 at the top). A filled cell: that layer was skipped while drafting the round. With more rounds than pixels, a cell shows the share of its rounds that skipped the layer.">
              Skipped layers
            </Hint>
          </h3>
          <span className="legend-ramp">
            <span>kept</span>
            <span className="ramp skip" />
            <span>skipped</span>
          </span>
        </div>
        <HeatmapCanvas
          testId="inspector-skip-heatmap"
          label="Skipped layers"
          height={150}
          buf={buf}
          n={ins.n}
          version={ins.version}
          data={skipData}
          tooltip={(r, l) => (
            <>
              {roundLine(r)}
              <div>
                layer {l}: <b>{buf.skip[r * buf.nLayer + l] ? 'skipped' : 'kept'}</b>
              </div>
            </>
          )}
        />
      </section>

      <section className="insp-section">
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
        </div>
        <HeatmapCanvas
          testId="inspector-similarity-heatmap"
          label={metric === 'path' ? 'DP path cosine' : 'per-layer change cosine'}
          height={150}
          buf={buf}
          n={ins.n}
          version={ins.version}
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
        <div className="legend-ramp end">
          <span>{simLo.toFixed(2)}</span>
          <span className="ramp viridis" />
          <span>1.00</span>
        </div>
      </section>

      <section className="insp-section">
        <div className="insp-head">
          <h3>
            <Hint text={`${DEFS.rate} ${DEFS.mal}`}>Accepted drafts</Hint>
          </h3>
        </div>
        <AcceptanceChart buf={buf} n={ins.n} version={ins.version} />
      </section>
    </>
  );
}
