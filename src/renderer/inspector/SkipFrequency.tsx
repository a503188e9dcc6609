// How often each layer was skipped in the rounds shown: one horizontal bar per layer, in the rows
// of the skipped-layers heatmap beside it (same plot top and bottom as lib/heatmap's plotRect).
import { useMemo } from 'react';
import { plotRect, skipCounts } from '../lib/heatmap';
import type { RoundsBuffer } from '../lib/rounds';

export function SkipFrequency({ buf, n, version, height }: { buf: RoundsBuffer; n: number; version: number; height: number }) {
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const counts = useMemo(() => skipCounts(buf.skip, buf.nLayer, n), [buf, n, version]);
  const layout = plotRect(100, height);
  return (
    <div
      className="skip-freq"
      data-testid="skip-frequency"
      data-counts={Array.from(counts).join(',')}
      role="img"
      aria-label={`How often each layer was skipped over ${n} rounds`}
      style={{ height, paddingTop: layout.top, paddingBottom: height - layout.bottom }}
    >
      {Array.from(counts, (c, l) => (
        <div key={l} className="skip-freq-row" title={`layer ${l}: skipped in ${c} of ${n} rounds (${n ? Math.round((100 * c) / n) : 0}%)`}>
          <span style={{ width: `${n ? (100 * c) / n : 0}%` }} />
        </div>
      ))}
      <span className="skip-freq-title">% skipped</span>
    </div>
  );
}
