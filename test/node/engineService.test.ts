// EngineService: streaming, cancellation, queueing, prefix reuse, and clear errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineService } from '../../src/services/EngineService';
import { buildTrace } from '../../src/services/traceBuilder';
import { loadDemo } from './helpers/engine';
import { loadGolden } from './helpers/paths';
import { validateSettings, type ValidSettings } from '../../src/services/settings';
import { DEFAULT_SETTINGS, type GenerateSettings } from '../../src/shared/engineTypes';

let engine: EngineService;
beforeAll(async () => {
  engine = await loadDemo();
});
afterAll(() => engine?.dispose());

describe('EngineService', () => {
  it('reports the model and the device, with the reason for using the CPU', () => {
    expect(engine.info.nLayer).toBe(32);
    expect(engine.info.nVocab).toBe(8192);
    expect(engine.info.weightType).toBe('Q8_0');
    expect(engine.info.deviceInfo).toMatch(/cpu \(2 threads/);
    expect(engine.info.residentBytes).toBeGreaterThan(0);
    expect(engine.tokenizer.eosIds.sort()).toEqual([8183, 8191]);
  });

  it('streams tokens whose text adds up to the result, and stops at an end token', async () => {
    const g = loadGolden().chat_add!;
    const pieces: string[] = [];
    const ids: number[] = [];
    const r = await engine.generate(g.prompt_ids, validateSettings({ mode: 'ar', maxTokens: 64 }), { onToken: (id, t) => { ids.push(id); pieces.push(t); } });
    expect(r.ids).toEqual(g.greedy_ids);
    expect(ids).toEqual(r.ids);
    expect(pieces.join('')).toBe(r.text);
    expect(r.text).toBe(g.greedy_text);
    expect(r.finishReason).toBe('stop');
    expect(r.stats.mode).toBe('ar');
    expect(r.stats.rounds).toBeNull();
  });

  it('encodes a chat turn through the template exactly as the golden prompt', () => {
    const g = loadGolden().chat_count!;
    expect(engine.encode({ chat: 'Count from 12 to 30.' })).toEqual(g.prompt_ids);
    expect(engine.encode({ prompt: g.text })).toEqual(g.prompt_ids);
  });

  it('reuses the cached prefix of the previous prompt', async () => {
    const g = loadGolden().plain_news!;
    await engine.generate(g.prompt_ids, validateSettings({ mode: 'ar', maxTokens: 4 }));
    const r = await engine.generate([...g.prompt_ids, 707, 331], validateSettings({ mode: 'ar', maxTokens: 4 }));
    expect(r.stats.n_reused).toBeGreaterThanOrEqual(g.prompt_ids.length);
  });

  it('cancels mid-generation and keeps what was produced', async () => {
    const ac = new AbortController();
    let n = 0;
    // 1000 tokens (the demo's context): a fast machine writes a few hundred before the abort lands
    const r = await engine.generate([8182, 473], validateSettings({ mode: 'ar', maxTokens: 1000, ignoreEos: true }), {
      signal: ac.signal,
      onToken: () => { if (++n === 5) ac.abort(); },
    });
    expect(r.finishReason).toBe('cancelled');
    expect(r.ids.length).toBeGreaterThanOrEqual(5);
    expect(r.ids.length).toBeLessThan(1000);
    // The engine is usable afterwards.
    const again = await engine.generate([8182, 473], validateSettings({ mode: 'ar', maxTokens: 3 }));
    expect(again.ids.length).toBe(3);
  });

  it('runs queued generations in order, each equal to running it alone', async () => {
    const golden = loadGolden();
    const prompts = Object.values(golden).map((g) => g.prompt_ids);
    const alone = [];
    for (const p of prompts) alone.push((await engine.generate(p, validateSettings({ mode: 'ar', maxTokens: 12 }))).ids);
    const together = await Promise.all(prompts.map((p) => engine.generate(p, validateSettings({ mode: 'clasp', skip: 8, maxTokens: 12 }))));
    expect(together.map((r) => r.ids)).toEqual(alone);
  });

  it('ends a queued generation when it is stopped, without waiting for the one ahead', async () => {
    const ahead = new AbortController();
    const first = engine.generate([8182, 473], validateSettings({ mode: 'ar', maxTokens: 900, ignoreEos: true }), { signal: ahead.signal });
    const stop = new AbortController();
    const second = engine.generate([8182, 473], validateSettings({ mode: 'ar', maxTokens: 5 }), { signal: stop.signal });
    let firstDone = false;
    void first.then(() => (firstDone = true));
    stop.abort();
    const r = await second;
    expect(r.finishReason).toBe('cancelled');
    expect(r.ids).toEqual([]);
    expect(firstDone).toBe(false); // the one ahead is still running
    ahead.abort();
    expect((await first).finishReason).toBe('cancelled');
    // already stopped when queued: ends at once too
    const late = await engine.generate([8182, 473], validateSettings({ mode: 'ar', maxTokens: 5 }), { signal: AbortSignal.abort() });
    expect(late.finishReason).toBe('cancelled');
  });

  it('keeps the event loop free while generating', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await engine.generate([8182, 473], validateSettings({ mode: 'ar', maxTokens: 150, ignoreEos: true }));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(3);
  });

  it('stops at the context end with finish reason length', async () => {
    const small = await EngineService.load({ modelPath: engine.info.path, backend: 'cpu', threads: 2, nCtx: 24 });
    try {
      const r = await small.generate(loadGolden().chat_count!.prompt_ids, validateSettings({ mode: 'ar', maxTokens: 100, ignoreEos: true }));
      expect(r.finishReason).toBe('length');
      expect(r.ids.length).toBeLessThanOrEqual(24 - 18 + 1);
      const c = await small.generate(loadGolden().chat_count!.prompt_ids, validateSettings({ mode: 'clasp', skip: 10, maxTokens: 100, ignoreEos: true }));
      expect(c.finishReason).toBe('length');
      expect(c.ids).toEqual(r.ids);
      expect(() => small.encode({ promptIds: Array(30).fill(100) })).toThrow(/more than the model's context of 24/);
    } finally {
      small.dispose();
    }
  });

  it('keeps the KV cache in F16 when asked: half the bytes, and the trace config says so', async () => {
    expect(engine.info.kvType).toBe('f32');
    const f16 = await EngineService.load({ modelPath: engine.info.path, backend: 'cpu', threads: 2, kvType: 'f16' });
    try {
      expect(f16.info.kvType).toBe('f16');
      expect(f16.info.kvCacheBytes * 2).toBe(engine.info.kvCacheBytes);
      const settings = validateSettings({ mode: 'clasp', skip: 10, maxTokens: 24, ignoreEos: true });
      const r = await f16.generate(loadGolden().chat_count!.prompt_ids, settings);
      expect(r.stats.rounds).toBeGreaterThan(0);
      expect(buildTrace(f16.info, settings, r).config.kv_cache).toBe('f16');
    } finally {
      f16.dispose();
    }
    await expect(EngineService.load({ modelPath: engine.info.path, backend: 'cpu', kvType: 'q8' as 'f16' })).rejects.toThrow(/^kvType must be f32 or f16 \(got 'q8'\)$/);
  });

  it('gives clear errors for bad input', async () => {
    await expect(EngineService.load({ modelPath: '/no/such/model.gguf' })).rejects.toThrow(/no such file or directory/);
    expect(() => engine.encode({ promptIds: [1, 99999] })).toThrow(/not a token of this model/);
    expect(() => engine.encode({ promptIds: [] })).toThrow(/empty/);
    // Settings are checked once, where they come in (with the model's layer count for the skip count).
    expect(() => validateSettings({ temperature: -1 }, engine.info.nLayer)).toThrow(/temperature/);
    expect(() => validateSettings({ mode: 'fast' as never }, engine.info.nLayer)).toThrow(/mode must be ar, clasp or static/);
    expect(() => validateSettings({ skip: 40 }, engine.info.nLayer)).toThrow(/skip must be between 0 and 31/);
    expect(() => validateSettings({ topP: 0 }, engine.info.nLayer)).toThrow(/top-p/);
  });

  it('the addon refuses bad settings that got past validation (its last line of defence)', async () => {
    // A ValidSettings made by hand, as a buggy caller could: EngineService passes it on as it is.
    const unchecked = (bad: Partial<GenerateSettings>) => ({ ...DEFAULT_SETTINGS, ...bad }) as ValidSettings;
    await expect(engine.generate([1, 2], unchecked({ temperature: -1 }))).rejects.toThrow(/temperature/);
    await expect(engine.generate([1, 2], unchecked({ topP: 0 }))).rejects.toThrow(/topP/);
    await expect(engine.generate([1, 2], unchecked({ mode: 'clasp', skip: 40 }))).rejects.toThrow(/skip 40 must be below the layer count \(32\)/);
    // and the engine still serves the next request
    expect((await engine.generate([8182, 473], validateSettings({ mode: 'ar', maxTokens: 2, ignoreEos: true }))).ids).toHaveLength(2);
  });
});
