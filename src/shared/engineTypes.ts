// The engine's data as every front door sees it (CLI, server, app): generation settings, stats and
// round events. Field names of stats and rounds follow the trace contract in docs/DESIGN.md.

import { CLASP_DEFAULTS, type Mode } from './settings';

export type { Mode };
export type BackendKind = 'auto' | 'cpu' | 'cuda' | 'ref';

export interface GenerateSettings {
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed: number;
  ignoreEos: boolean;
  mode: Mode;
  /** 'auto' lets the adaptive policy choose M; a number is honoured exactly. */
  skip: number | 'auto';
  /** When set, M = round(skipRatio * L). */
  skipRatio?: number;
  /** A given skip set (src/shared/skipLayers.ts): mode static, skip 'auto' and no ratio; always honoured, no DP. */
  skipLayers?: number[];
  /** Draft exit threshold on the chain's confidence; absent: derived from the cost table. */
  det?: number;
  maxDraft: number;
  /** Verify rounds between DP runs; absent: the smallest that keeps the DP's share at or below 5%. */
  loi?: number;
  /** Include the DP's whole D(i, j) table in round events (bigger traces). */
  dpTable: boolean;
  /** "Try it anyway": speculate for this reply whatever the policy predicts (skip 'auto' only). */
  forceSpeculation?: boolean;
}

/** A bare engine call's settings (the CLI's, the API's unset fields): greedy, 128 tokens, CLaSp's defaults. */
export const DEFAULT_SETTINGS: GenerateSettings = {
  maxTokens: 128,
  temperature: 0,
  topK: 0,
  topP: 1,
  seed: 0,
  ignoreEos: false,
  ...CLASP_DEFAULTS,
  dpTable: false,
};

export interface GenerationStats {
  mode: Mode;
  backend: string;
  n_prompt: number;
  n_reused: number;
  n_generated: number;
  prefill_ms: number;
  decode_ms: number;
  tokens_per_s: number;
  ttft_ms: number;
  rounds: number | null;
  drafted: number | null;
  accepted: number | null;
  mean_accepted_length: number | null;
  acceptance_rate: number | null;
  dp_runs: number | null;
  dp_ms: number | null;
  /** Tokens decoded plainly by the policy inside a speculative reply (after the first token). */
  plain_steps?: number | null;
  /** One-time cost of measuring the cost table (the first speculative reply on a model only). */
  calibration_ms?: number | null;
  /** The plain decoding rate on this machine: 1000 / c1 of the cost table. */
  plain_tokens_per_s?: number | null;
  /** Measured: (n_generated - 1) * c1 / decode_ms, this reply against plain decoding on this machine. */
  speedup?: number | null;
  /** The policy's prediction when the reply started (1 when it started plain). */
  predicted_speedup?: number | null;
  /** The cost table's price of the work this reply actually did (rounds, DP runs, plain steps), as a speed-up. */
  costed_speedup?: number | null;
  /** Why speculation was on or off when the reply ended. */
  reason?: string | null;
  backend_reason: string | null;
  policy: string | null;
  fallback: boolean;
  final_M: number | null;
  det?: number | null;
  loi?: number | null;
  /** The cost table behind the decisions, in ms. */
  costs?: CostTable | null;
  /** Decoding time spent in drafts, verify passes and plain steps (ms); with dp_ms, the rest of decode_ms is other work. */
  draft_ms?: number | null;
  verify_ms?: number | null;
  plain_ms?: number | null;
  /** The plans the reply ran under, in order: tokens [from, from + n), counting from the first generated token. */
  stretches?: PlanStretch[] | null;
  /** This mode's speculation as measured on earlier replies of this model and machine (before this one). */
  earlier?: { tokens: number; ms: number; speedup: number | null } | null;
}

/** Tokens [from, from + n) of a reply decoded under one plan, with the decision that set it. */
export type PlanStretch = Omit<PolicyDecision, 'pos'> & { from: number; n: number };

/** Measured once per model and machine: verify_ms[T-1] for T tokens, draft_ms[M] and dp_ms[M] for M = 0..L. */
export interface CostTable {
  c1_ms: number;
  verify_ms: (number | null)[];
  draft_ms: (number | null)[];
  dp_ms: (number | null)[];
}

/** A policy decision: at the start of a reply, and at every change of plan. */
export interface PolicyDecision {
  /** the position of the next token decoded under it */
  pos: number;
  speculate: boolean;
  /** speculating only to count acceptance, for a few rounds */
  probe: boolean;
  /** speculating only because the user asked ("try it anyway") */
  forced?: boolean;
  /** false: not even full acceptance would reach the margin */
  can_pay?: boolean;
  M: number;
  k: number;
  det: number;
  loi: number;
  alpha: number | null;
  alpha_drafts: number;
  predicted_speedup: number | null;
  /** the cost table behind it, in plain decoding steps */
  verify_steps: number | null;
  draft_steps: number | null;
  dp_steps: number | null;
  reason: string;
}

/** Positions [pos, pos + n) decoded plainly inside a speculative reply, and why. */
export interface PlainStretch {
  pos: number;
  n: number;
  reason: string;
}

/**
 * A generated token's log-probability and those of the most likely tokens at its position, most
 * likely first: the log-softmax of the full model's logits there, before temperature, top-k and
 * top-p (docs/NUMBERS.md, "Log-probabilities"). Under CLaSp they come from the verify pass.
 */
export interface TokenLogprobs {
  logprob: number;
  top: { id: number; logprob: number }[];
}

/** How a generated token came about; the first token (from the prefill) and plain steps are 'plain'. */
export type TokenFate = 'accepted' | 'correction' | 'bonus' | 'plain';

export interface DpInfo {
  target_pos: number;
  ms: number;
  M: number;
  path_cosine: (number | null)[];
  layer_cosine: (number | null)[];
  table?: (number | null)[][];
  /** true: the path of a given skip set (settings.skipLayers), evaluated at the first DP's target, not chosen by a DP */
  given?: boolean;
}

export interface RoundEvent {
  index: number;
  pos: number;
  skip: number[];
  /** the DET in force, and why drafting stopped: det (chain confidence), length (k drafted), eos, budget */
  det?: number;
  stop?: 'det' | 'length' | 'eos' | 'budget';
  dp: DpInfo | null;
  draft: { ids: number[]; q: number[]; top1: number[]; ms: number };
  verify: { accepted: number; p: number[]; next_id: number; ms: number };
  /** a change of plan decided right after this round */
  policy: (Partial<PolicyDecision> & { M: number; det: number; reason: string }) | null;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface ModelInfo {
  name: string;
  path: string;
  format: 'gguf' | 'safetensors';
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nFf: number;
  nVocab: number;
  nCtx: number;
  nCtxTrain: number;
  bosId: number;
  eosIds: number[];
  tiedEmbeddings: boolean;
  ropeInterleaved: boolean;
  weightType: string;
  backend: string;
  deviceInfo: string;
  backendReason: string | null;
  weightBytes: number;
  /** weights held in RAM: the file pages this process maps, plus the CPU backend's packed copies */
  residentBytes: number;
  kvCacheBytes: number;
  /** the KV cache's element type (settings.ts KV_CACHE) */
  kvType: 'f32' | 'f16';
  hfDir: string | null;
  nCached: number;
  /** the file the policy's memory is kept in across processes (null: not kept) */
  policyFile?: string | null;
  /** the memory and cost table came from policyFile */
  policyLoaded?: boolean;
  /** why a kept file was not used or could not be written */
  policyWarning?: string | null;
}
