// The inspector's headline figures for the rounds shown: rounds, mean accepted length, acceptance,
// DP runs, the current M and (for a finished reply) its measured speed against plain decoding on this
// machine: the same figures as the reply's explanation (lib/speedStory.ts measuredSpeed), with the
// policy's prediction named as such in small print.
import { Hint } from '../components/Hint';
import { DEFS, isDemoModel } from '../chat/ReplyStats';
import { fmtInt, fmtNum, fmtPct } from '../lib/format';
import { measuredSpeed } from '../lib/speedStory';
import { useApp } from '../store';
import type { Inspected } from './useInspected';

export function Summary({ ins }: { ins: Inspected }) {
  const modelName = useApp((s) => s.current?.name);
  const { buf, n } = ins;
  if (!buf) return null;
  const t = buf.totals(n);
  const lastM = n > 0 ? buf.rounds[n - 1].skip.length : null;
  const stats = ins.trace?.summary ?? ins.message?.stats ?? null;
  const speed = !ins.live && ins.cursorAll && stats ? measuredSpeed(stats) : null;
  const demo = isDemoModel(ins.trace?.model.name ?? modelName);
  return (
    <div className="summary" data-testid="inspector-summary">
      <div className="stat">
        <span className="stat-num">{fmtInt(t.rounds)}</span>
        <span className="stat-label">rounds</span>
      </div>
      <Hint text={DEFS.mal}>
        <div className="stat">
          <span className="stat-num">{t.rounds ? fmtNum(t.meanAcceptedLength, 2) : '–'}</span>
          <span className="stat-label">mean accepted length</span>
        </div>
      </Hint>
      <Hint text={DEFS.rate}>
        <div className="stat">
          <span className="stat-num">{t.drafted ? fmtPct(t.acceptanceRate) : '–'}</span>
          <span className="stat-label">acceptance</span>
        </div>
      </Hint>
      <div className="stat">
        <span className="stat-num">{fmtInt(t.dpRuns)}</span>
        <span className="stat-label">DP runs</span>
      </div>
      <div className="stat">
        <span className="stat-num">{lastM ?? '–'}</span>
        <span className="stat-label">layers skipped now</span>
      </div>
      {speed?.speedup != null && (
        <Hint text={`${DEFS.speedup} The policy's prediction is what it expected when the reply started, not a measurement.${demo ? ' ' + DEFS.demo : ''}`}>
          <div
            className="stat stat-speed"
            data-testid="inspector-measured-speed"
            data-speedup={speed.speedup}
            data-tokens-per-s={speed.tokensPerS}
            data-plain-tokens-per-s={speed.plainTokensPerS ?? ''}
          >
            <span className="stat-num">
              {fmtNum(speed.speedup, 2)}×{demo && <sup className="demo-mark">*</sup>}
            </span>
            <span className="stat-label">of plain speed, measured</span>
            <span className="stat-sub" data-testid="inspector-measured-rates">
              {fmtNum(speed.tokensPerS, 1)} tok/s{speed.plainTokensPerS !== null && <> · plain {fmtNum(speed.plainTokensPerS, 1)} tok/s here</>}
            </span>
            {speed.predicted !== null && <span className="stat-fine">policy’s prediction: {fmtNum(speed.predicted, 2)}×</span>}
          </div>
        </Hint>
      )}
      {demo && (
        <p className="demo-foot" data-testid="demo-model-note">
          * The demo model was trained with layer dropout, which gives it the layer redundancy large Llama 3 models have; its speed-ups are a
          demonstration.
        </p>
      )}
    </div>
  );
}
