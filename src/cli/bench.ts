// `clasp bench`: every prompt in every mode, in one process, interleaved after a warm-up, so the
// speed-ups are ratios measured in the same run. Reports per mode and per category.
import * as fs from 'node:fs';
import type { GenerationStats, Mode } from '../shared/engineTypes';
import { EngineService } from '../services/EngineService';
import { validateSettings } from '../services/settings';
import { helpText, parseArgs, UsageError, type FlagSpec } from './args';
import { backendFlag, ctxFlag, kvFlag, MODEL_FLAGS, SAMPLING_FLAGS, settingsFromFlags, threadsFlag } from './common';

const SPEC: Record<string, FlagSpec> = {
  ...MODEL_FLAGS,
  prompts: { type: 'string', help: 'JSONL: {"id","category","prompt"|"chat"|"prompt_ids"} per line' },
  modes: { type: 'list', help: 'modes to compare', default: 'ar,clasp' },
  repeat: { type: 'int', help: 'passes over the prompt set; speed-ups get a 95% interval over the passes', default: '1' },
  limit: { type: 'int', help: 'use only the first N prompts' },
  ...SAMPLING_FLAGS,
  json: { type: 'bool', help: 'print one JSON object to stdout' },
  help: { type: 'bool', help: 'show this help' },
};
const USAGE = 'usage: clasp bench [--model PATH] --prompts FILE.jsonl [--modes ar,clasp] [--max-tokens N] [options]';

export interface BenchPrompt { id: string; category: string; prompt?: string; chat?: string; prompt_ids?: number[] }

