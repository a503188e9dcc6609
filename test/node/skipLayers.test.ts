// A given skip set (the layer lab's "re-run with this set", `clasp generate --skip-layers`, the API's
// clasp.skip_layers): parsed and checked the same way at every front door, refused with one line
// when bad, and lossless: greedy output equals plain greedy, drafting happens, and every round's
// skip set is exactly the given one.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateCommand } from '../../src/cli/generate';
import { UsageError } from '../../src/cli/args';
import type { EngineService } from '../../src/services/EngineService';
import { SettingsError, validateSettings } from '../../src/services/settings';
import { buildTrace } from '../../src/services/traceBuilder';
import { formatSkipLayers, parseSkipLayers, skipLayersProblem } from '../../src/shared/skipLayers';
import { validateTrace } from '../../src/shared/trace';
import { DEMO_Q8, loadDemo } from './helpers/engine';
import { loadGolden } from './helpers/paths';
import { expectOpenAiError, postJson, startServer, type TestServer } from './server.harness';

describe('skip lists: parse, format, check', () => {
  it('parses indices and ranges, and formats them back', () => {
    expect(parseSkipLayers('3,5,7-9')).toEqual([3, 5, 7, 8, 9]);
    expect(parseSkipLayers(' 12 , 4 - 6 ')).toEqual([12, 4, 5, 6]);
    expect(formatSkipLayers([9, 3, 7, 8, 5])).toBe('3,5,7-9');
    expect(formatSkipLayers([1, 2, 10])).toBe('1,2,10');
    expect(formatSkipLayers([0])).toBe('0');
    for (const t of ['3,5,7-9', '0', '1,2,10-12,30']) expect(formatSkipLayers(parseSkipLayers(t))).toBe(t);
  });

  it('refuses text that is not a list of layers, in one line', () => {
    for (const [text, says] of [
      ['', 'is not a layer index'],
      ['3,,4', '"" is not a layer index'],
      ['a', '"a" is not'],
      ['-1', '"-1" is not'],
      ['9-7', 'runs backwards'],
      ['3.5', '"3.5" is not'],
      ['0-5000', 'layer 5000 is out of range'],
      ['1,2,33333', '"33333" is not'],
      ['1024', 'out of range'],
    ] as const) {
      expect(() => parseSkipLayers(text), text).toThrow(says);
      try {
        parseSkipLayers(text);
      } catch (e) {
        expect((e as Error).message).not.toContain('\n');
      }
    }
  });

  it('checks a list against the model', () => {
    expect(skipLayersProblem([3, 5, 7], 32)).toBeNull();
    expect(skipLayersProblem([], 32)).toMatch(/at least one/);
    expect(skipLayersProblem([3, 32], 32)).toBe('skip layers: layer 32 is out of range (the model has layers 0 to 31)');
    expect(skipLayersProblem([4, 4], 32)).toMatch(/layer 4 is listed twice/);
    expect(skipLayersProblem([1.5], 32)).toMatch(/out of range/);
    expect(skipLayersProblem(Array.from({ length: 32 }, (_, i) => i), 32)).toMatch(/at most 31 of the 32 layers/);
    expect(skipLayersProblem([900])).toBeNull(); // no model known: only the global bound
  });

  it('validateSettings takes a list only as static skipping with nothing else setting M', () => {
    const ok = validateSettings({ mode: 'static', skipLayers: [3, 5] }, 32);
    expect(ok.skipLayers).toEqual([3, 5]);
    const bad: [object, RegExp][] = [
      [{ mode: 'clasp', skipLayers: [3] }, /need mode static.*not clasp/],
      [{ mode: 'ar', skipLayers: [3] }, /need mode static/],
      [{ mode: 'static', skip: 4, skipLayers: [3] }, /leave skip and skip ratio unset/],
      [{ mode: 'static', skipRatio: 0.25, skipLayers: [3] }, /leave skip and skip ratio unset/],
      [{ mode: 'static', skipLayers: [3, 40] }, /layer 40 is out of range/],
      [{ mode: 'static', skipLayers: [2, 2] }, /listed twice/],
      [{ mode: 'static', skipLayers: [] }, /at least one/],
      [{ mode: 'static', skipLayers: ['3'] }, /list of layer indices/],
    ];
    for (const [s, says] of bad) expect(() => validateSettings(s, 32), JSON.stringify(s)).toThrow(says);
    expect(() => validateSettings({ mode: 'clasp', skipLayers: [3] }, 32)).toThrow(SettingsError);
  });
});

