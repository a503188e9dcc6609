// `npm run bench` (clasp bench-engine): raw engine speed on the demo model's F16 and Q8_0 GGUF files
// with a fixed thread count, next to llama.cpp measured in the same run on the same files and
// threads (node-llama-cpp's prebuilt binary from bench/, which CI does not install).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineService } from '../services/EngineService';
import { repoRoot } from '../services/native';
import { validateSettings } from '../services/settings';
import { helpText, parseArgs, type FlagSpec } from './args';

const SPEC: Record<string, FlagSpec> = {
  models: { type: 'list', help: 'GGUF files to measure', default: '../shared/models/clasp-demo-29M.gguf,../shared/models/clasp-demo-29M-q8_0.gguf' },
  threads: { type: 'int', help: 'threads for both engines', default: '2' },
  'prompt-len': { type: 'int', help: 'prompt tokens for the prefill measurement', default: '64' },
  gen: { type: 'int', help: 'tokens decoded per run', default: '64' },
  reps: { type: 'int', help: 'runs per measurement (the best is kept)', default: '3' },
  'no-peer': { type: 'bool', help: 'skip llama.cpp' },
  json: { type: 'bool', help: 'print one JSON object' },
  help: { type: 'bool', help: 'show this help' },
};

interface Row { engine: string; model: string; prefill_tok_s: number; decode_tok_s: number; rss_mb: number }

async function measureOurs(model: string, threads: number, promptLen: number, gen: number, reps: number): Promise<Row> {
  const engine = await EngineService.load({ modelPath: model, backend: 'cpu', threads });
  try {
    const prompt = Array.from({ length: promptLen }, (_, k) => (k * 37 + 11) % engine.info.nVocab);
    const settings = validateSettings({ mode: 'ar', maxTokens: gen, ignoreEos: true, temperature: 0 }, engine.info.nLayer);
    engine.resetCache();
    await engine.generate(prompt, settings); // warm-up: pages in the weights
    let prefill = 0;
    let decode = 0;
    for (let i = 0; i < reps; i++) {
      engine.resetCache();
      const r = await engine.generate(prompt, settings);
      prefill = Math.max(prefill, promptLen / (r.stats.prefill_ms / 1000));
      // decode: tokens after the first, over the time of their forward passes
      decode = Math.max(decode, r.stats.tokens_per_s);
    }
    return { engine: 'clasp', model: path.basename(model), prefill_tok_s: prefill, decode_tok_s: decode, rss_mb: process.memoryUsage().rss / 1e6 };
  } finally {
    engine.dispose();
  }
}

function measurePeer(model: string, threads: number, promptLen: number, gen: number): Row | { error: string } {
  const script = path.join(repoRoot(), 'bench', 'llamacpp.mjs');
  if (!fs.existsSync(path.join(repoRoot(), 'bench', 'node_modules', 'node-llama-cpp'))) {
    return { error: 'llama.cpp not installed: run `cd bench && npm install`' };
  }
  const r = spawnSync(process.execPath, [script, model, String(threads), String(promptLen), String(gen)], { encoding: 'utf8', timeout: 600_000 });
  const line = (r.stdout || '').trim().split('\n').pop() ?? '';
  try {
    const j = JSON.parse(line) as { prefill_tok_s: number; decode_tok_s: number; rss_mb: number; version: string };
    return { engine: `llama.cpp (node-llama-cpp ${j.version})`, model: path.basename(model), prefill_tok_s: j.prefill_tok_s, decode_tok_s: j.decode_tok_s, rss_mb: j.rss_mb };
  } catch {
    return { error: `llama.cpp run failed: ${(r.stderr || r.stdout || '').slice(-400)}` };
  }
}

export async function benchEngineCommand(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, SPEC, 'bench-engine');
  if (flags.help) {
    console.log(helpText('usage: clasp bench-engine [--models a.gguf,b.gguf] [--threads 2]', SPEC));
    return 0;
  }
  const root = repoRoot();
  const models = String(flags.models ?? SPEC.models!.default).split(',').map((m) => path.resolve(root, m.trim()));
  const threads = (flags.threads as number | undefined) ?? 2;
  const promptLen = (flags['prompt-len'] as number | undefined) ?? 64;
  const gen = (flags.gen as number | undefined) ?? 64;
  const reps = (flags.reps as number | undefined) ?? 3;
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const m of models) {
    process.stderr.write(`[bench] ${path.basename(m)}: clasp engine\n`);
    rows.push(await measureOurs(m, threads, promptLen, gen, reps));
    if (!flags['no-peer']) {
      process.stderr.write(`[bench] ${path.basename(m)}: llama.cpp\n`);
      const p = measurePeer(m, threads, promptLen, gen);
      if ('error' in p) notes.push(p.error);
      else rows.push(p);
    }
  }
  const ratios = models.map((m) => {
    const name = path.basename(m);
    const ours = rows.find((r) => r.model === name && r.engine === 'clasp');
    const peer = rows.find((r) => r.model === name && r.engine !== 'clasp');
    return {
      model: name,
      decode_ratio: ours && peer ? ours.decode_tok_s / peer.decode_tok_s : null,
      prefill_ratio: ours && peer ? ours.prefill_tok_s / peer.prefill_tok_s : null,
    };
  });
  const result = { threads, prompt_len: promptLen, gen, rows, ratios, notes };
  if (flags.json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`\nthreads ${threads}, ${promptLen}-token prompt, ${gen} decoded tokens, best of ${reps}`);
    console.log('  engine                              model                          prefill tok/s  decode tok/s   RSS MB');
    for (const r of rows) {
      console.log(`  ${r.engine.padEnd(35)} ${r.model.padEnd(30)} ${r.prefill_tok_s.toFixed(0).padStart(13)} ${r.decode_tok_s.toFixed(0).padStart(13)} ${r.rss_mb.toFixed(0).padStart(8)}`);
    }
    for (const r of ratios) {
      if (r.decode_ratio !== null) console.log(`  ${r.model}: decode ${r.decode_ratio.toFixed(2)}x llama.cpp, prefill ${r.prefill_ratio!.toFixed(2)}x`);
    }
    for (const n of notes) console.log(`  note: ${n}`);
  }
  return 0;
}
