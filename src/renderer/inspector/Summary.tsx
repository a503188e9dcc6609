// The inspector's headline figures for the rounds shown: rounds, mean accepted length, acceptance,
// DP runs, the current M and (for a finished reply) the cost model's predicted speed-up.
import { Hint } from '../components/Hint';
import { DEFS, isDemoModel } from '../chat/ReplyStats';
import { fmtInt, fmtNum, fmtPct } from '../lib/format';
import { useApp } from '../store';
import type { Inspected } from './useInspected';

export function Summary({ ins }: { ins: Inspected }) {
  const modelName = useApp((s) => s.current?.name);
  const { buf, n } = ins;
  if (!buf) return null;
  const t = buf.totals(n);
  const lastM = n > 0 ? buf.rounds[n - 1].skip.length : null;
  const stats = ins.trace?.summary ?? ins.message?.stats ?? null;
  const speedup = !ins.live && ins.cursorAll ? stats?.speedup ?? null : null;
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
      {speedup !== null && (
        <Hint text={DEFS.speedup + (demo ? ' ' + DEFS.demo : '')}>
          <div className="stat">
            <span className="stat-num">
              {fmtNum(speedup, 2)}×{demo && <sup className="demo-mark">*</sup>}
            </span>
            <span className="stat-label">predicted speed-up</span>
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
