#!/usr/bin/env node
// The LOI x M x DET sweep behind CLaSp's defaults (docs/PERF.md): every setting over the same
// benchmark prompts, greedy, with plain decoding (ar) measured in the same block so the speed-up
// is a ratio taken under the same machine load. Writes docs/perf/sweep.json; scripts/plot-sweep.js
// draws it. Needs `npm run build:node`.
//   node scripts/sweep-clasp.js [--prompts FILE] [--limit 8] [--max-tokens 64] [--threads 2] [--M 4,8,12,16] [--det 0.3,0.6,0.9]
//                               [--loi 1,4,16,64] [--out docs/perf/sweep.json]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { EngineService } = require('../dist/services/EngineService');
const { readPrompts } = require('../dist/cli/bench');
const { validateSettings } = require('../dist/services/settings');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const root = path.resolve(__dirname, '..');
const promptsFile = args.prompts ?? path.resolve(root, '../shared/bench/prompts.jsonl');
const limit = Number(args.limit ?? 8);
const maxTokens = Number(args['max-tokens'] ?? 64);
const out = args.out ?? path.join(root, 'docs/perf/sweep.json');
const list = (v, def) => (v ? v.split(',').map(Number) : def);
const Ms = list(args.M, [4, 8, 12, 16]);
const DETs = list(args.det, [0.3, 0.6, 0.9]);
const LOIs = list(args.loi, [1, 4, 16, 64]);

async function main() {
  const engine = await EngineService.load({ threads: Number(args.threads ?? 2), backend: 'cpu' });
  const prompts = readPrompts(promptsFile).slice(0, limit);
  const ids = prompts.map((p) => engine.encode(p.prompt_ids ? { promptIds: p.prompt_ids } : p.chat !== undefined ? { chat: p.chat } : { prompt: p.prompt }));
  const base = { maxTokens, temperature: 0, ignoreEos: true };
  // Plain decoding and the setting alternate prompt by prompt, so both see the same load.
  const pair = async (extra) => {
    const acc = () => ({ tokens: 0, ms: 0, rounds: 0, drafted: 0, accepted: 0, dpMs: 0, costed: 0, measured: 0, n: 0 });
    const a = acc(), b = acc();
    const note = (x, st) => {
      x.tokens += st.n_generated; x.ms += st.decode_ms; x.rounds += st.rounds ?? 0; x.drafted += st.drafted ?? 0;
      x.accepted += st.accepted ?? 0; x.dpMs += st.dp_ms ?? 0;
      if (st.costed_speedup != null) { x.costed += st.costed_speedup; x.measured += st.speedup ?? 0; x.n++; }
    };
    for (const p of ids) {
      note(a, (await engine.generate(p, validateSettings({ ...base, mode: 'ar' }, engine.info.nLayer))).stats);
      note(b, (await engine.generate(p, validateSettings({ ...base, ...extra }, engine.info.nLayer))).stats);
    }
    return { ar: a, b };
  };
  await pair({ mode: 'clasp', skip: 8 }); // warm-up; measures the cost table
  const rows = [];
  const run = async (label, extra) => {
    const { ar, b } = await pair(extra);
    const tps = (x) => x.tokens / (x.ms / 1000);
    const row = {
      label, ...extra,
      speedup: tps(b) / tps(ar),
      mean_accepted_length: b.rounds ? (b.accepted + b.rounds) / b.rounds : null,
      acceptance_rate: b.drafted ? b.accepted / b.drafted : null,
      dp_share: b.dpMs / b.ms,
      costed_speedup: b.n ? b.costed / b.n : null,
      engine_speedup: b.n ? b.measured / b.n : null,
    };
    rows.push(row);
    process.stderr.write(`${label}: ${row.speedup.toFixed(3)}x (vs the cost table ${row.engine_speedup?.toFixed(3)}, costed ${row.costed_speedup?.toFixed(3)}), ` +
      `accepted length ${row.mean_accepted_length?.toFixed(2)}, DP share ${(100 * row.dp_share).toFixed(1)}%\n`);
  };
  await run('auto', { mode: 'clasp' });
  for (const M of Ms) for (const det of DETs) for (const loi of LOIs) await run(`M=${M} DET=${det} LOI=${loi}`, { mode: 'clasp', skip: M, det, loi });
  for (const M of Ms) await run(`static M=${M}`, { mode: 'static', skip: M });
  await run('auto (again, after the sweep)', { mode: 'clasp' });
  const costs = (await engine.generate(ids[0], validateSettings({ ...base, mode: 'clasp', maxTokens: 2 }, engine.info.nLayer))).stats.costs;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify({
    model: engine.info.name, device: engine.info.deviceInfo, date: new Date().toISOString(), prompts: prompts.map((p) => p.id), max_tokens: maxTokens,
    grid: { M: Ms, det: DETs, loi: LOIs }, costs, rows,
  }, null, 1) + '\n');
  engine.dispose();
  process.stderr.write(`wrote ${out}\n`);
}
main().catch((e) => { console.error(e); process.exit(1); });
