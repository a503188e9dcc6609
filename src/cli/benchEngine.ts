// `npm run bench` (clasp bench-engine): our engine against llama.cpp's own `llama-bench`, side by side in
// one run, on the same files and threads: prefill, decode, and the cost of verifying k = 4, 8, 12 tokens
// in one pass (in decode steps, and the 12-token pass in milliseconds: a faster decode step makes a
// verify cost more steps though it takes no longer), plus the machine's streaming read bandwidth.
// llama-bench and llama-quantize are built for this CPU from the llama.cpp source that node-llama-cpp
// ships (../shared/tools/llamacpp.sh, cached in ~/.cache/clasp-llamacpp). Besides the demo model, the
// runs use a random-weight model with Llama-3.2-1B's body, made once (F16, then Q8_0 and Q4_K_M by
// llama-quantize) under ~/.cache/clasp-bench: a real size, where speed is about memory bandwidth and
// kernels rather than per-token overhead. Those files are big and never go into the repository.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../services/native';
import { helpText, parseArgs, UsageError, type FlagSpec } from './args';

const SPEC: Record<string, FlagSpec> = {
  models: { type: 'list', help: 'GGUF files to measure (default: the demo model in F16, Q8_0, Q4_K_M, then the 1B-shape files)' },
  threads: { type: 'int', help: 'threads for both engines', default: '2' },
  'prompt-len': { type: 'int', help: 'prompt tokens for the prefill measurement', default: '64' },
  gen: { type: 'int', help: 'tokens decoded per run', default: '64' },
  reps: { type: 'int', help: 'runs per measurement (the best is kept)', default: '2' },
  'no-peer': { type: 'bool', help: 'skip llama.cpp' },
  'no-1b': { type: 'bool', help: 'skip the 1B-shape files (and making them)' },
  llamacpp: { type: 'string', help: 'folder of a llama.cpp build (build/bin/llama-bench; default: build it with llamacpp.sh)' },
  json: { type: 'bool', help: 'print one JSON object' },
  help: { type: 'bool', help: 'show this help' },
};

const VERIFY_KS = [4, 8, 12];

interface Side { prefill_tok_s: number; decode_tok_s: number; verify_steps: Record<string, number>; verify_ms: Record<string, number> }
interface Row { model: string; mb: number; ours?: Side; llamacpp?: Side; decode_ratio?: number; prefill_ratio?: number; decode_gb_s?: number }

