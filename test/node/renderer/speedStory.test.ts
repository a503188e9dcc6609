// The per-reply speed explanation's words and numbers (lib/speedStory.ts): what ran, on which
// tokens and why, from the engine's plan stretches; the time breakdown and the plain estimate; and
// when "try it anyway" and "forget what was learned" are offered.
import { describe, expect, it } from 'vitest';
import type { GenerationStats, PlanStretch } from '../../../src/shared/engineTypes';
import { measuredSpeed, partsText, speedStory } from '../../../src/renderer/lib/speedStory';

function stretch(p: Partial<PlanStretch> & { from: number; n: number }): PlanStretch {
  return {
    speculate: false, probe: false, forced: false, can_pay: true, M: 12, k: 4, det: 0.4, loi: 8, alpha: 0.41, alpha_drafts: 120,
    predicted_speedup: 0.28, verify_steps: 3.1, draft_steps: 0.6, dp_steps: 9, reason: 'plain decoding: predicted 0.28x …', ...p,
  };
}

function stats(p: Partial<GenerationStats>): GenerationStats {
  return {
    mode: 'clasp', backend: 'cpu', n_prompt: 10, n_reused: 0, n_generated: 114, prefill_ms: 5, decode_ms: 1000, tokens_per_s: 114, ttft_ms: 6,
    rounds: 0, drafted: 0, accepted: 0, mean_accepted_length: 1, acceptance_rate: null, dp_runs: 0, dp_ms: 0, plain_steps: 113,
    plain_tokens_per_s: 125, speedup: 0.9, backend_reason: null, policy: 'auto', fallback: true, final_M: 0,
    draft_ms: 0, verify_ms: 0, plain_ms: 900, earlier: { tokens: 412, ms: 300, speedup: 0.28 }, ...p,
  };
}

