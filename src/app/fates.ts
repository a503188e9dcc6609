// Per-token fates of a reply, from the engine's token and round events.
//
// The engine emits a round's tokens first (its accepted drafts, then the correction or bonus token)
// and the round event right after them. Tokens with no round behind them are plain decoding steps:
// the first token (from the prefill's logits), every token in 'ar' mode, and the steps taken while
// the adaptive policy has speculation switched off. So a token's fate is only known once the next
// round event arrives (or does not): the tracker holds tokens back until then, at most `holdMs`,
// after which they go out as 'plain'. If a late round then claims them, the fates are corrected;
// `fates` (sent with 'done' and stored with the message) is always exact.
import type { TokenFate } from '../shared/api';
import type { Mode, RoundEvent } from '../shared/engineTypes';

export class FateTracker {
  readonly ids: number[] = [];
  readonly fates: (TokenFate | null)[] = [];
  private readonly arrived: number[] = [];
  /** tokens [0, resolvedUpTo) have a fate; later ones wait for a round */
  private resolvedUpTo = 0;
  /** tokens [0, emitted) were handed out by take() */
  private emitted = 0;
  /** set when a round re-labelled tokens that had already gone out */
  corrected = false;

  constructor(
    private readonly mode: Mode,
    private readonly holdMs = 300,
    private readonly now: () => number = () => Date.now(),
  ) {}

  token(id: number): void {
    const i = this.ids.length;
    this.ids.push(id);
    this.arrived.push(this.now());
    if (i === 0 || this.mode === 'ar') {
      this.fates.push('plain');
      if (this.resolvedUpTo === i) this.resolvedUpTo = i + 1;
    } else {
      this.fates.push(null);
    }
  }

  /** A verify round: it claims the tokens it produced, at the end of the unresolved ones. */
  round(r: RoundEvent): void {
    if (this.mode === 'ar') return;
    // Its tokens, in order; fewer were emitted when an end token or max tokens cut the round short.
    const seq = [...r.draft.ids.slice(0, r.verify.accepted), r.verify.next_id];
    // The round's tokens arrived after the previous round's, and the tokens between are plain steps.
    const start = this.lastRoundEnd;
    const n = this.ids.length - start;
    let k = Math.min(seq.length, n);
    while (k > 0 && !this.tailMatches(seq, k)) k--;
    if (k === 0 && n > 0) k = Math.min(seq.length, n); // ids disagree (should not happen): trust the counts
    const first = this.ids.length - k;
    for (let i = start; i < first; i++) this.setFate(i, 'plain');
    for (let j = 0; j < k; j++) {
      const fate: TokenFate = j < r.verify.accepted ? 'accepted' : r.verify.accepted < r.draft.ids.length ? 'correction' : 'bonus';
      this.setFate(first + j, fate);
    }
    this.lastRoundEnd = this.ids.length;
    this.resolvedUpTo = this.ids.length;
  }

  private lastRoundEnd = 1;

  private tailMatches(seq: number[], k: number): boolean {
    const off = this.ids.length - k;
    for (let j = 0; j < k; j++) if (this.ids[off + j] !== seq[j]) return false;
    return true;
  }

  private setFate(i: number, f: TokenFate): void {
    if (i < this.emitted && this.fates[i] !== f) this.corrected = true;
    this.fates[i] = f;
  }

  /**
   * The tokens ready to go out since the last call: those with a fate, plus those that waited longer
   * than holdMs (as 'plain'), or everything when `all` (the generation ended).
   */
  take(all = false): { ids: number[]; fates: TokenFate[]; from: number } {
    const now = this.now();
    let end = Math.max(this.resolvedUpTo, this.emitted);
    while (end < this.ids.length && (all || now - this.arrived[end]! >= this.holdMs)) {
      if (this.fates[end] === null) this.fates[end] = 'plain';
      end++;
    }
    if (all) {
      for (let i = end; i < this.ids.length; i++) if (this.fates[i] === null) this.fates[i] = 'plain';
      end = this.ids.length;
    }
    const from = this.emitted;
    if (end <= from) return { ids: [], fates: [], from };
    this.emitted = end;
    return { ids: this.ids.slice(from, end), fates: this.fates.slice(from, end) as TokenFate[], from };
  }

  /** Tokens held back, waiting for their round. */
  get pending(): number {
    return this.ids.length - this.emitted;
  }

  /** Every token's fate so far (unresolved ones as 'plain'). */
  final(): TokenFate[] {
    return this.fates.map((f) => f ?? 'plain');
  }
}

/** Fates of a finished generation from its ids and rounds in order (no interleaving known). */
export function fatesFromRounds(mode: Mode, ids: number[], rounds: RoundEvent[]): TokenFate[] {
  const t = new FateTracker(mode, 0, () => 0);
  let i = 0;
  if (ids.length > 0) t.token(ids[i++]!);
  for (const r of rounds) {
    const n = Math.min(r.verify.accepted + 1, ids.length - i);
    for (let j = 0; j < n; j++) t.token(ids[i++]!);
    t.round(r);
  }
  while (i < ids.length) t.token(ids[i++]!);
  return t.final();
}