describe('a given skip set on the demo model', () => {
  let engine: EngineService;
  beforeAll(async () => {
    engine = await loadDemo();
  });
  afterAll(() => engine?.dispose());

  it('is lossless, drafts, and uses exactly the given set in every round; its trace says so', async () => {
    const base = { maxTokens: 48, ignoreEos: true, temperature: 0 };
    for (const g of [loadGolden().chat_count!, loadGolden().chat_fortune!]) {
      const ar = await engine.generate(g.prompt_ids, validateSettings({ ...base, mode: 'ar' }));
      for (const list of [[31], [9, 3, 7, 8, 5], [12, 16, 20, 24, 28, 30, 31]]) {
        const s = validateSettings({ ...base, mode: 'static', skipLayers: list }, engine.info.nLayer);
        const r = await engine.generate(g.prompt_ids, s);
        const sorted = [...list].sort((a, b) => a - b);
        expect(r.ids, `set ${list}`).toEqual(ar.ids);
        expect(r.stats.rounds).toBeGreaterThan(0);
        expect(r.stats.drafted).toBeGreaterThan(0);
        expect(r.stats.policy).toBe('given');
        expect(r.stats.dp_runs).toBe(0);
        expect(r.stats.final_M).toBe(list.length);
        expect(r.rounds.length).toBe(r.stats.rounds);
        for (const round of r.rounds) expect(round.skip).toEqual(sorted);
        expect(r.rounds[0]!.dp).toMatchObject({ given: true, M: list.length, target_pos: g.prompt_ids.length - 1 });
        expect(r.rounds.slice(1).every((x) => x.dp === null)).toBe(true);
        const t = buildTrace(engine.info, s, r);
        expect(t.config).toMatchObject({ mode: 'static', skip: list.length, skip_layers: sorted });
        expect(validateTrace(JSON.parse(JSON.stringify(t))).config.skip_layers).toEqual(sorted);
      }
    }
  }, 120_000);
});

describe('clasp generate --skip-layers', () => {
  afterEach(() => vi.restoreAllMocks());
  async function run(args: string[]): Promise<string> {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await generateCommand(['--model', DEMO_Q8, '--threads', '2', ...args])).toBe(0);
    vi.restoreAllMocks();
    return out;
  }

  it('runs static skipping with the set, giving plain greedy output', async () => {
    const ids = loadGolden().chat_count!.prompt_ids.join(',');
    const common = ['--prompt-ids', ids, '--max-tokens', '24', '--ignore-eos', '--json'];
    const ar = JSON.parse(await run(common));
    const given = JSON.parse(await run([...common, '--skip-layers', '3,5,7-9']));
    expect(given.ids).toEqual(ar.ids);
    expect(given.stats).toMatchObject({ mode: 'static', policy: 'given', final_M: 5, dp_runs: 0 });
    expect(given.stats.drafted).toBeGreaterThan(0);
  }, 60_000);

  it('refuses bad lists and clashing flags in one line', async () => {
    const ids = ['--prompt-ids', '1,2,3'];
    await expect(generateCommand([...ids, '--skip-layers', '3,x'])).rejects.toThrow(/^--skip-layers: "x" is not a layer index/);
    await expect(generateCommand([...ids, '--skip-layers', '3', '--skip', '4'])).rejects.toThrow(UsageError);
    await expect(generateCommand([...ids, '--skip-layers', '3', '--skip-ratio', '0.5'])).rejects.toThrow(/leave out --skip and --skip-ratio/);
    await expect(generateCommand(['--model', DEMO_Q8, '--threads', '2', ...ids, '--skip-layers', '3', '--mode', 'clasp'])).rejects.toThrow(/need mode static/);
    await expect(generateCommand(['--model', DEMO_Q8, '--threads', '2', ...ids, '--skip-layers', '3,32'])).rejects.toThrow(/layer 32 is out of range \(the model has layers 0 to 31\)/);
  }, 60_000);
});

describe('the API: clasp.skip_layers', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startServer();
  });
  afterAll(() => ts?.close());
  const COUNT = [{ role: 'user', content: 'Count from 12 to 30.' }];

  it('runs the given set (static by default) and reports it', async () => {
    const body = { messages: COUNT, temperature: 0, max_tokens: 24 };
    const ar = await postJson(ts.port, '/v1/chat/completions', { ...body, clasp: { mode: 'ar' } });
    const r = await postJson(ts.port, '/v1/chat/completions', { ...body, clasp: { skip_layers: [20, 24, 28], trace: true } });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.content).toBe(ar.json.choices[0].message.content);
    expect(r.json.clasp.settings).toMatchObject({ mode: 'static', skip_layers: [20, 24, 28] });
    expect(r.json.clasp.stats).toMatchObject({ policy: 'given', final_M: 3 });
    expect(r.json.clasp.rounds.length).toBeGreaterThan(0);
    for (const round of r.json.clasp.rounds) expect(round.skip).toEqual([20, 24, 28]);
  }, 60_000);

  it('refuses bad lists with a 400 naming clasp.skip_layers', async () => {
    const body = { messages: COUNT, max_tokens: 4 };
    for (const [clasp, says] of [
      [{ skip_layers: [3, 99] }, 'layer 99 is out of range'],
      [{ skip_layers: [3, 3] }, 'listed twice'],
      [{ skip_layers: Array.from({ length: 32 }, (_, i) => i) }, 'at most 31'],
      [{ skip_layers: [3], mode: 'clasp' }, 'need mode static'],
      [{ skip_layers: [3], skip: 2 }, 'leave out clasp.skip'],
      [{ skip_layers: [] }, ''],
      [{ skip_layers: [1.5] }, ''],
    ] as const) {
      const r = await postJson(ts.port, '/v1/chat/completions', { ...body, clasp });
      expectOpenAiError(r, 400);
      expect(r.json.error.message, JSON.stringify(clasp)).toContain(says);
      expect(r.json.error.param).toMatch(/^clasp/);
    }
  }, 60_000);
});
