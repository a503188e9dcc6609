// The A/B view's figures: two traces' skip sets compared round by round (round r of A against
// round r of B, over the rounds both have), and the headline numbers of each from its rounds.
// Definitions in docs/NUMBERS.md ("A/B in the inspector").
import type { RoundsBuffer } from './rounds';

/** Cell values of the difference heatmap. */
export const DIFF = { neither: 0, onlyA: 1, onlyB: 2, both: 3 } as const;

export interface SkipDiff {
  rounds: number;
  nLayer: number;
  /** (rounds, nLayer): DIFF values */
  cells: Uint8Array;
  onlyA: number;
  onlyB: number;
  both: number;
  /** mean over the rounds of |A ∩ B| / |A ∪ B| (rounds where both skip nothing count as 1) */
  meanOverlap: number;
}

/** Null when the two were made by models with different layer counts (no layer-by-layer match). */
export function skipDiff(a: RoundsBuffer, nA: number, b: RoundsBuffer, nB: number): SkipDiff | null {
  if (a.nLayer !== b.nLayer) return null;
  const L = a.nLayer;
  const rounds = Math.min(nA, nB, a.count, b.count);
  const cells = new Uint8Array(rounds * L);
  let onlyA = 0;
  let onlyB = 0;
  let both = 0;
  let overlap = 0;
  for (let r = 0; r < rounds; r++) {
    let inter = 0;
    let union = 0;
    for (let l = 0; l < L; l++) {
      const sa = a.skip[r * L + l] === 1;
      const sb = b.skip[r * L + l] === 1;
      const v = sa && sb ? DIFF.both : sa ? DIFF.onlyA : sb ? DIFF.onlyB : DIFF.neither;
      cells[r * L + l] = v;
      if (v === DIFF.both) both++;
      else if (v === DIFF.onlyA) onlyA++;
      else if (v === DIFF.onlyB) onlyB++;
      if (sa && sb) inter++;
      if (sa || sb) union++;
    }
    overlap += union === 0 ? 1 : inter / union;
  }
  return { rounds, nLayer: L, cells, onlyA, onlyB, both, meanOverlap: rounds ? overlap / rounds : NaN };
}

/** Headline numbers of one side from its rounds: counts, acceptance, mean skip count. */
export function sideFigures(buf: RoundsBuffer, n: number) {
  const t = buf.totals(n);
  let skipped = 0;
  const L = buf.nLayer;
  for (let i = 0; i < Math.min(n, buf.count) * L; i++) skipped += buf.skip[i];
  return { ...t, meanSkipped: t.rounds ? skipped / t.rounds : NaN };
}
