// The replay scrubber: play the rounds of a finished reply or trace back, or drag to any round.
import { useEffect } from 'react';
import { Icon } from '../components/Icon';
import { fmtInt } from '../lib/format';
import { useApp } from '../store';
import type { Inspected } from './useInspected';

export function Replay({ ins }: { ins: Inspected }) {
  const cursor = useApp((s) => s.cursor);
  const replaying = useApp((s) => s.replaying);
  const setCursor = useApp((s) => s.setCursor);
  const setReplaying = useApp((s) => s.setReplaying);
  const total = ins.buf?.count ?? 0;

  useEffect(() => {
    if (!replaying || total === 0) return;
    let raf = 0;
    let last = performance.now();
    let pos = useApp.getState().cursor ?? 0;
    if (pos >= total) pos = 0;
    // A whole reply plays in about 8 s, and never slower than 20 rounds per second.
    const rate = Math.max(20, total / 8);
    const step = (now: number) => {
      pos = Math.min(total, pos + ((now - last) / 1000) * rate);
      last = now;
      setCursor(Math.floor(pos));
      if (pos >= total) {
        setReplaying(false);
        setCursor(null);
        return;
      }
      raf = requestAnimationFrame(step);
    };
    raf = requestAnimationFrame(step);
    return () => cancelAnimationFrame(raf);
  }, [replaying, total, setCursor, setReplaying]);

  if (ins.live || total === 0) return null;
  return (
    <div className="replay">
      <button
        className="icon-btn"
        data-testid="replay-toggle"
        aria-label={replaying ? 'Pause the replay' : 'Replay'}
        title={replaying ? 'Pause' : 'Replay the rounds as they happened'}
        onClick={() => setReplaying(!replaying)}
      >
        <Icon name={replaying ? 'pause' : 'play'} size={14} />
      </button>
      <input
        type="range"
        data-testid="replay-slider"
        aria-label="Rounds shown"
        min={0}
        max={total}
        value={cursor ?? total}
        onChange={(e) => {
          setReplaying(false);
          const v = Number(e.target.value);
          setCursor(v >= total ? null : v);
        }}
      />
      <span className="dim small replay-count">
        {fmtInt(cursor ?? total)} / {fmtInt(total)}
      </span>
    </div>
  );
}
