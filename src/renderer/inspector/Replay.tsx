// The replay: plays a finished reply or trace back on its recorded clock (the rounds' draft, verify
// and DP milliseconds) at a chosen speed, steps round by round, or drags to any round. While the
// cursor is set, the inspected reply's text shows only the tokens written so far (MessageItem).
import { useEffect, useMemo } from 'react';
import { Icon } from '../components/Icon';
import { fmtInt, fmtMs } from '../lib/format';
import { REPLAY_SPEEDS, roundEnds, roundsAt } from '../lib/replay';
import { useApp } from '../store';
import type { Inspected } from './useInspected';

export function Replay({ ins }: { ins: Inspected }) {
  const cursor = useApp((s) => s.cursor);
  const replaying = useApp((s) => s.replaying);
  const speed = useApp((s) => s.replaySpeed);
  const setSpeed = useApp((s) => s.setReplaySpeed);
  const setCursor = useApp((s) => s.setCursor);
  const setReplaying = useApp((s) => s.setReplaying);
  const total = ins.buf?.count ?? 0;
  const ends = useMemo(() => roundEnds(ins.buf?.rounds.slice(0, total) ?? []), [ins.buf, total]);
  const span = total ? ends[total - 1] : 0;

  useEffect(() => {
    if (!replaying || total === 0) return;
    let raf = 0;
    let pos = useApp.getState().cursor ?? 0;
    if (pos >= total) pos = 0;
    // Start from the recorded time at which the cursor's round began.
    let t = pos > 0 ? ends[pos - 1] : 0;
    let last = performance.now();
    const step = (now: number) => {
      t += (now - last) * speed;
      last = now;
      const n = roundsAt(ends, t);
      if (n >= total) {
        setReplaying(false);
        setCursor(null);
        return;
      }
      if (n !== useApp.getState().cursor) setCursor(n);
      raf = requestAnimationFrame(step);
    };
    setCursor(pos);
    raf = requestAnimationFrame(step);
    return () => cancelAnimationFrame(raf);
  }, [replaying, total, ends, speed, setCursor, setReplaying]);

  if (ins.live || total === 0) return null;
  const shown = cursor ?? total;
  const stepTo = (n: number) => {
    setReplaying(false);
    setCursor(n >= total ? null : Math.max(0, n));
  };
  return (
    <div className="replay" data-testid="replay" data-cursor={shown}>
      <button className="icon-btn" data-testid="replay-step-back" aria-label="One round back" title="One round back" disabled={shown <= 0} onClick={() => stepTo(shown - 1)}>
        <Icon name="stepBack" size={13} />
      </button>
      <button
        className="icon-btn"
        data-testid="replay-toggle"
        aria-label={replaying ? 'Pause the replay' : 'Replay'}
        title={replaying ? 'Pause' : `Replay the rounds on their recorded clock (${fmtMs(span)} at 1×)`}
        onClick={() => setReplaying(!replaying)}
      >
        <Icon name={replaying ? 'pause' : 'play'} size={14} />
      </button>
      <button className="icon-btn" data-testid="replay-step-forward" aria-label="One round on" title="One round on" disabled={shown >= total} onClick={() => stepTo(shown + 1)}>
        <Icon name="stepFwd" size={13} />
      </button>
      <input
        type="range"
        data-testid="replay-slider"
        aria-label="Rounds shown"
        min={0}
        max={total}
        value={shown}
        onChange={(e) => stepTo(Number(e.target.value))}
      />
      <span className="dim small replay-count" title="rounds shown / rounds; recorded time">
        {fmtInt(shown)} / {fmtInt(total)} · {fmtMs(shown > 0 ? ends[shown - 1] : 0)}
      </span>
      <select data-testid="replay-speed" aria-label="Replay speed" title="Replay speed (1× = as recorded)" value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
        {REPLAY_SPEEDS.map((v) => (
          <option key={v} value={v}>
            {v}×
          </option>
        ))}
      </select>
    </div>
  );
}
