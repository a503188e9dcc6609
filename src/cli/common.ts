// Flags shared by generate, bench and serve, and their translation into engine settings.
import * as os from 'node:os';
import * as path from 'node:path';
import type { GenerateSettings } from '../shared/engineTypes';
import { CLASP_DEFAULTS, KV_CACHE, type KvType } from '../shared/settings';
import { parseSkipLayers } from '../shared/skipLayers';
import { UsageError, type FlagSpec, type ParsedArgs } from './args';

export const MODEL_FLAGS: Record<string, FlagSpec> = {
  model: { type: 'string', help: 'a GGUF file or a Hugging Face folder', default: 'the bundled demo model' },
  backend: { type: 'string', help: 'auto, cpu or cuda', default: 'auto' },
  threads: { type: 'int', help: 'CPU threads', default: 'the physical cores' },
  ctx: { type: 'int', help: 'context size in tokens', default: "the model's, at most 8192" },
  [KV_CACHE.name]: { type: 'string', help: KV_CACHE.help, default: KV_CACHE.default },
};

/** Where the CLaSp policy keeps what it learned (the cost table, acceptance counts) between runs. */
export const POLICY_FLAGS: Record<string, FlagSpec> = {
  'policy-dir': { type: 'string', help: "keep the CLaSp policy's cost table and acceptance counts per model and machine here", default: '$CLASP_POLICY_DIR, else ~/.cache/clasp/policy' },
  'no-policy-memory': { type: 'bool', help: 'keep nothing between runs: measure the costs and count acceptance afresh' },
};

/** The CLI's own default policy folder: $CLASP_POLICY_DIR, else $XDG_CACHE_HOME/clasp/policy, else ~/.cache/clasp/policy. */
export function defaultPolicyDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CLASP_POLICY_DIR) return path.resolve(env.CLASP_POLICY_DIR);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'clasp', 'policy');
}

/** The policy folder the flags ask for (undefined: keep nothing), `fallback` when they say nothing. */
export function policyDirFlag(f: ParsedArgs['flags'], fallback: string): string | undefined {
  if (f['no-policy-memory'] === true) {
    if (f['policy-dir'] !== undefined) throw new UsageError('give --policy-dir or --no-policy-memory, not both');
    return undefined;
  }
  const d = f['policy-dir'] as string | undefined;
  if (d !== undefined && d.trim() === '') throw new UsageError('--policy-dir must not be empty');
  return path.resolve(d ?? fallback);
}

export const SAMPLING_FLAGS: Record<string, FlagSpec> = {
  'max-tokens': { type: 'int', help: 'tokens to generate', default: '128' },
  temperature: { type: 'float', help: '0 is greedy', default: '0' },
  'top-p': { type: 'float', help: 'nucleus sampling mass', default: '1' },
  'top-k': { type: 'int', help: '0 is off', default: '0' },
  seed: { type: 'int', help: 'sampling seed', default: '0' },
  mode: { type: 'string', help: 'ar (plain), clasp (dynamic layer skipping) or static', default: 'ar' },
  skip: { type: 'string', help: 'layers skipped while drafting: auto or a count M', default: 'auto' },
  'skip-ratio': { type: 'float', help: 'M = round(R * layers)' },
  'skip-layers': { type: 'string', help: 'a given skip set, e.g. 3,5,7-9: static mode with exactly these layers skipped, always' },
  det: { type: 'float', help: "draft-exit threshold on the chain's confidence (product of the drafts' top-1)", default: 'from the measured costs' },
  'max-draft': { type: 'int', help: 'K, the most drafts per round', default: String(CLASP_DEFAULTS.maxDraft) },
  loi: { type: 'int', help: 'verify rounds between DP runs', default: "the smallest keeping the DP's share <= 5%" },
  'ignore-eos': { type: 'bool', help: 'keep generating past end tokens' },
};

export function backendFlag(f: ParsedArgs['flags']): 'auto' | 'cpu' | 'cuda' {
  const b = (f.backend as string | undefined) ?? 'auto';
  if (b !== 'auto' && b !== 'cpu' && b !== 'cuda') throw new UsageError(`--backend must be auto, cpu or cuda (got "${b}")`);
  return b;
}

export function threadsFlag(f: ParsedArgs['flags']): number | undefined {
  const t = f.threads as number | undefined;
  if (t !== undefined && (t < 1 || t > 256)) throw new UsageError(`--threads must be between 1 and 256 (got ${t})`);
  return t;
}

export function ctxFlag(f: ParsedArgs['flags']): number | undefined {
  const c = f.ctx as number | undefined;
  if (c !== undefined && (c < 16 || c > 1 << 20)) throw new UsageError(`--ctx must be between 16 and 1048576 (got ${c})`);
  return c;
}

export function kvFlag(f: ParsedArgs['flags']): KvType | undefined {
  const k = f[KV_CACHE.name] as string | undefined;
  if (k === undefined) return undefined;
  const ok = (KV_CACHE.values as readonly string[]).includes(k);
  if (!ok) throw new UsageError(`--${KV_CACHE.name} must be ${KV_CACHE.values.join(' or ')} (got "${k}")`);
  return k as KvType;
}

export function settingsFromFlags(f: ParsedArgs['flags'], defaultMode: 'ar' | 'clasp' = 'ar'): Partial<GenerateSettings> {
  const skipRaw = f.skip as string | undefined;
  let skip: number | 'auto' = 'auto';
  if (skipRaw !== undefined && skipRaw !== 'auto') {
    if (!/^\d+$/.test(skipRaw)) throw new UsageError(`--skip must be auto or a non-negative integer (got "${skipRaw}")`);
    skip = Number(skipRaw);
  }
  if (f.skip !== undefined && f['skip-ratio'] !== undefined) throw new UsageError('give --skip or --skip-ratio, not both');
  let skipLayers: number[] | undefined;
  if (f['skip-layers'] !== undefined) {
    if (f.skip !== undefined || f['skip-ratio'] !== undefined) throw new UsageError('--skip-layers sets M itself: leave out --skip and --skip-ratio');
    try {
      skipLayers = parseSkipLayers(f['skip-layers'] as string);
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/^skip layers/, '--skip-layers'));
    }
  }
  // A given skip set is static skipping with that set: it is the mode unless another is named (then refused).
  const mode = (f.mode as string | undefined) ?? (skipLayers ? 'static' : defaultMode);
  if (!['ar', 'clasp', 'static'].includes(mode)) throw new UsageError(`--mode must be ar, clasp or static (got "${mode}")`);
  const s: Partial<GenerateSettings> = {
    maxTokens: f['max-tokens'] as number | undefined,
    temperature: f.temperature as number | undefined,
    topP: f['top-p'] as number | undefined,
    topK: f['top-k'] as number | undefined,
    seed: f.seed as number | undefined,
    mode: mode as GenerateSettings['mode'],
    skip,
    skipRatio: f['skip-ratio'] as number | undefined,
    skipLayers,
    det: f.det as number | undefined,
    maxDraft: f['max-draft'] as number | undefined,
    loi: f.loi as number | undefined,
    ignoreEos: (f['ignore-eos'] as boolean | undefined) ?? false,
  };
  if (s.maxTokens === undefined) s.maxTokens = 128;
  if (s.temperature === undefined) s.temperature = 0;
  return s;
}
