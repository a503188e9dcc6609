// One verify round up close: each drafted token with the draft's probability q and the full model's
// p, which were accepted, the correction or bonus token, the skip set, the policy's changes and the
// DP (table and path) that chose the skip set.
import { useEffect, useMemo, useRef } from 'react';
import { Icon } from '../components/Icon';
import { mapTokensToRounds } from '../lib/fates';
import { fmtMs } from '../lib/format';
import { useApp } from '../store';
import { DpTable } from './DpTable';
import { DpRerun, LayerLab } from './LayerLab';
import type { Inspected } from './useInspected';

function visible(s: string): string {
  return s.replace(/\n/g, '⏎').replace(/\t/g, '⇥').replace(/ /g, '·');
}

function Prob({ v, label }: { v: number | undefined; label: string }) {
  if (v === undefined) return null;
  return (
    <span className="prob" title={`${label} = ${v.toFixed(4)}`}>
      <span className="prob-bar">
        <span style={{ width: `${Math.max(2, v * 100)}%` }} />
      </span>
      <span className="prob-num">
        {label} {v.toFixed(2)}
      </span>
    </span>
  );
}

export function RoundDetail({ ins }: { ins: Inspected }) {
  const r = useApp((s) => s.selectedRound);
  const select = useApp((s) => s.selectRound);
  const pieces = ins.message?.pieces;
  const fates = ins.message?.fates;
  const map = useMemo(() => (fates ? mapTokensToRounds(fates) : null), [fates]);
  const el = useRef<HTMLDivElement>(null);
  const modelName = useApp((s) => s.current?.name ?? null);
  const tokenText = useApp((s) => s.tokenText);
  const tokenTextModel = useApp((s) => s.tokenTextModel);
  const decodeIds = useApp((s) => s.decodeIds);
  // Ids are decoded with the loaded model's tokenizer only when the trace is from that model.
  const traceModel = ins.trace?.model.name ?? modelName;
  const canDecode = !!modelName && traceModel === modelName;
  const roundIds = r !== null && ins.buf && r < ins.buf.count ? [...ins.buf.rounds[r].draft.ids, ins.buf.rounds[r].verify.next_id] : null;
  const idsKey = roundIds?.join(',') ?? '';
  useEffect(() => {
    if (canDecode && roundIds) void decodeIds(roundIds);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [idsKey, canDecode]);
  // A picked round brings its drill-down into view (it sits below the charts).
  useEffect(() => {
    if (r !== null) el.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }, [r]);
  const { buf, n, L } = ins;
  if (!buf || r === null || r >= buf.count) {
    return <p className="dim small round-hint">Click a round in a heatmap or chart (or a token in a reply, with token fates on) to see its drafts, skip set and DP table.</p>;
  }
  const round = buf.rounds[r];
  const d = round.draft.ids.length;
  const a = round.verify.accepted;
  const dpAt = buf.dpRoundFor(r);
  const dpRound = dpAt >= 0 ? buf.rounds[dpAt] : null;

  // Token texts: round r's tokens in the reply are its accepted drafts then its next token.
  const first = map?.firstToken[r];
  const tokenIds = ins.message?.tokenIds;
  const textOf = (k: number, id: number): string | null => {
    if (first !== undefined && pieces && tokenIds) {
      const t = first + k;
      if (tokenIds[t] === id && pieces[t] !== undefined) return pieces[t];
    }
    // a rejected draft, or an imported trace: the tokenizer's text for the id
    return canDecode && tokenTextModel === modelName && tokenText[id] !== undefined ? tokenText[id] : null;
  };
  const nextFate = a < d ? 'correction' : 'bonus';

  return (
    <div className="round-detail" data-testid="inspector-round-detail" data-round={r} ref={el}>
      <header>
        <button className="icon-btn" data-testid="round-prev" aria-label="Previous round" disabled={r <= 0} onClick={() => select(r - 1)}>
          <Icon name="chevronLeft" size={14} />
        </button>
        <h3>
          Round {r} <span className="dim">of {n}</span>
        </h3>
        <button className="icon-btn" data-testid="round-next" aria-label="Next round" disabled={r >= n - 1} onClick={() => select(r + 1)}>
          <Icon name="chevronRight" size={14} />
        </button>
        <span className="round-meta">
          position {round.pos} · skip M={round.skip.length} · drafted {d} · accepted {a} · draft {fmtMs(round.draft.ms)} · verify {fmtMs(round.verify.ms)}
        </span>
        <button className="icon-btn" aria-label="Close" onClick={() => select(null)}>
          <Icon name="close" size={14} />
        </button>
      </header>

      <div className="draft-row" aria-label="Drafted tokens">
        {round.draft.ids.map((id, k) => {
          const status = k < a ? 'accepted' : k === a ? 'rejected' : 'unused';
          const text = textOf(k, id);
          return (
            <div key={k} className={`draft-tok ${status}`} title={status === 'accepted' ? 'accepted' : status === 'rejected' ? 'rejected: the full model disagreed here' : 'after the first rejection: discarded'}>
              <span className="draft-k">#{k + 1}</span>
              <span className="draft-text">{text !== null ? visible(text) : <span className="dim">id {id}</span>}</span>
              {text !== null && <span className="draft-id">id {id}</span>}
              <Prob v={round.draft.q[k]} label="q" />
              <Prob v={round.verify.p[k]} label="p" />
              <span className="draft-mark">{status === 'accepted' ? '✓' : status === 'rejected' ? '✗' : '–'}</span>
            </div>
          );
        })}
        <div className={`draft-tok next f-${nextFate}`} title={nextFate === 'bonus' ? 'every draft accepted: one more token from the full model' : "the full model's token where the draft went wrong"}>
          <span className="draft-k">{nextFate}</span>
          <span className="draft-text">
            {(() => {
              const t = textOf(a, round.verify.next_id);
              return t !== null ? visible(t) : <span className="dim">id {round.verify.next_id}</span>;
            })()}
          </span>
          {textOf(a, round.verify.next_id) !== null && <span className="draft-id">id {round.verify.next_id}</span>}
        </div>
      </div>
      <p className="dim small">
        q: the draft's probability of its token (drafting stops when its top-1 falls below DET); p: the full model's probability of the same token.
        {!canDecode && ` Ids are shown: this trace is from ${traceModel ?? 'another model'}, and its tokenizer is not loaded.`}
      </p>

      <LayerLab ins={ins} round={round} />

      {round.policy && (
        <div className="policy-note">
          <Icon name="info" size={14} /> The adaptive policy changed course after this round: M → {round.policy.M}, DET → {round.policy.det.toFixed(2)}. {round.policy.reason}
        </div>
      )}

      <div className="dp-block">
        <h4>
          {dpRound?.dp?.given
            ? 'No DP: the skip set was given. Its path, at the prompt’s last token'
            : `DP ${dpAt === r ? 'that chose this skip set' : dpAt >= 0 ? `from round ${dpAt}, whose skip set this round reuses` : ''}`}
          {dpRound?.dp && (
            <span className="dim">
              {' '}
              · target position {dpRound.dp.target_pos} · {fmtMs(dpRound.dp.ms)}
            </span>
          )}
        </h4>
        {dpRound?.dp ? (
          <DpTable dp={dpRound.dp} skip={dpRound.skip} nLayer={L} />
        ) : (
          <p className="dim small">No DP ran before this round (the skip set was given, or the trace does not carry it).</p>
        )}
        <DpRerun ins={ins} M={dpRound?.dp?.M ?? round.skip.length} />
      </div>
    </div>
  );
}
