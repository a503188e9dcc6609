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
  det: number;
  maxDraft: number;
  loi: number;
  /** Include the DP's whole D(i, j) table in round events (bigger traces). */
  dpTable: boolean;
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
  cost_model_speedup: number | null;
  backend_reason: string | null;
  policy: string | null;
  fallback: boolean;
  final_M: number | null;
}

export interface DpInfo {
  target_pos: number;
  ms: number;
  M: number;
  path_cosine: (number | null)[];
  layer_cosine: (number | null)[];
  table?: (number | null)[][];
}

export interface RoundEvent {
  index: number;
  pos: number;
  skip: number[];
  dp: DpInfo | null;
  draft: { ids: number[]; q: number[]; top1: number[]; ms: number };
  verify: { accepted: number; p: number[]; next_id: number; ms: number };
  policy: { M: number; det: number; reason: string } | null;
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
  residentBytes: number;
  kvCacheBytes: number;
  hfDir: string | null;
  nCached: number;
}
