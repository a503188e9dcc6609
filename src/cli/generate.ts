// `clasp generate`: one prompt, streamed to stdout, stats to stderr (or one JSON object with --json).
import * as fs from 'node:fs';
import { EngineService } from '../services/EngineService';
import { validateSettings } from '../services/settings';
import { buildTrace } from '../services/traceBuilder';
import { helpText, parseArgs, UsageError, type FlagSpec } from './args';
import { backendFlag, ctxFlag, defaultPolicyDir, kvFlag, MODEL_FLAGS, POLICY_FLAGS, policyDirFlag, SAMPLING_FLAGS, settingsFromFlags, threadsFlag } from './common';

const SPEC: Record<string, FlagSpec> = {
  ...MODEL_FLAGS,
  ...POLICY_FLAGS,
  prompt: { type: 'string', help: 'text, tokenized as given (special tokens like <|eot_id|> are parsed)' },
  chat: { type: 'string', help: "one user turn through the model's chat template" },
  system: { type: 'string', help: 'a system prompt for --chat' },
  'prompt-ids': { type: 'list', help: 'exact token ids, comma-separated' },
  ...SAMPLING_FLAGS,
  trace: { type: 'string', help: 'write the clasp-trace JSON to this file' },
  'dp-table': { type: 'bool', help: "include the DP's whole table in the trace" },
  'try-anyway': { type: 'bool', help: 'speculate for this reply whatever the policy predicts (--skip auto)' },
  forget: { type: 'bool', help: 'first forget what the policy learned on this model and machine (acceptance counts and the cost table)' },
  json: { type: 'bool', help: 'print one JSON object to stdout; logs go to stderr' },
  help: { type: 'bool', help: 'show this help' },
};

export const GENERATE_USAGE = 'usage: clasp generate [--model PATH] (--prompt TEXT | --chat TEXT | --prompt-ids 1,2,3) [options]';

export function parseIds(s: string, flag: string): number[] {
  const parts = s.split(',').map((x) => x.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new UsageError(`${flag} must be comma-separated non-negative integers (got "${s}")`);
  }
  return parts.map(Number);
}

export async function generateCommand(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, SPEC, 'generate');
  if (flags.help) {
    console.log(helpText(GENERATE_USAGE, SPEC));
    return 0;
  }
  const given = ['prompt', 'chat', 'prompt-ids'].filter((k) => flags[k] !== undefined);
  if (given.length !== 1) throw new UsageError('give exactly one of --prompt, --chat or --prompt-ids');
  if (flags.system !== undefined && flags.chat === undefined) throw new UsageError('--system needs --chat');
  const partial = settingsFromFlags(flags);
  partial.dpTable = (flags['dp-table'] as boolean | undefined) ?? false;
  partial.forceSpeculation = (flags['try-anyway'] as boolean | undefined) ?? false;
  const json = flags.json === true;
  const log = (s: string) => process.stderr.write(s + '\n');

  const engine = await EngineService.load({
    modelPath: flags.model as string | undefined,
    backend: backendFlag(flags),
    threads: threadsFlag(flags),
    nCtx: ctxFlag(flags),
    policyDir: policyDirFlag(flags, defaultPolicyDir()),
    kvType: kvFlag(flags),
  });
  try {
    const settings = validateSettings(partial, engine.info.nLayer);
    if (engine.info.backendReason && !json) log(`[clasp] using the CPU: ${engine.info.backendReason}`);
    if (engine.info.policyWarning) log(`[clasp] WARNING: ${engine.info.policyWarning}`);
    if (flags.forget === true) await engine.forget();
    const promptIds = engine.encode(
      flags.prompt !== undefined
        ? { prompt: flags.prompt as string }
        : flags.chat !== undefined
          ? { chat: flags.chat as string, system: flags.system as string | undefined }
          : { promptIds: parseIds(String(flags['prompt-ids']), '--prompt-ids') },
    );
    // End tokens (<|eot_id|>, <|end_of_text|>) and other special tokens are control ids, not text:
    // the stream shows text only; --json keeps every id.
    const shown = engine.tokenizer.createStreamDecoder({ skipSpecial: true });
    const ac = new AbortController();
    const onSig = () => ac.abort();
    process.once('SIGINT', onSig);
    const r = await engine.generate(promptIds, settings, {
      signal: ac.signal,
      onToken: json ? undefined : (id) => process.stdout.write(shown.push(id)),
    });
    process.removeListener('SIGINT', onSig);
    if (flags.trace !== undefined) {
      fs.writeFileSync(flags.trace as string, JSON.stringify(buildTrace(engine.info, settings, r)) + '\n');
      if (!json) log(`[clasp] trace written to ${flags.trace as string}`);
    }
    if (json) {
      process.stdout.write(
        JSON.stringify({ prompt_ids: r.promptIds, ids: r.ids, fates: r.fates, text: r.text, finish_reason: r.finishReason, stats: r.stats, decisions: r.decisions }) + '\n',
      );
    } else {
      process.stdout.write(shown.flush() + '\n');
      const s = r.stats;
      let line = `[clasp] ${s.mode}: ${s.n_generated} tokens in ${s.decode_ms.toFixed(0)} ms (${s.tokens_per_s.toFixed(1)} tok/s), prefill ${s.prefill_ms.toFixed(0)} ms, ${r.finishReason}`;
      if (s.rounds === 0) line += '; no verify rounds';
      else if (s.mean_accepted_length !== null) {
        line += `; mean accepted length ${s.mean_accepted_length.toFixed(2)} (tokens per verify round), acceptance rate ${(100 * (s.acceptance_rate ?? 0)).toFixed(0)}% (accepted drafts / drafts)`;
      }
      log(line);
      if (s.speedup != null) {
        log(`[clasp] ${s.speedup.toFixed(2)}x plain decoding on this machine (plain: ${(s.plain_tokens_per_s ?? 0).toFixed(0)} tok/s); ` +
          `predicted ${(s.predicted_speedup ?? 1).toFixed(2)}x, the cost table prices the work done at ${(s.costed_speedup ?? 1).toFixed(2)}x`);
      }
      if (s.reason) log(`[clasp] policy: ${s.reason}`);
      if (s.verify_ms != null && s.plain_tokens_per_s) {
        const parts = { draft: s.draft_ms ?? 0, verify: s.verify_ms, DP: s.dp_ms ?? 0, 'plain steps': s.plain_ms ?? 0 };
        const other = Math.max(0, s.decode_ms - Object.values(parts).reduce((a, b) => a + b, 0));
        const plainMs = (Math.max(0, s.n_generated - 1) * 1000) / s.plain_tokens_per_s;
        log(`[clasp] time: ${Object.entries(parts).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}, other ${other.toFixed(1)} ms; plain decoding would take about ${plainMs.toFixed(1)} ms here`);
      }
    }
    return 0;
  } finally {
    engine.dispose();
  }
}