export function readPrompts(file: string): BenchPrompt[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file}: cannot read the prompts file`);
  }
  const out: BenchPrompt[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      throw new Error(`${file}:${i + 1}: not valid JSON`);
    }
    const p = o as Partial<BenchPrompt>;
    const forms = ['prompt', 'chat', 'prompt_ids'].filter((k) => (p as Record<string, unknown>)[k] !== undefined);
    if (typeof p !== 'object' || p === null || forms.length !== 1) {
      throw new Error(`${file}:${i + 1}: needs exactly one of "prompt", "chat" or "prompt_ids"`);
    }
    out.push({ ...p, id: String(p.id ?? `line${i + 1}`), category: String(p.category ?? 'all') });
  });
  if (out.length === 0) throw new Error(`${file}: no prompts`);
  return out;
}

export interface Agg { tokens: number; ms: number; rounds: number; drafted: number; accepted: number; dpMs: number; predicted: number; costed: number; nSpec: number; n: number; fallbacks: number }
export const emptyAgg = (): Agg => ({ tokens: 0, ms: 0, rounds: 0, drafted: 0, accepted: 0, dpMs: 0, predicted: 0, costed: 0, nSpec: 0, n: 0, fallbacks: 0 });

export function add(a: Agg, s: GenerationStats): void {
  a.tokens += s.n_generated;
  a.ms += s.decode_ms;
  a.rounds += s.rounds ?? 0;
  a.drafted += s.drafted ?? 0;
  a.accepted += s.accepted ?? 0;
  a.dpMs += s.dp_ms ?? 0;
  if (s.predicted_speedup != null && s.costed_speedup != null) {
    a.predicted += s.predicted_speedup;
    a.costed += s.costed_speedup;
    a.nSpec++;
  }
  a.n++;
  a.fallbacks += s.fallback ? 1 : 0;
}

const tps = (a: Agg) => (a.ms > 0 ? a.tokens / (a.ms / 1000) : 0);

/** Student's t for a two-sided 95% interval with n - 1 degrees of freedom. */
function t95(n: number): number {
  const t = [NaN, NaN, 12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26];
  return n < t.length ? t[n]! : n < 20 ? 2.1 : 1.96;
}

/**
 * One mode over a set of prompts. passes[r] holds pass r's runs (this mode and ar), so the speed-up
 * is a ratio of rates measured in the same pass; with several passes, its mean and 95% interval.
 */
export function summarize(mode: Mode, passes: { m: Agg; ar: Agg }[]) {
  const all = emptyAgg();
  for (const p of passes) {
    for (const k of Object.keys(all) as (keyof Agg)[]) all[k] += p.m[k];
  }
  const o: Record<string, number | number[] | null> = { tokens_per_s: round(tps(all)), tokens: all.tokens };
  if (mode !== 'ar') {
    const ratios = passes.map((p) => (tps(p.ar) > 0 ? tps(p.m) / tps(p.ar) : NaN)).filter(Number.isFinite);
    const mean = ratios.reduce((x, y) => x + y, 0) / Math.max(1, ratios.length);
    o.speedup = ratios.length ? round(mean, 3) : null;
    if (ratios.length >= 2) {
      const sd = Math.sqrt(ratios.reduce((x, r) => x + (r - mean) ** 2, 0) / (ratios.length - 1));
      const h = (t95(ratios.length) * sd) / Math.sqrt(ratios.length);
      o.speedup_interval = [round(mean - h, 3), round(mean + h, 3)];
    } else {
      o.speedup_interval = null;
    }
    o.mean_accepted_length = all.rounds > 0 ? round((all.accepted + all.rounds) / all.rounds, 3) : null;
    o.acceptance_rate = all.drafted > 0 ? round(all.accepted / all.drafted, 3) : null;
    o.dp_share = all.ms > 0 ? round(all.dpMs / all.ms, 4) : null;
    o.predicted_speedup = all.nSpec > 0 ? round(all.predicted / all.nSpec, 3) : null;
    o.costed_speedup = all.nSpec > 0 ? round(all.costed / all.nSpec, 3) : null;
    o.runs_with_plain_steps = all.fallbacks;
  }
  return o;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export async function benchCommand(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, SPEC, 'bench');
  if (flags.help) {
    console.log(helpText(USAGE, SPEC));
    return 0;
  }
  if (flags.prompts === undefined) throw new UsageError('--prompts FILE.jsonl is required');
  const modes = String(flags.modes ?? 'ar,clasp').split(',').map((m) => m.trim()) as Mode[];
  for (const m of modes) if (!['ar', 'clasp', 'static'].includes(m)) throw new UsageError(`--modes: unknown mode "${m}"`);
  if (flags['skip-layers'] !== undefined && !modes.includes('static')) throw new UsageError('--skip-layers is a static skip set: add static to --modes');
  if (!modes.includes('ar')) modes.unshift('ar'); // speed-ups are against ar, measured in this run
  let prompts = readPrompts(flags.prompts as string);
  if (flags.limit !== undefined) prompts = prompts.slice(0, Math.max(1, flags.limit as number));
  const repeat = Math.max(1, (flags.repeat as number | undefined) ?? 1);
  const json = flags.json === true;
  const log = (s: string) => process.stderr.write(s + '\n');

  const engine = await EngineService.load({ modelPath: flags.model as string | undefined, backend: backendFlag(flags), threads: threadsFlag(flags), nCtx: ctxFlag(flags), kvType: kvFlag(flags) });
  try {
    const { skipLayers, ...fromFlags } = settingsFromFlags(flags);
    const base = validateSettings({ ...fromFlags, mode: 'ar' }, engine.info.nLayer);
    // --skip-layers is a static skip set: it applies to the static runs only.
    const forMode = (m: string) => ({ ...base, mode: m as typeof base.mode, ...(m === 'static' && skipLayers ? { skipLayers } : {}) });
    const encoded = prompts.map((p) =>
      engine.encode(p.prompt_ids ? { promptIds: p.prompt_ids } : p.chat !== undefined ? { chat: p.chat } : { prompt: p.prompt ?? '' }),
    );
    // Warm-up: page in the weights, measure step costs, let the adaptive policy see the model.
    log(`[bench] ${engine.info.name} on ${engine.info.deviceInfo}: warming up`);
    for (const m of modes) await engine.generate(encoded[0]!, validateSettings({ ...forMode(m), maxTokens: Math.min(32, base.maxTokens) }, engine.info.nLayer));

    const runs = new Map<string, GenerationStats[]>(); // `${prompt}|${mode}` -> one run per pass
    const outputs = new Map<string, string>();
    let identical = true;
    const total = prompts.length * modes.length * repeat;
    let done = 0;
    for (let rep = 0; rep < repeat; rep++) {
      for (let i = 0; i < prompts.length; i++) {
        for (const m of modes) {
          const s = validateSettings(forMode(m), engine.info.nLayer);
          const r = await engine.generate(encoded[i]!, s);
          const key = `${i}|${m}`;
          if (!runs.has(key)) runs.set(key, []);
          runs.get(key)!.push(r.stats);
          const ids = r.ids.join(',');
          const ref = outputs.get(String(i));
          if (ref === undefined) outputs.set(String(i), ids);
          else if (base.temperature === 0 && ref !== ids) {
            identical = false;
            log(`[bench] outputs differ for prompt ${prompts[i]!.id} in mode ${m}`);
          }
          done++;
          if (!json) process.stderr.write(`\r[bench] ${done}/${total} runs`);
        }
      }
    }
    if (!json) process.stderr.write('\n');

    // Per pass, per group of prompts: each mode's runs and ar's, for ratios within one pass.
    const group = (idx: number[], m: Mode) =>
      Array.from({ length: repeat }, (_, rep) => {
        const a = emptyAgg(), ar = emptyAgg();
        for (const i of idx) {
          add(a, runs.get(`${i}|${m}`)![rep]!);
          add(ar, runs.get(`${i}|ar`)![rep]!);
        }
        return { m: a, ar };
      });
    const allIdx = prompts.map((_, i) => i);
    const cats = new Map<string, number[]>();
    prompts.forEach((p, i) => cats.set(p.category, [...(cats.get(p.category) ?? []), i]));
    const result = {
      model: engine.info.name,
      backend: engine.info.backend,
      device: engine.info.deviceInfo,
      threads: engine.info.deviceInfo.match(/(\d+) threads/)?.[1] ? Number(engine.info.deviceInfo.match(/(\d+) threads/)![1]) : null,
      max_tokens: base.maxTokens,
      prompts: prompts.length,
      repeat,
      identical: base.temperature === 0 ? identical : null,
      modes: Object.fromEntries(modes.map((m) => [m, summarize(m, group(allIdx, m))])),
      categories: Object.fromEntries([...cats.entries()].map(([cat, idx]) => [cat, Object.fromEntries(modes.map((m) => [m, summarize(m, group(idx, m))]))])),
    };
    if (json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      printTable(result.modes, 'all prompts');
      for (const [cat, mm] of Object.entries(result.categories)) printTable(mm, cat);
      console.log(`\ngreedy outputs identical across modes: ${result.identical === null ? 'n/a (sampling)' : result.identical ? 'yes' : 'NO'}`);
      console.log('speed-up = tok/s over ar tok/s in the same pass (mean, and 95% interval over passes); predicted = the policy at the reply start;');
      console.log('costed = the cost table priced on the work done; accepted-len = tokens per verify round; see docs/NUMBERS.md');
    }
    return identical ? 0 : 1;
  } finally {
    engine.dispose();
  }
}

function printTable(modes: Record<string, Record<string, number | number[] | null>>, title: string): void {
  const f = (v: number | number[] | null | undefined, d = 2) => (typeof v !== 'number' ? '-' : v.toFixed(d));
  const iv = (v: number | number[] | null | undefined) => (Array.isArray(v) ? `${v[0]!.toFixed(2)}-${v[1]!.toFixed(2)}` : '-');
  console.log(`\n${title}`);
  console.log('  mode     tok/s    speed-up  95% interval  accepted-len  accept-rate  dp-share  predicted  costed');
  for (const [m, s] of Object.entries(modes)) {
    console.log(
      `  ${m.padEnd(7)} ${f(s.tokens_per_s, 1).padStart(7)}  ${f(s.speedup, 3).padStart(8)}  ${iv(s.speedup_interval).padStart(12)}  ${f(s.mean_accepted_length).padStart(12)}  ${f(s.acceptance_rate).padStart(11)}  ${f(s.dp_share, 3).padStart(8)}  ${f(s.predicted_speedup, 3).padStart(9)}  ${f(s.costed_speedup, 3).padStart(6)}`,
    );
  }
}
