// "Compare modes" on a reply: re-runs its prompt in ar, static and clasp, N repeats each with a
// fixed seed, and shows median tok/s, TTFT and the measured speed-up vs ar with its min–max spread.
// The runs are not added to the conversation; the table lives in this window only, while each run's
// trace is stored (the trace list's "Compare modes"): a run's number opens it in the inspector, where
// it can be pinned as A.
import { useState } from 'react';
import type { Message } from '@shared/api';
import { COMPARE_LIMITS, type CompareResult, type CompareRun } from '@shared/compare';
import { DEFS as REPLY_DEFS, isDemoModel } from '../chat/ReplyStats';
import { Hint } from '../components/Hint';
import { fmtNum, fmtPct } from '../lib/format';
import { useApp } from '../store';
import { compareHold } from '../store/studioSlice';

const DEFS = {
  tps: 'Median over the runs of generated tokens / decode time (after the prefill). The bar shows the median; the range is the slowest and fastest run.',
  ttft: 'Median time to the first token. A warm-up run puts the prompt in the KV cache first, so this is the first step, not a full prefill.',
  speedup: "Median tok/s over ar's median tok/s. The range: each repeat's tok/s over the ar run made right before it, lowest and highest.",
  runs: "Each run's trace is kept (the inspector's trace list, under Compare modes): click a run to inspect it, then pin it as A to set another against it.",
};

export function CompareModes({ m, busy }: { m: Message; busy: boolean }) {
  const job = useApp((s) => s.compares[m.id]);
  const start = useApp((s) => s.startCompare);
  const cancel = useApp((s) => s.cancelCompare);
  const convMax = useApp((s) => s.conversations.find((c) => c.id === m.conversationId)?.settings.maxTokens ?? COMPARE_LIMITS.maxTokens.default);
  const [repeats, setRepeats] = useState<number>(COMPARE_LIMITS.repeats.default);
  const [maxTokens, setMaxTokens] = useState<number>(Math.min(convMax, COMPARE_LIMITS.maxTokens.default));
  const [greedy, setGreedy] = useState(true);
  const running = !!job?.running;
  // a comparison of another reply holds the engine (null while this reply's own runs)
  const held = useApp((s) => (running ? null : compareHold(s, 'Compare modes', m.conversationId)));
  const clamp = (v: number, lim: { min: number; max: number }) => Math.max(lim.min, Math.min(lim.max, Math.round(v) || lim.min));

  return (
    <section className="compare-panel" data-testid="compare-panel" aria-label="Compare modes">
      <header className="compare-head">
        <strong>Compare modes</strong>
        <span className="dim">re-runs this reply’s prompt in ar, static and clasp on this machine; not added to the chat (each run’s trace is kept)</span>
      </header>
      <div className="compare-form">
        <label>
          repeats
          <input
            type="number"
            data-testid="compare-repeats"
            min={COMPARE_LIMITS.repeats.min}
            max={COMPARE_LIMITS.repeats.max}
            value={repeats}
            disabled={running}
            onChange={(e) => setRepeats(clamp(Number(e.target.value), COMPARE_LIMITS.repeats))}
          />
        </label>
        <label>
          max tokens
          <input
            type="number"
            data-testid="compare-max-tokens"
            min={COMPARE_LIMITS.maxTokens.min}
            max={COMPARE_LIMITS.maxTokens.max}
            value={maxTokens}
            disabled={running}
            onChange={(e) => setMaxTokens(clamp(Number(e.target.value), COMPARE_LIMITS.maxTokens))}
          />
        </label>
        <label className="compare-greedy" title="Temperature 0: every mode must then write the same text, which the result checks">
          <input type="checkbox" data-testid="compare-greedy" checked={greedy} disabled={running} onChange={(e) => setGreedy(e.target.checked)} />
          greedy
        </label>
        {running ? (
          <button className="btn tiny" data-testid="compare-cancel" disabled={!job?.jobId} onClick={() => void cancel(m.id)}>
            Cancel
          </button>
        ) : (
          <button
            className="btn tiny primary"
            data-testid="compare-run"
            disabled={busy || !!held}
            title={held ?? undefined}
            onClick={() => void start(m, { repeats, maxTokens, greedy })}
          >
            Run {repeats * 3} runs
          </button>
        )}
      </div>
      {job && (running || job.phase === 'starting') && (
        <div className="compare-progress" data-testid="compare-progress" data-done={job.done} data-total={job.total}>
          <progress max={Math.max(1, job.total)} value={job.done} />
          <span className="dim">
            {job.done}/{job.total} runs · {job.phase === 'warm-up' ? 'warming up (filling the prompt cache)' : `last: ${job.phase}`}
          </span>
        </div>
      )}
      {job?.error && (
        <div className="msg-status error" data-testid="compare-error">
          {job.error}
        </div>
      )}
      {job?.result && <CompareTable r={job.result} demo={isDemoModel(m.model?.name)} />}
    </section>
  );
}

