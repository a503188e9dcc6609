// The layer lab, inside a round's drill-down: the round's layer strip, where a click pins a layer
// into a skip set of the user's own; "Re-run this prompt with this set" runs the same prompt, seed
// and length as static skipping with exactly that set (the reply stays as it is), and the runs'
// acceptance and cosine paths sit beside the DP's choice. DpRerun, beside the DP table, re-runs the
// prompt with CLaSp at a fixed M: a trace keeps the DP's cosines but not the hidden states, so the DP
// cannot be re-run on a recorded round's own states, and the UI says so.
import { useState } from 'react';
import type { RoundEvent } from '@shared/engineTypes';
import { formatSkipLayers } from '@shared/skipLayers';
import { Icon } from '../components/Icon';
import { fmtNum, fmtPct } from '../lib/format';
import { useApp } from '../store';
import { compareHold } from '../store/studioSlice';
import type { LabRun } from '../store/types';
import { LabPaths } from './LabPaths';
import type { Inspected } from './useInspected';

/** The stored trace behind what the inspector shows (none while a reply is still being written). */
function useTraceId(ins: Inspected): string | null {
  const source = useApp((s) => s.source);
  if (ins.live) return null;
  if (source?.kind === 'import') return source.traceId ?? null;
  return ins.message?.traceId ?? null;
}

/** The DP's choice to compare with: the first round's DP, when it ran at the prompt's last token. */
function dpBaseline(ins: Inspected): { M: number; path: (number | null)[] } | null {
  const first = ins.buf?.rounds[0];
  const nPrompt = ins.trace?.prompt_ids.length ?? ins.message?.stats?.n_prompt;
  if (!first?.dp || first.dp.given || nPrompt === undefined || first.dp.target_pos !== nPrompt - 1) return null;
  return { M: first.skip.length, path: first.dp.path_cosine };
}

function setText(r: LabRun): string {
  return r.kind === 'set' ? `layers ${formatSkipLayers(r.skip)}` : `CLaSp, M = ${r.M}`;
}

export function LayerLab({ ins, round }: { ins: Inspected; round: Pick<RoundEvent, 'skip'> }) {
  const key = ins.key ?? '';
  const L = ins.L;
  const pins = useApp((s) => s.labPins[key]) ?? [];
  const runs = useApp((s) => s.labRuns[key]) ?? [];
  const busy = useApp((s) => s.labBusy);
  const held = useApp((s) => compareHold(s, 'The re-run', null));
  const error = useApp((s) => (s.labError?.key === key ? s.labError.text : null));
  const toggle = useApp((s) => s.toggleLabLayer);
  const setPins = useApp((s) => s.setLabPins);
  const runLab = useApp((s) => s.runLab);
  const showStoredTrace = useApp((s) => s.showStoredTrace);
  const traceId = useTraceId(ins);
  const skipSet = new Set(round.skip);
  const pinned = new Set(pins);
  const stats = ins.message?.stats ?? ins.trace?.summary ?? null;
  const base = dpBaseline(ins);
  const tooMany = pins.length >= L;
  const why = !traceId
    ? 'Available once the reply has finished and its trace is stored.'
    : pins.length === 0
      ? 'Click layers in the strip to pin a skip set first.'
      : tooMany
        ? `At most ${L - 1} of the ${L} layers can be skipped.`
        : held;

  return (
    <div className="layer-lab">
      <div className="skip-strip-wrap">
        <span className="small">
          Skipped layers ({round.skip.length} of {L}) · <span className="lab-hint">click to pin your own set</span>
        </span>
        <div className="skip-strip lab-strip" data-testid="layer-lab" role="group" aria-label="Layers: click to pin a skip set of your own">
          {Array.from({ length: L }, (_, l) => (
            <button
              key={l}
              type="button"
              data-layer={l}
              aria-pressed={pinned.has(l)}
              className={`${skipSet.has(l) ? 'on' : ''} ${pinned.has(l) ? 'pinned' : ''}`}
              title={`layer ${l}: ${skipSet.has(l) ? 'skipped' : 'kept'} in this round${pinned.has(l) ? '; pinned' : ''}`}
              aria-label={`layer ${l}`}
              onClick={() => toggle(key, l)}
            />
          ))}
        </div>
        <span className="skip-list small">{round.skip.length ? round.skip.join(' ') : 'none'}</span>
      </div>
      <div className="lab-controls">
        <span className="small" data-testid="layer-lab-count" data-count={pins.length}>
          {pins.length === 0 ? 'No layers pinned' : `Pinned ${pins.length} of ${L}: ${formatSkipLayers(pins)}`}
        </span>
        <button className="btn tiny ghost" data-testid="layer-lab-copy" onClick={() => setPins(key, round.skip)} title="Pin exactly this round's skip set, to change it from there">
          Use this round's set
        </button>
        <button className="btn tiny ghost" data-testid="layer-lab-clear" disabled={pins.length === 0} onClick={() => setPins(key, [])}>
          Clear
        </button>
        <button
          className="btn tiny primary"
          data-testid="layer-lab-run"
          disabled={!!why || busy !== null}
          title={why ?? 'Runs the same prompt, seed and length again, as static skipping with exactly these layers'}
          onClick={() => traceId && void runLab(key, traceId)}
        >
          <Icon name="play" size={12} /> {busy === key ? 'Running…' : 'Re-run this prompt with this set'}
        </button>
      </div>
      <p className="dim small">
        The re-run drafts with exactly the pinned layers skipped in every round (no DP chooses them), on the same prompt, seed and
        length. This reply stays as it is; the run is kept in the trace list, under Layer lab. {!traceId && why}
      </p>
      {error && (
        <p className="lab-error small" data-testid="layer-lab-error" role="alert">
          <Icon name="alert" size={12} /> {error}
        </p>
      )}
      {runs.length > 0 && <LabResults runs={runs} stats={stats} base={base} L={L} onOpen={(r) => void showStoredTrace(r.traceId, r.name, { origin: 'lab' })} />}
    </div>
  );
}