describe('speedStory', () => {
  it('a wholly plain reply says so, with the speed measured on earlier replies, and offers both actions', () => {
    const s = speedStory(stats({ stretches: [stretch({ from: 0, n: 114 })] }));
    expect(s.label).toBe('plain');
    expect(s.headline).toBe('Plain decoding for this whole reply: on this machine CLaSp measured 0.28× of plain speed on earlier replies (412 tokens).');
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]!.text).toBe('tokens 1–114: plain decoding, because acceptance 0.41 counted over 120 drafts predicts 0.28× of plain speed, below the 1.05× it takes to speculate.');
    expect(s.lines[0]!.reason).toMatch(/^plain decoding: predicted 0.28x/);
    expect(s.canTryAnyway).toBe(true);
    expect(s.canForget).toBe(true);
  });

  it('without earlier measurements it gives the prediction; where no acceptance could pay it names the costs', () => {
    const s = speedStory(stats({ earlier: { tokens: 0, ms: 0, speedup: null }, stretches: [stretch({ from: 0, n: 114, can_pay: false, predicted_speedup: 0.8 })] }));
    expect(s.headline).toBe('Plain decoding for this whole reply: the policy predicted 0.80× of plain speed here.');
    expect(s.lines[0]!.text).toContain('even a reply whose every draft was accepted would reach only about 0.80× at best: a 5-token verify costs 3.10 plain steps and a draft 0.60');
  });

  it('a mixed reply names the plain tokens, labels both, and breaks the time down', () => {
    const s = speedStory(
      stats({
        rounds: 10, drafted: 40, accepted: 29, plain_steps: 74, speedup: 1.31, draft_ms: 200, verify_ms: 300, dp_ms: 50, plain_ms: 400,
        stretches: [stretch({ from: 0, n: 39, speculate: true, predicted_speedup: 1.4, alpha: 0.8 }), stretch({ from: 39, n: 75 })],
      }),
    );
    expect(s.label).toBe('clasp + plain');
    expect(s.headline).toBe('Speculation was off for tokens 40–114; the reply ran at 1.31× of plain speed on this machine.');
    expect(s.lines[0]!.text).toBe('tokens 1–39: speculated at M=12, up to 4 drafts a round: predicted 1.40× of plain speed (acceptance 0.80 counted over 120 drafts).');
    expect(s.parts.map((p) => p.label)).toEqual(['draft', 'verify', 'DP', 'plain steps', 'other']);
    expect(s.parts.reduce((a, p) => a + p.ms, 0)).toBeCloseTo(1000);
    expect(s.parts[4]!.ms).toBeCloseTo(50);
    expect(s.plainEstimateMs).toBeCloseTo((113 * 1000) / 125);
    expect(partsText(s.parts)).toBe('draft 200 ms · verify 300 ms · DP 50.0 ms · plain steps 400 ms · other 50.0 ms');
  });

  it('a wholly speculative reply gives its measured speed; a forced one says it was asked for and offers no second try', () => {
    const all = speedStory(stats({ rounds: 30, plain_steps: 0, speedup: 1.7, stretches: [stretch({ from: 0, n: 114, speculate: true })] }));
    expect(all.label).toBe('clasp');
    expect(all.headline).toBe('CLaSp speculated for the whole reply and ran at 1.70× of plain speed on this machine.');
    expect(all.canTryAnyway).toBe(false);
    const forced = speedStory(stats({ rounds: 30, plain_steps: 0, stretches: [stretch({ from: 0, n: 114, speculate: true, forced: true, alpha_drafts: 0 })] }));
    expect(forced.lines[0]!.text).toBe('tokens 1–114: speculated because you asked (try it anyway); the policy predicted 0.28× of plain speed (acceptance 0.41 assumed at M=12, none counted there yet).');
    expect(forced.canTryAnyway).toBe(false);
  });

  it('an explicit skip count and mode ar offer nothing to override', () => {
    const fixed = speedStory(stats({ policy: 'fixed', rounds: 5, plain_steps: 0, stretches: [stretch({ from: 0, n: 114, speculate: true })] }));
    expect(fixed.lines[0]!.text).toBe('tokens 1–114: speculated at M=12 as set, up to 4 drafts a round.');
    expect(fixed.canTryAnyway || fixed.canForget).toBe(false);
    const ar = speedStory(stats({ mode: 'ar', rounds: null, stretches: null }));
    expect(ar.label).toBe('plain');
    expect(ar.headline).toMatch(/^Plain decoding, as set \(mode ar\)/);
    expect(ar.canTryAnyway || ar.canForget).toBe(false);
  });

  it('a reply stored without plan stretches (older, or stopped early) still says what ran, without inventing reasons', () => {
    const spec = speedStory(stats({ rounds: 7, plain_steps: 0, speedup: 1.2, stretches: undefined }));
    expect(spec.headline).toBe('CLaSp ran 7 verify rounds; the reply ran at 1.20× of plain speed on this machine.');
    expect(spec.lines).toEqual([]);
    expect(speedStory(stats({ rounds: 7, stretches: undefined, draft_ms: undefined, verify_ms: undefined, plain_ms: undefined })).parts).toEqual([]);
    expect(spec.canTryAnyway).toBe(false);
    const none = speedStory(stats({ rounds: 0, stretches: null }));
    expect(none.label).toBe('plain');
    expect(none.headline).toBe('No tokens were speculated in this reply.');
  });
});

describe('measuredSpeed (the explanation and the inspector Summary share it)', () => {
  it('gives the measured speed-up, this reply’s rate and the plain rate here, and the prediction apart', () => {
    const st = stats({ rounds: 30, plain_steps: 0, speedup: 1.31, tokens_per_s: 164, plain_tokens_per_s: 125, predicted_speedup: 1.6, stretches: [stretch({ from: 0, n: 114, speculate: true })] });
    const m = measuredSpeed(st);
    expect(m).toEqual({ tokensPerS: 164, plainTokensPerS: 125, speedup: 1.31, plainEstimateMs: (113 * 1000) / 125, predicted: 1.6 });
    // the explanation says the same measured figure and the same plain estimate
    const story = speedStory(st);
    expect(story.headline).toBe('CLaSp speculated for the whole reply and ran at 1.31× of plain speed on this machine.');
    expect(story.plainEstimateMs).toBe(m.plainEstimateMs);
  });

  it('says nothing measured where the engine measured nothing', () => {
    const m = measuredSpeed(stats({ speedup: null, plain_tokens_per_s: null, predicted_speedup: undefined }));
    expect(m).toMatchObject({ speedup: null, plainTokensPerS: null, plainEstimateMs: null, predicted: null });
    expect(measuredSpeed(stats({ speedup: Number.NaN })).speedup).toBeNull();
  });
});