function sharedDir(root: string): string {
  return process.env.CLASP_SHARED ?? path.resolve(root, '..', 'shared');
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 3_600_000, maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed: ${(r.stderr || r.stdout || String(r.error)).trim().slice(-400)}`);
  return r.stdout;
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

// The llama.cpp build folder: given, cached, or built now (about 10 minutes once).
function llamacppDir(root: string, given: string | undefined): string {
  if (given) return path.resolve(given);
  const script = path.join(sharedDir(root), 'tools', 'llamacpp.sh');
  if (!fs.existsSync(script)) throw new Error(`${script} not found: pass --llamacpp DIR or --no-peer`);
  process.stderr.write('[bench] llama.cpp: building or reusing the cached build (about 10 minutes the first time)\n');
  return run('bash', [script]).trim().split('\n').pop()!;
}

// The 1B-shape files, made on first use.
function oneBModels(root: string, llama: string): string[] {
  const dir = path.join(os.homedir(), '.cache', 'clasp-bench');
  fs.mkdirSync(dir, { recursive: true });
  const f16 = path.join(dir, 'random-1b-f16.gguf');
  if (!fs.existsSync(f16)) {
    process.stderr.write(`[bench] making ${f16} (random weights, Llama-3.2-1B shape)\n`);
    const shared = sharedDir(root);
    run('python3', [path.join(shared, 'tools', 'make-random-gguf.py'), path.join(shared, 'models', 'clasp-demo-29M.gguf'), f16 + '.part'],
      { PYTHONPATH: path.join(llama, 'src', 'gguf-py') });
    fs.renameSync(f16 + '.part', f16);
  }
  const out = [f16];
  for (const [q, name] of [['Q8_0', 'q8_0'], ['Q4_K_M', 'q4_k_m']] as const) {
    const f = path.join(dir, `random-1b-${name}.gguf`);
    if (!fs.existsSync(f)) {
      process.stderr.write(`[bench] quantizing to ${q} with llama-quantize\n`);
      run(path.join(llama, 'build', 'bin', 'llama-quantize'), [f16, f + '.part', q], { LD_LIBRARY_PATH: path.join(llama, 'build', 'bin') });
      fs.renameSync(f + '.part', f);
    }
    out.push(f);
  }
  return out;
}

function measureOurs(cli: string, model: string, threads: number, promptLen: number, gen: number): Side {
  const common = ['--threads', String(threads), '--prompt-len', String(promptLen)];
  const b = jsonLines(run(cli, ['bench', model, ...common, '--gen', String(gen)]))[0]!;
  const v = jsonLines(run(cli, ['verify-cost', model, ...common, '--reps', '8']));
  const steps: Record<string, number> = {}, ms: Record<string, number> = {};
  for (const k of VERIFY_KS) {
    const r = v.find((x) => x.k === k);
    steps[k] = Number(r?.vs_decode_best ?? NaN);
    ms[k] = Number(r?.best_ms ?? NaN);
  }
  return { prefill_tok_s: Number(b.prefill_tok_s), decode_tok_s: Number(b.decode_tok_s), verify_steps: steps, verify_ms: ms };
}

// llama-bench: pp<promptLen> and tg<gen>, and pp<k> for the verify cost: k tokens in one pass take
// k / pp_k seconds against 1 / tg for a decode step (llama-bench runs each batch on an empty context).
function measurePeer(llama: string, model: string, threads: number, promptLen: number, gen: number, reps: number): Side {
  const bin = path.join(llama, 'build', 'bin');
  const out = run(path.join(bin, 'llama-bench'), ['-m', model, '-t', String(threads), '-p', [promptLen, ...VERIFY_KS].join(','),
    '-n', String(gen), '-r', String(reps), '-o', 'json'], { LD_LIBRARY_PATH: bin });
  const rows = JSON.parse(out.slice(out.indexOf('['))) as { n_prompt: number; n_gen: number; avg_ts: number }[];
  const pp = (n: number) => rows.find((r) => r.n_prompt === n && r.n_gen === 0)?.avg_ts ?? NaN;
  const tg = rows.find((r) => r.n_gen === gen && r.n_prompt === 0)?.avg_ts ?? NaN;
  const steps: Record<string, number> = {}, ms: Record<string, number> = {};
  for (const k of VERIFY_KS) {
    steps[k] = (k / pp(k)) * tg;
    ms[k] = (k / pp(k)) * 1e3;
  }
  return { prefill_tok_s: pp(promptLen), decode_tok_s: tg, verify_steps: steps, verify_ms: ms };
}

export async function benchEngineCommand(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, SPEC, 'bench-engine');
  if (flags.help) {
    console.log(helpText('usage: clasp bench-engine [--models a.gguf,b.gguf] [--threads 2] [--no-peer] [--no-1b]', SPEC));
    return 0;
  }
  const root = repoRoot();
  const threads = (flags.threads as number | undefined) ?? 2;
  const promptLen = (flags['prompt-len'] as number | undefined) ?? 64;
  const gen = (flags.gen as number | undefined) ?? 64;
  const reps = (flags.reps as number | undefined) ?? 2;
  const cli = path.join(root, 'native', 'build', 'clasp-engine-cli');
  if (!fs.existsSync(cli)) throw new UsageError(`${cli} not found: run npm run build:native`);
  const llama = flags['no-peer'] && flags['no-1b'] ? '' : llamacppDir(root, flags.llamacpp as string | undefined);
  let models: string[];
  if (flags.models) models = String(flags.models).split(',').map((m) => path.resolve(m.trim()));
  else {
    const demo = path.join(sharedDir(root), 'models');
    models = ['clasp-demo-29M.gguf', 'clasp-demo-29M-q8_0.gguf', 'clasp-demo-29M-q4_k_m.gguf'].map((f) => path.join(demo, f));
    if (!flags['no-1b']) models.push(...oneBModels(root, llama));
  }
  for (const m of models) if (!fs.existsSync(m)) throw new UsageError(`${m}: no such file`);

  // The bandwidth probe runs before and after the models, and the better reading counts: on a shared
  // VM one reading alone came out below what a decode then read (12.0 GB/s against 17.7, docs/PERF.md).
  const probe = () => Number(jsonLines(run(cli, ['membw', '-', '--threads', String(threads)]))[0]!.read_gb_s);
  const bwStart = probe();
  const rows: Row[] = [];
  for (const m of models) {
    const row: Row = { model: path.basename(m), mb: fs.statSync(m).size / 1e6 };
    process.stderr.write(`[bench] ${row.model}: clasp engine\n`);
    row.ours = measureOurs(cli, m, threads, promptLen, gen);
    row.decode_gb_s = (row.mb / 1e3) * row.ours.decode_tok_s;
    if (!flags['no-peer']) {
      process.stderr.write(`[bench] ${row.model}: llama-bench\n`);
      row.llamacpp = measurePeer(llama, m, threads, promptLen, gen, reps);
      row.decode_ratio = row.ours.decode_tok_s / row.llamacpp.decode_tok_s;
      row.prefill_ratio = row.ours.prefill_tok_s / row.llamacpp.prefill_tok_s;
    }
    rows.push(row);
  }
  const bwEnd = probe();
  const bw = Math.max(bwStart, bwEnd);
  const result = { threads, prompt_len: promptLen, gen, read_gb_s: bw, read_gb_s_probes: [bwStart, bwEnd], rows };
  if (flags.json) {
    console.log(JSON.stringify(result));
    return 0;
  }
  const f = (x: number | undefined, d = 0) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const v = (s: Side | undefined) => VERIFY_KS.map((k) => f(s?.verify_steps[k], 2)).join('/');
  const k12 = VERIFY_KS[VERIFY_KS.length - 1]!;
  console.log(`\n${threads} threads, ${promptLen}-token prompt, ${gen} decoded tokens; streaming read bandwidth ${bw.toFixed(1)} GB/s ` +
    `(best of ${bwStart.toFixed(1)} before and ${bwEnd.toFixed(1)} after)`);
  console.log('  model                         MB   prefill tok/s ours | llama.cpp   decode tok/s ours | llama.cpp   ' +
    `verify ${VERIFY_KS.join('/')} in decode steps ours | llama.cpp   verify ${k12} ms ours | llama.cpp   decode GB/s (of bandwidth)`);
  for (const r of rows) {
    console.log(`  ${r.model.padEnd(28)} ${f(r.mb).padStart(5)}   ${f(r.ours?.prefill_tok_s).padStart(8)} | ${f(r.llamacpp?.prefill_tok_s).padStart(6)} ` +
      `(${f(r.prefill_ratio, 2)}x)   ${f(r.ours?.decode_tok_s).padStart(8)} | ${f(r.llamacpp?.decode_tok_s).padStart(6)} (${f(r.decode_ratio, 2)}x)   ` +
      `${v(r.ours).padStart(14)} | ${v(r.llamacpp).padEnd(14)}   ${f(r.ours?.verify_ms[k12], 1).padStart(8)} | ${f(r.llamacpp?.verify_ms[k12], 1).padEnd(8)}   ` +
      `${f(r.decode_gb_s, 1)} (${f(((r.decode_gb_s ?? NaN) / bw) * 100)}%)`);
  }
  return 0;
}
