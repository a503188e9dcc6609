// `clasp trace export|validate|show`: the trace file tools.
import * as fs from 'node:fs';
import { parseTrace, type Trace } from '../shared/trace';
import { toCsv, toSpecBench } from '../services/traceBuilder';
import { helpText, parseArgs, UsageError, type FlagSpec } from './args';

const SPEC: Record<string, FlagSpec> = {
  format: { type: 'string', help: 'export format: specbench, csv or json', default: 'json' },
  o: { type: 'string', help: 'output file', default: 'stdout' },
  help: { type: 'bool', help: 'show this help' },
};
const USAGE = `usage: clasp trace export FILE.json --format specbench|csv|json [--o OUT]
       clasp trace validate FILE.json
       clasp trace show FILE.json`;

function readTrace(file: string): Trace {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseTrace(text, file);
}

export function summarize(t: Trace): string {
  const s = t.summary;
  const lines = [
    `${t.model.name} (${t.model.n_layer} layers), mode ${t.config.mode}, backend ${t.config.backend}`,
    `prompt ${s.n_prompt} tokens, generated ${s.n_generated} at ${s.tokens_per_s.toFixed(1)} tok/s`,
  ];
  if (t.rounds.length > 0) {
    const skipCounts = new Map<number, number>();
    for (const r of t.rounds) for (const l of r.skip) skipCounts.set(l, (skipCounts.get(l) ?? 0) + 1);
    const most = [...skipCounts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([l]) => l);
    lines.push(
      `${t.rounds.length} rounds, mean accepted length ${(s.mean_accepted_length ?? 0).toFixed(2)} (tokens per round), ` +
        `acceptance rate ${((s.acceptance_rate ?? 0) * 100).toFixed(1)}% (accepted drafts / drafts)`,
      `${s.dp_runs ?? 0} DP runs, ${(s.dp_ms ?? 0).toFixed(1)} ms in all; most often skipped layers: ${most.join(', ')}`,
    );
  }
  const plain = (t.plain ?? []).reduce((n, p) => n + p.n, 0);
  if (plain > 0) lines.push(`${plain} tokens decoded plainly in ${t.plain!.length} stretches`);
  for (const d of t.decisions ?? []) lines.push(`at position ${d.pos}: ${d.reason}`);
  if (s.speedup != null) lines.push(`${s.speedup.toFixed(2)}x plain decoding on this machine (predicted ${(s.predicted_speedup ?? 1).toFixed(2)}x)`);
  return lines.join('\n');
}

export async function traceCommand(argv: string[]): Promise<number> {
  const { flags, positional } = parseArgs(argv, SPEC, 'trace');
  if (flags.help || positional.length === 0) {
    console.log(helpText(USAGE, SPEC));
    return flags.help ? 0 : 2;
  }
  const [sub, file, ...extra] = positional;
  if (!file) throw new UsageError(`clasp trace ${sub} needs a FILE.json`);
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const t = readTrace(file);
  if (sub === 'validate') {
    console.log(`${file}: valid clasp-trace v1 (${t.rounds.length} rounds)`);
    return 0;
  }
  if (sub === 'show') {
    console.log(summarize(t));
    return 0;
  }
  if (sub !== 'export') throw new UsageError(`unknown trace command "${sub}" (export, validate or show)`);
  const fmt = (flags.format as string | undefined) ?? 'json';
  let out: string;
  if (fmt === 'specbench') out = toSpecBench([{ id: file, trace: t }]);
  else if (fmt === 'csv') out = toCsv(t);
  else if (fmt === 'json') out = JSON.stringify(t, null, 1) + '\n';
  else throw new UsageError(`--format must be specbench, csv or json (got "${fmt}")`);
  if (flags.o !== undefined) fs.writeFileSync(flags.o as string, out);
  else process.stdout.write(out);
  return 0;
}
