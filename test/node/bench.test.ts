// `clasp bench`'s arithmetic: speed-ups are ratios within one pass, with a 95% interval over passes.
import { describe, expect, it } from 'vitest';
import { add, emptyAgg, summarize } from '../../src/cli/bench';
import type { GenerationStats } from '../../src/shared/engineTypes';

const run = (mode: 'ar' | 'clasp', tokens: number, ms: number, extra: Partial<GenerationStats> = {}): GenerationStats => ({
  mode, backend: 'cpu', n_prompt: 5, n_reused: 0, n_generated: tokens, prefill_ms: 1, decode_ms: ms, tokens_per_s: tokens / (ms / 1000), ttft_ms: 1,
  rounds: mode === 'ar' ? null : 4, drafted: mode === 'ar' ? null : 12, accepted: mode === 'ar' ? null : 6, mean_accepted_length: null,
  acceptance_rate: null, dp_runs: null, dp_ms: mode === 'ar' ? null : 1, backend_reason: null, policy: null, fallback: false, final_M: null,
  predicted_speedup: mode === 'ar' ? null : 1.2, costed_speedup: mode === 'ar' ? null : 1.1, ...extra,
});

function pass(arMs: number, claspMs: number) {
  const m = emptyAgg(), ar = emptyAgg();
  add(ar, run('ar', 100, arMs));
  add(m, run('clasp', 100, claspMs));
  return { m, ar };
}

describe('bench summary', () => {
  it('gives the mean speed-up over passes and a 95% interval', () => {
    const s = summarize('clasp', [pass(1000, 800), pass(1000, 1000), pass(1200, 1000)]);
    // per pass: 1.25, 1.0, 1.2 -> mean 1.15, sd 0.1323, t(2 df) 4.30 -> half-width 0.3285
    expect(s.speedup).toBeCloseTo(1.15, 3);
    const [lo, hi] = s.speedup_interval as number[];
    expect(lo).toBeCloseTo(1.15 - 0.3285, 2);
    expect(hi).toBeCloseTo(1.15 + 0.3285, 2);
    expect(s.mean_accepted_length).toBeCloseTo((18 + 12) / 12, 3);
    expect(s.acceptance_rate).toBeCloseTo(0.5, 3);
    expect(s.predicted_speedup).toBeCloseTo(1.2, 3);
  });

  it('has no interval from a single pass', () => {
    const s = summarize('clasp', [pass(1000, 500)]);
    expect(s.speedup).toBeCloseTo(2, 3);
    expect(s.speedup_interval).toBeNull();
  });
});
