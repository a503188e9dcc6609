// `clasp bench`: every prompt in every mode, in one process, interleaved after a warm-up, so the
// speed-ups are ratios measured in the same run. Reports per mode and per category.
import * as fs from 'node:fs';
import type { GenerationStats, Mode } from '../shared/engineTypes';
import { EngineService } from '../services/EngineService';
import { validateSettings } from '../services/settings';
import { helpText, parseArgs, UsageError, type FlagSpec } from './args';
import { backendFlag, ctxFlag, MODEL_FLAGS, SAMPLING_FLAGS, settingsFromFlags, threadsFlag } from './common';

const SPEC: Record<string, FlagSpec> = {
  ...MODEL_FLAGS,
  prompts: { type: 'string', help: 'JSONL: {"id","category","prompt"|"chat"|"prompt_ids"} per line' },
  modes: { type: 'list', help: 'modes to compare', default: 'ar,clasp' },
  repeat: { type: 'int', help: 'passes over the prompt set (best time kept per prompt and mode)', default: '1' },
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

interface Agg { tokens: number; ms: number; rounds: number; drafted: number; accepted: number; dpMs: number; predicted: number; n: number; fallbacks: number }
const emptyAgg = (): Agg => ({ tokens: 0, ms: 0, rounds: 0, drafted: 0, accepted: 0, dpMs: 0, predicted: 0, n: 0, fallbacks: 0 });

function add(a: Agg, s: GenerationStats): void {
  a.tokens += s.n_generated;
  a.ms += s.decode_ms;
  a.rounds += s.rounds ?? 0;
  a.drafted += s.drafted ?? 0;
  a.accepted += s.accepted ?? 0;
  a.dpMs += s.dp_ms ?? 0;
  // The cost model's predicted time for this run, from its predicted speed-up and the run's own
  // tokens at the plain-decoding rate measured in the same process.
  a.predicted += s.cost_model_speedup ?? 0;
  a.n++;
  a.fallbacks += s.fallback ? 1 : 0;
}

function summarize(mode: Mode, a: Agg, ar: Agg | undefined) {
  const tps = a.ms > 0 ? a.tokens / (a.ms / 1000) : 0;
  const arTps = ar && ar.ms > 0 ? ar.tokens / (ar.ms / 1000) : 0;
  const o: Record<string, number | null> = { tokens_per_s: round(tps), tokens: a.tokens };
  if (mode !== 'ar') {
    o.speedup = arTps > 0 ? round(tps / arTps, 3) : null;
    o.mean_accepted_length = a.rounds > 0 ? round((a.accepted + a.rounds) / a.rounds, 3) : null;
    o.acceptance_rate = a.drafted > 0 ? round(a.accepted / a.drafted, 3) : null;
    o.dp_share = a.ms > 0 ? round(a.dpMs / a.ms, 4) : null;
    o.cost_model_speedup = a.n > 0 ? round(a.predicted / a.n, 3) : null;
    o.fallback_runs = a.fallbacks;
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
  if (!modes.includes('ar')) modes.unshift('ar'); // speed-ups are against ar, measured in this run
  let prompts = readPrompts(flags.prompts as string);
  if (flags.limit !== undefined) prompts = prompts.slice(0, Math.max(1, flags.limit as number));
  const repeat = Math.max(1, (flags.repeat as number | undefined) ?? 1);
  const json = flags.json === true;
  const log = (s: string) => process.stderr.write(s + '\n');

  const engine = await EngineService.load({ modelPath: flags.model as string | undefined, backend: backendFlag(flags), threads: threadsFlag(flags), nCtx: ctxFlag(flags) });
  try {
    const base = validateSettings({ ...settingsFromFlags(flags), mode: 'ar' }, engine.info.nLayer);
    const encoded = prompts.map((p) =>
      engine.encode(p.prompt_ids ? { promptIds: p.prompt_ids } : p.chat !== undefined ? { chat: p.chat } : { prompt: p.prompt ?? '' }),
    );
    // Warm-up: page in the weights, measure step costs, let the adaptive policy see the model.
    log(`[bench] ${engine.info.name} on ${engine.info.deviceInfo}: warming up`);
    for (const m of modes) await engine.generate(encoded[0]!, validateSettings({ ...base, mode: m, maxTokens: Math.min(32, base.maxTokens) }, engine.info.nLayer));

    const best = new Map<string, GenerationStats>(); // `${prompt}|${mode}` -> fastest run
    const outputs = new Map<string, string>();
    let identical = true;
    const total = prompts.length * modes.length * repeat;
    let done = 0;
    for (let rep = 0; rep < repeat; rep++) {
      for (let i = 0; i < prompts.length; i++) {
        for (const m of modes) {
          const s = validateSettings({ ...base, mode: m }, engine.info.nLayer);
          const r = await engine.generate(encoded[i]!, s);
          const key = `${i}|${m}`;
          const prev = best.get(key);
          if (!prev || r.stats.decode_ms < prev.decode_ms) best.set(key, r.stats);
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

    const byMode = new Map<Mode, Agg>();
    const byCat = new Map<string, Map<Mode, Agg>>();
    prompts.forEach((p, i) => {
      for (const m of modes) {
        const st = best.get(`${i}|${m}`)!;
        if (!byMode.has(m)) byMode.set(m, emptyAgg());
        add(byMode.get(m)!, st);
        if (!byCat.has(p.category)) byCat.set(p.category, new Map());
        const c = byCat.get(p.category)!;
        if (!c.has(m)) c.set(m, emptyAgg());
        add(c.get(m)!, st);
      }
    });
    const result = {
      model: engine.info.name,
      backend: engine.info.backend,
      device: engine.info.deviceInfo,
      threads: engine.info.deviceInfo.match(/(\d+) threads/)?.[1] ? Number(engine.info.deviceInfo.match(/(\d+) threads/)![1]) : null,
      max_tokens: base.maxTokens,
      prompts: prompts.length,
      identical: base.temperature === 0 ? identical : null,
      modes: Object.fromEntries(modes.map((m) => [m, summarize(m, byMode.get(m)!, byMode.get('ar'))])),
      categories: Object.fromEntries(
        [...byCat.entries()].map(([cat, mm]) => [cat, Object.fromEntries(modes.map((m) => [m, summarize(m, mm.get(m)!, mm.get('ar'))]))]),
      ),
    };
    if (json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      printTable(result.modes as Record<string, Record<string, number | null>>, 'all prompts');
      for (const [cat, mm] of Object.entries(result.categories)) printTable(mm as Record<string, Record<string, number | null>>, cat);
      console.log(`\ngreedy outputs identical across modes: ${result.identical === null ? 'n/a (sampling)' : result.identical ? 'yes' : 'NO'}`);
      console.log('mean accepted length = tokens per verify round (incl. the correction/bonus token); acceptance rate = accepted drafts / drafts');
    }
    return identical ? 0 : 1;
  } finally {
    engine.dispose();
  }
}

function printTable(modes: Record<string, Record<string, number | null>>, title: string): void {
  const f = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? '-' : v.toFixed(d));
  console.log(`\n${title}`);
  console.log('  mode     tok/s    speed-up  accepted-len  accept-rate  dp-share  model-speed-up');
  for (const [m, s] of Object.entries(modes)) {
    console.log(
      `  ${m.padEnd(7)} ${f(s.tokens_per_s, 1).padStart(7)}  ${f(s.speedup, 3).padStart(8)}  ${f(s.mean_accepted_length).padStart(12)}  ${f(s.acceptance_rate).padStart(11)}  ${f(s.dp_share, 3).padStart(8)}  ${f(s.cost_model_speedup, 3).padStart(14)}`,
    );
  }
}
