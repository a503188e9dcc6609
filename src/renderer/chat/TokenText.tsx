// A reply coloured by each token's fate: accepted draft, correction, bonus, or plain. Clicking a
// token opens its verify round in the inspector. Needs the per-token text pieces; without them a
// strip of coloured cells (one per token) stands in under the Markdown.
import { memo, useMemo } from 'react';
import type { Message, TokenFate } from '@shared/api';
import { FATE_LABEL, mapTokensToRounds } from '../lib/fates';
import { useApp } from '../store';

// One shared empty list, so a message without fates keeps its memoised round map across renders.
const NO_FATES: TokenFate[] = [];

export const TokenText = memo(function TokenText({ m, pieces, limit }: { m: Message; pieces: string[]; /** the replay: show only the first `limit` tokens */ limit?: number }) {
  const inspect = useApp((s) => s.inspectMessage);
  const openInspector = useApp((s) => s.toggleInspector);
  const fates = m.fates ?? NO_FATES;
  const map = useMemo(() => mapTokensToRounds(fates), [fates]);
  const onClick = (e: React.MouseEvent) => {
    const t = Number((e.target as HTMLElement).dataset.t);
    if (!Number.isInteger(t)) return;
    const r = map.roundOf[t];
    openInspector(true);
    void inspect(m, r >= 0 ? r : null);
  };
  return (
    <div className={`token-text ${limit !== undefined ? 'replaying' : ''}`} onClick={onClick} data-testid="token-text" data-tokens={limit ?? pieces.length}>
      {(limit !== undefined ? pieces.slice(0, limit) : pieces).map((p, i) => {
        const f: TokenFate = fates[i] ?? 'plain';
        const r = map.roundOf[i];
        return (
          <span key={i} data-t={i} className={`tok f-${f}`} title={`token ${i} · id ${m.tokenIds?.[i] ?? '?'} · ${FATE_LABEL[f]}${r >= 0 ? ` · round ${r}` : ''}`}>
            {p}
          </span>
        );
      })}
    </div>
  );
});

/** One cell per token, coloured by fate; click a cell to inspect its round. */
export const FateStrip = memo(function FateStrip({ m }: { m: Message }) {
  const inspect = useApp((s) => s.inspectMessage);
  const openInspector = useApp((s) => s.toggleInspector);
  const fates = m.fates ?? NO_FATES;
  const map = useMemo(() => mapTokensToRounds(fates), [fates]);
  if (fates.length === 0) return null;
  return (
    <div
      className="fate-strip"
      data-testid="fate-strip"
      aria-label="Token fates"
      onClick={(e) => {
        const t = Number((e.target as HTMLElement).dataset.t);
        if (!Number.isInteger(t)) return;
        openInspector(true);
        void inspect(m, map.roundOf[t] >= 0 ? map.roundOf[t] : null);
      }}
    >
      {fates.map((f, i) => (
        <span key={i} data-t={i} className={`cell f-${f}`} title={`token ${i} · id ${m.tokenIds?.[i] ?? '?'} · ${FATE_LABEL[f]}`} />
      ))}
    </div>
  );
});

export function FateLegend() {
  return (
    <div className="fate-legend" aria-label="Token colours">
      <span className="tok f-accepted">accepted draft</span>
      <span className="tok f-correction">correction</span>
      <span className="tok f-bonus">bonus</span>
      <span className="tok f-plain">plain</span>
      <span className="dim">Click a token to see its round.</span>
    </div>
  );
}
