// The lossless invariant: greedy `clasp` and `static` produce exactly the ids of `ar`, 128 new
// tokens with end tokens ignored, for every golden prompt and every benchmark prompt. Each check
// also asserts that drafting really happened (a run that fell back to plain decoding compares
// plain decoding with itself).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineService } from '../../src/services/EngineService';
import { loadDemo } from './helpers/engine';
import { BENCH_PROMPTS, loadGolden } from './helpers/paths';
import { validateSettings } from '../../src/services/settings';

let engine: EngineService;
beforeAll(async () => {
  engine = await loadDemo();
});
afterAll(() => engine?.dispose());

function benchPrompts(): { id: string; ids: number[] }[] {
  const lines = readFileSync(BENCH_PROMPTS, 'utf8').split('\n').filter((l) => l.trim());
  return lines.map((l) => {
    const p = JSON.parse(l) as { id: string; chat?: string; prompt?: string; prompt_ids?: number[] };
    const ids = p.prompt_ids ?? engine.encode(p.chat !== undefined ? { chat: p.chat } : { prompt: p.prompt ?? '' });
    return { id: p.id, ids };
  });
}

describe('greedy CLaSp is lossless', () => {
  it('on every golden and benchmark prompt, in clasp and static modes, with the policy and with M = 12', async () => {
    const cases = [
      ...Object.entries(loadGolden()).map(([id, g]) => ({ id, ids: g.prompt_ids })),
      ...benchPrompts(),
    ];
    expect(cases.length).toBeGreaterThanOrEqual(25);
    const settings = { maxTokens: 128, ignoreEos: true, temperature: 0 };
    const policyRounds = { clasp: 0, static: 0 };
    const ruledOut = { clasp: 0, static: 0 }; // replies whose cost table priced out even full acceptance
    for (const c of cases) {
      const ar = await engine.generate(c.ids, validateSettings({ ...settings, mode: 'ar' }));
      expect(ar.ids.length).toBe(128);
      for (const mode of ['clasp', 'static'] as const) {
        // The policy's own choice: on this CPU it may decode plainly after its first probe.
        const r = await engine.generate(c.ids, validateSettings({ ...settings, mode }));
        expect(r.ids, `${c.id} in ${mode} mode`).toEqual(ar.ids);
        policyRounds[mode] += r.stats.rounds ?? 0;
        if (r.stats.stretches?.[0]?.can_pay === false) ruledOut[mode]++;
        // "Try it anyway": the policy's own M and k, speculating whatever the cost table says.
        const f = await engine.generate(c.ids, validateSettings({ ...settings, mode, forceSpeculation: true }));
        expect(f.ids, `${c.id} in ${mode} mode, forced`).toEqual(ar.ids);
        expect(f.stats.rounds, `${c.id} in ${mode} mode, forced: rounds`).toBeGreaterThan(0);
        // An explicit M always drafts.
        const m = await engine.generate(c.ids, validateSettings({ ...settings, mode, skip: 12 }));
        expect(m.ids, `${c.id} in ${mode} mode, M = 12`).toEqual(ar.ids);
        expect(m.stats.rounds, `${c.id} in ${mode} mode, M = 12: rounds`).toBeGreaterThan(0);
        expect(m.stats.drafted).toBeGreaterThan(0);
      }
    }
    // The policy probes at least once in each mode (nothing counted yet on a fresh engine), unless the
    // cost table measured on this machine says not even full acceptance could pay (a busy machine
    // can measure that; test_policy.cpp covers that decision on synthetic tables).
    for (const mode of ['clasp', 'static'] as const) {
      if (ruledOut[mode] < cases.length) expect(policyRounds[mode], `${mode}: the policy's rounds`).toBeGreaterThan(0);
    }
  }, 600_000);

  it('with explicit skip counts, including none, one and all but one', async () => {
    const ids = loadGolden().chat_fortune!.prompt_ids;
    const settings = { maxTokens: 64, ignoreEos: true, temperature: 0 };
    const ar = await engine.generate(ids, validateSettings({ ...settings, mode: 'ar' }));
    for (const skip of [0, 1, 16, 31]) {
      const r = await engine.generate(ids, validateSettings({ ...settings, mode: 'clasp', skip, loi: 1 }));
      expect(r.ids, `skip ${skip}`).toEqual(ar.ids);
      expect(r.stats.final_M).toBe(skip);
      if (skip > 0) expect(r.stats.rounds, `skip ${skip}: rounds`).toBeGreaterThan(0);
      else expect(r.stats.plain_steps).toBe(63);
    }
  }, 120_000);
});
