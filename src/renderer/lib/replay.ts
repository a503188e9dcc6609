// Replay timing: each round's end on the recorded clock (draft + verify + the DP that ran before it,
// in milliseconds), and how many rounds had ended by a given time. Plain data, tested in Node.
/** What timing needs of a round (live rounds and trace rounds both have it). */
export interface TimedRound {
  draft: { ms: number };
  verify: { ms: number };
  dp?: { ms: number } | null;
}

/** Cumulative recorded milliseconds: ends[r] = when round r had finished (0-based). */
export function roundEnds(rounds: readonly TimedRound[]): Float64Array {
  const ends = new Float64Array(rounds.length);
  let t = 0;
  for (let r = 0; r < rounds.length; r++) {
    const rd = rounds[r];
    t += Math.max(0, rd.draft.ms || 0) + Math.max(0, rd.verify.ms || 0) + Math.max(0, rd.dp?.ms ?? 0);
    ends[r] = t;
  }
  return ends;
}

/** Rounds finished by recorded time t (binary search over ends). */
export function roundsAt(ends: Float64Array, t: number): number {
  let lo = 0;
  let hi = ends.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Tokens of a reply written before round `cursor` began (all of them when cursor is past the last round). */
export function tokensBeforeRound(firstToken: readonly number[], total: number, cursor: number): number {
  return cursor < firstToken.length ? firstToken[cursor] : total;
}

export const REPLAY_SPEEDS = [0.25, 0.5, 1, 2, 4, 10] as const;
