// Loads the native addon and types its surface. A missing or broken build gives one clear error
// that says how to build it, rather than a raw dlopen failure.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FinishReason, GenerationStats, ModelInfo, PlainStretch, PolicyDecision, RoundEvent, TokenFate, TokenLogprobs } from '../shared/engineTypes';

export interface NativeGenerateParams {
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  ignoreEos?: boolean;
  mode?: string;
  skip?: number;
  skipRatio?: number;
  skipLayers?: number[];
  det?: number;
  maxDraft?: number;
  loi?: number;
  dpTable?: boolean;
  forceSpeculation?: boolean;
  /** Report each token's log-probability and this many of the most likely tokens' (1 to 20); 0 or absent: off. */
  logprobs?: number;
}

/** Streamed in the order the engine produced them; a round's tokens come before its round event. */
export type NativeEvent =
  | { type: 'token'; id: number; fate: TokenFate; logprobs?: TokenLogprobs }
  | { type: 'round'; round: RoundEvent }
  | { type: 'plain'; plain: PlainStretch }
  | { type: 'policy'; policy: PolicyDecision };

export interface NativeResult {
  ids: number[];
  finishReason: FinishReason;
  stats: GenerationStats;
}

export interface NativeEngine {
  info(): ModelInfo;
  metadata(): Record<string, unknown> | null;
  generate(promptIds: number[] | Int32Array, params: NativeGenerateParams, onEvent?: (ev: NativeEvent) => void): Promise<NativeResult>;
  cancel(): void;
  truncate(n: number): void;
  /** Forgets what the policy learned on this model and machine (memory, cost table, the kept file). */
  forget(): void;
  dispose(): void;
}

export interface NativeAddon {
  load(opts: { path: string; backend?: string; threads?: number; nCtx?: number; kvType?: string; policyDir?: string }): Promise<NativeEngine>;
}

let cached: NativeAddon | null = null;

export function repoRoot(): string {
  // dist/services/native.js or src/services/native.ts: the repository is two levels up.
  return path.resolve(__dirname, '..', '..');
}

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const candidates = [
    process.env.CLASP_ADDON,
    path.join(repoRoot(), 'native', 'build', 'Release', 'clasp_engine.node'),
  ].filter((p): p is string => !!p);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(
      `the native engine is not built (looked for ${candidates.join(', ')}); run \`npm run build:native\``,
    );
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(found) as NativeAddon;
  } catch (e) {
    throw new Error(`the native engine at ${found} failed to load: ${(e as Error).message}; rebuild it with \`npm run build:native\``);
  }
  return cached;
}
