// Replay timing from the recorded milliseconds, and the reply text that follows the cursor.
import { describe, expect, it } from 'vitest';
import { mapTokensToRounds } from '../../../src/renderer/lib/fates';
import { roundEnds, roundsAt, tokensBeforeRound } from '../../../src/renderer/lib/replay';

const round = (draft: number, verify: number, dp?: number) => ({ draft: { ms: draft }, verify: { ms: verify }, dp: dp === undefined ? null : { ms: dp } });

describe('replay on the recorded clock', () => {
  it('adds each round’s draft, verify and DP time, and finds the rounds done by a time', () => {
    const ends = roundEnds([round(10, 20, 5), round(10, 20), round(1, 2)]);
    expect(Array.from(ends)).toEqual([35, 65, 68]);
    expect(roundsAt(ends, 0)).toBe(0);
    expect(roundsAt(ends, 34.9)).toBe(0);
    expect(roundsAt(ends, 35)).toBe(1);
    expect(roundsAt(ends, 66)).toBe(2);
    expect(roundsAt(ends, 1e9)).toBe(3);
    // bad figures in a file count as no time rather than running the clock backwards
    expect(Array.from(roundEnds([round(-5, Number.NaN), round(1, 1)]))).toEqual([0, 2]);
  });

  it('shows the tokens written before the cursor’s round', () => {
    // plain (prefill), round 0: accepted accepted correction, round 1: bonus, round 2: accepted correction
    const fates = ['plain', 'accepted', 'accepted', 'correction', 'bonus', 'accepted', 'correction'] as const;
    const { firstToken } = mapTokensToRounds([...fates]);
    expect(tokensBeforeRound(firstToken, fates.length, 0)).toBe(1);
    expect(tokensBeforeRound(firstToken, fates.length, 1)).toBe(4);
    expect(tokensBeforeRound(firstToken, fates.length, 2)).toBe(5);
    expect(tokensBeforeRound(firstToken, fates.length, 3)).toBe(7);
  });
});