function LabResults({
  runs,
  stats,
  base,
  L,
  onOpen,
}: {
  runs: LabRun[];
  stats: { mean_accepted_length: number | null; acceptance_rate: number | null; tokens_per_s: number } | null;
  base: { M: number; path: (number | null)[] } | null;
  L: number;
  onOpen: (r: LabRun) => void;
}) {
  return (
    <div className="lab-results" data-testid="layer-lab-results">
      <table>
        <thead>
          <tr>
            <th>skip set</th>
            <th title="tokens per verify round, counting the correction or bonus token">mean accepted length</th>
            <th title="accepted drafted tokens / drafted tokens">acceptance rate</th>
            <th>tok/s</th>
            <th title="the same tokens as this reply">same text</th>
            <th />
          </tr>
        </thead>
        <tbody>
          <tr className="lab-base">
            <td>this reply (the DP's choice{base ? `, M = ${base.M}` : ''})</td>
            <td>{fmtNum(stats?.mean_accepted_length, 2)}</td>
            <td>{fmtPct(stats?.acceptance_rate)}</td>
            <td>{fmtNum(stats?.tokens_per_s)}</td>
            <td />
            <td />
          </tr>
          {runs.map((r) => (
            <tr key={r.traceId} data-testid="layer-lab-result" data-kind={r.kind} data-m={r.M} data-identical={r.identical === null ? 'unknown' : r.identical ? 'yes' : 'no'}>
              <td>{setText(r)}</td>
              <td>{fmtNum(r.meanAcceptedLength, 2)}</td>
              <td>{fmtPct(r.acceptanceRate)}</td>
              <td>{fmtNum(r.tokensPerS)}</td>
              <td title={r.greedy ? 'greedy: CLaSp must give the same tokens' : 'sampled: the same distribution, not necessarily the same tokens'}>
                {r.identical === null ? '–' : r.identical ? '✓ yes' : r.greedy ? '✗ no' : 'differs (sampled)'}
              </td>
              <td>
                <button className="btn tiny ghost" data-testid="layer-lab-open" onClick={() => onOpen(r)} title="Show this run in the inspector">
                  Open
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <LabPaths L={L} base={base} runs={runs} />
      <p className="dim small">
        Timings vary between runs on a busy machine; acceptance does not. Mean accepted length: tokens per verify round, counting the correction or bonus
        token. Acceptance rate: accepted drafted tokens over drafted tokens.
      </p>
    </div>
  );
}

/** Beside the DP table: re-run the prompt with CLaSp at a fixed M, and why not on this round's own states. */
export function DpRerun({ ins, M }: { ins: Inspected; M: number }) {
  const key = ins.key ?? '';
  const [m, setM] = useState(String(M));
  const busy = useApp((s) => s.labBusy);
  const held = useApp((s) => compareHold(s, 'The re-run', null));
  const runLab = useApp((s) => s.runLab);
  const traceId = useTraceId(ins);
  const n = Number(m);
  const bad = !/^\d+$/.test(m.trim()) || n < 1 || n >= ins.L ? `M must be a whole number from 1 to ${ins.L - 1}` : null;
  return (
    <div className="dp-rerun">
      <label className="small">
        Re-run the DP with M ={' '}
        <input data-testid="dp-rerun-m" className="dp-rerun-m" value={m} inputMode="numeric" aria-invalid={!!bad} onChange={(e) => setM(e.target.value)} />
      </label>
      <button
        className="btn tiny"
        data-testid="dp-rerun"
        disabled={!traceId || !!bad || !!held || busy !== null}
        title={held ?? undefined}
        onClick={() => traceId && void runLab(key, traceId, n)}
      >
        {busy === key ? 'Running…' : 'Re-run the prompt'}
      </button>
      {bad && <span className="lab-error small">{bad}</span>}
      <p className="dim small">
        A trace keeps the DP's cosines, not the hidden states, so the DP cannot be re-run on this round's own states. This runs the whole prompt again
        with CLaSp at this M (same seed and length); its DPs run on that run's states, at its own rounds. The result appears in the layer lab above.
      </p>
    </div>
  );
}