function CompareTable({ r, demo }: { r: CompareResult; demo: boolean }) {
  const top = Math.max(...r.rows.map((x) => x.maxTokensPerS), 1e-9);
  const tokens = r.runs[0]?.nGenerated ?? 0;
  return (
    <div className="compare-result">
      <table className="compare-table" data-testid="compare-table" data-identical={r.identical === null ? 'sampled' : r.identical ? 'yes' : 'no'}>
        <thead>
          <tr>
            <th>mode</th>
            <th>
              <Hint text={DEFS.tps}>
                <span>tok/s (median, min–max)</span>
              </Hint>
            </th>
            <th>
              <Hint text={DEFS.ttft}>
                <span>TTFT</span>
              </Hint>
            </th>
            <th>
              <Hint text={DEFS.speedup}>
                <span>speed-up vs ar</span>
              </Hint>
            </th>
            <th>acceptance</th>
            <th>
              <Hint text={DEFS.runs}>
                <span>runs</span>
              </Hint>
            </th>
          </tr>
        </thead>
        <tbody>
          {r.rows.map((row) => (
            <tr key={row.mode} data-testid="compare-row" data-mode={row.mode} data-speedup={row.speedup ?? ''}>
              <td className="mode">{row.mode}</td>
              <td>
                <div className="compare-bar" aria-hidden>
                  <span
                    className="range"
                    style={{ left: `${(row.minTokensPerS / top) * 100}%`, width: `${((row.maxTokensPerS - row.minTokensPerS) / top) * 100}%` }}
                  />
                  <span className="median" style={{ width: `${(row.medianTokensPerS / top) * 100}%` }} />
                </div>
                {fmtNum(row.medianTokensPerS, 1)}{' '}
                <span className="dim">
                  ({fmtNum(row.minTokensPerS, 0)}–{fmtNum(row.maxTokensPerS, 0)})
                </span>
              </td>
              <td>{fmtNum(row.medianTtftMs, 0)} ms</td>
              <td>
                {row.speedup === null ? '–' : `${fmtNum(row.speedup, 2)}×`}{' '}
                {row.mode !== 'ar' && row.speedupMin !== null && row.speedupMax !== null && (
                  <span className="dim">
                    ({fmtNum(row.speedupMin, 2)}–{fmtNum(row.speedupMax, 2)})
                  </span>
                )}
              </td>
              <td>{row.acceptanceRate === null ? '–' : fmtPct(row.acceptanceRate)}</td>
              <td className="compare-runs">
                {r.runs
                  .filter((x) => x.mode === row.mode)
                  .map((x) => (
                    <RunButton key={x.traceId} run={x} />
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className={`compare-check ${r.identical === false ? 'bad' : ''}`} data-testid="compare-identical">
        {r.identical === true &&
          `✓ Same text in every mode: all ${r.runs.length} greedy runs wrote the same ${tokens} tokens. Speculation changed the speed, not the text.`}
        {r.identical === false && `✗ The greedy texts differ (${r.differing.join(', ')}): speculation should never change greedy text. Please report this.`}
        {r.identical === null && 'Sampled (temperature above 0): texts may differ between modes. Tick “greedy” to check they match.'}
      </p>
      <p className="dim compare-foot">
        {r.cancelled ? `Cancelled after ${r.runs.length} of ${r.repeats * 3} runs. ` : ''}
        {r.repeats} repeat{r.repeats === 1 ? '' : 's'} per mode, interleaved (ar, static, clasp), up to {r.maxTokens} tokens, fixed seed, {r.model} on{' '}
        {r.machine}. Medians; ranges are min–max.
      </p>
      {demo && (
        <p className="demo-foot" data-testid="compare-demo-note">
          * {REPLY_DEFS.demo}
        </p>
      )}
    </div>
  );
}

/** One run's number: opens its stored trace in the inspector (gone once deleted from the trace list). */
function RunButton({ run }: { run: CompareRun }) {
  const show = useApp((s) => s.showStoredTrace);
  const shown = useApp((s) => s.source?.kind === 'import' && s.source.traceId === run.traceId);
  const deleted = useApp((s) => s.storedTraces.length > 0 && !s.storedTraces.some((t) => t.id === run.traceId));
  return (
    <button
      className="btn tiny ghost compare-run-open"
      data-testid="compare-run-open"
      data-trace-id={run.traceId}
      aria-current={shown || undefined}
      disabled={deleted}
      title={deleted ? `${run.name}: its trace was deleted` : `Inspect ${run.name} (${fmtNum(run.tokensPerS, 1)} tok/s)`}
      onClick={() => void show(run.traceId, run.name, { origin: 'compare' })}
    >
      {run.repeat + 1}
    </button>
  );
}
