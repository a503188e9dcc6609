// Traces: built from a real CLaSp run, valid against the schema, and round-tripped through the
// exports; hostile or malformed files are refused with a clear error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineService } from '../../src/services/EngineService';
import { validateSettings } from '../../src/services/settings';
import { buildTrace, toCsv, toSpecBench } from '../../src/services/traceBuilder';
import { parseTrace, TraceError, type Trace } from '../../src/shared/trace';
import { loadDemo } from './helpers/engine';
import { loadGolden } from './helpers/paths';

let engine: EngineService;
let trace: Trace;
beforeAll(async () => {
  engine = await loadDemo();
  const settings = validateSettings({ mode: 'clasp', skip: 12, loi: 2, maxTokens: 48, ignoreEos: true, dpTable: true }, 32);
  const r = await engine.generate(loadGolden().chat_count!.prompt_ids, settings);
  trace = buildTrace(engine.info, settings, r);
});
afterAll(() => engine?.dispose());

describe('clasp-trace', () => {
  it('records every round, the DP with its table, and the summary', () => {
    expect(trace.format).toBe('clasp-trace');
    expect(trace.rounds.length).toBe(trace.summary.rounds);
    expect(trace.rounds.length).toBeGreaterThan(3);
    const withDp = trace.rounds.filter((r) => r.dp);
    expect(withDp.length).toBeGreaterThan(0);
    const dp = withDp[0]!.dp!;
    expect(dp.path_cosine).toHaveLength(33);
    expect(dp.path_cosine[0]).toBe(1);
    expect(dp.layer_cosine[0]).toBeNull();
    expect(dp.table).toHaveLength(33);
    expect(dp.table![0]![1]).toBeNull(); // j > i
    for (const r of trace.rounds) expect(r.skip).toHaveLength(12);
    // the decision that started the reply, with its reason and the cost table behind it
    expect(trace.decisions?.[0]).toMatchObject({ speculate: true, M: 12, reason: expect.stringMatching(/^M=12 as set/) });
    expect(trace.summary.costs?.verify_ms.length).toBeGreaterThan(12);
    expect(trace.rounds.every((r) => r.stop !== undefined && r.det !== undefined)).toBe(true);
    const produced = 1 + trace.rounds.reduce((s, r) => s + r.verify.accepted + 1, 0);
    expect(produced).toBeGreaterThanOrEqual(trace.summary.n_generated);
  });

  it('round-trips through JSON export and import', () => {
    const back = parseTrace(JSON.stringify(trace));
    expect(back).toEqual(trace);
  });

  it('exports Spec-Bench answer JSONL and CSV', () => {
    const line = JSON.parse(toSpecBench([{ id: 'q1', category: 'count', trace }]).trim()) as {
      choices: { accept_lengths: number[]; new_tokens: number[]; wall_time: number[] }[];
    };
    const c = line.choices[0]!;
    // the first token (from the prefill), then one entry per round: every token counted
    expect(c.accept_lengths).toHaveLength(1 + trace.rounds.length);
    expect(c.accept_lengths.every((x) => x >= 1)).toBe(true);
    expect(c.accept_lengths.reduce((a, b) => a + b, 0)).toBe(trace.summary.n_generated);
    expect(c.new_tokens[0]).toBe(trace.summary.n_generated);
    expect(c.wall_time[0]).toBeGreaterThan(0);
    const csv = toCsv(trace).trim().split('\n');
    expect(csv).toHaveLength(trace.rounds.length + 1);
    expect(csv[0]).toMatch(/^kind,round,pos,tokens,n_skip/);
    expect(1 + csv.slice(1).reduce((a, r) => a + Number(r.split(',')[3]), 0)).toBe(trace.summary.n_generated);
  });

  it('refuses malformed and hostile files with a clear error', () => {
    expect(() => parseTrace('{not json')).toThrow(/not valid JSON/);
    expect(() => parseTrace('{"format":"other"}')).toThrow(/not a clasp-trace document/);
    const bad = (mut: (t: Record<string, unknown>) => void, re: RegExp) => {
      const t = JSON.parse(JSON.stringify(trace)) as Record<string, unknown>;
      mut(t);
      expect(() => parseTrace(JSON.stringify(t), 'x.json')).toThrow(re);
    };
    bad((t) => { t.version = 2; }, /version/);
    bad((t) => { (t.rounds as { skip: number[] }[])[0]!.skip = [99]; }, /layer index/);
    bad((t) => { (t.rounds as { verify: { accepted: number } }[])[0]!.verify.accepted = 200; }, /accepted/);
    bad((t) => { (t.rounds as { dp: unknown }[]).find((r) => r.dp)!.dp = { target_pos: 1, ms: 1, path_cosine: [1], layer_cosine: [null] }; }, /n_layer \+ 1/);
    bad((t) => { (t.model as { n_layer: number }).n_layer = 1e9; }, /n_layer/);
    bad((t) => { t.rounds = 'x'; }, /rounds/);
    expect(() => parseTrace(JSON.stringify(trace), 'x')).not.toThrow();
    expect(TraceError).toBeDefined();
  });
});
