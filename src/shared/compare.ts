// "Compare modes": the prompt of one reply re-run in ar, static and clasp, N times each, interleaved,
// with a fixed seed. Shared by the app (src/app/compareModes.ts computes it) and the renderer (draws
// it). The definitions of every figure are in docs/NUMBERS.md ("Compare modes").
import type { Mode } from './settings';

export const COMPARE_MODES = ['ar', 'static', 'clasp'] as const satisfies readonly Mode[];
export type CompareMode = (typeof COMPARE_MODES)[number];

/** One measured run. */
export interface CompareRun {
  /** the run's stored trace (source 'compare'): open it in the inspector, pin it as A */
  traceId: string;
  /** its name in the trace list, e.g. "Compare: clasp run 2 of 3" */
  name: string;
  mode: CompareMode;
  /** 0-based repeat: run r of every mode is made back to back, so they share the machine's state */
  repeat: number;
  tokensPerS: number;
  ttftMs: number;
  nGenerated: number;
  acceptanceRate: number | null;
  /** draft tokens made and accepted (0 in ar) */
  drafted: number;
  accepted: number;
}

/** One mode's figures over its runs. */
export interface CompareRow {
  mode: CompareMode;
  runs: number;
  medianTokensPerS: number;
  minTokensPerS: number;
  maxTokensPerS: number;
  medianTtftMs: number;
  /** median tok/s over ar's median tok/s (1 for ar); null when ar measured nothing */
  speedup: number | null;
  /** the spread of the per-repeat ratios tok/s(mode, r) / tok/s(ar, r) */
  speedupMin: number | null;
  speedupMax: number | null;
  /** accepted / drafted over all runs (null: nothing was drafted) */
  acceptanceRate: number | null;
}

export interface CompareResult {
  jobId: string;
  conversationId: string;
  messageId: string;
  repeats: number;
  maxTokens: number;
  /** temperature 0: every mode must write the same tokens */
  greedy: boolean;
  /** every run wrote the same token ids (greedy: the lossless check); null when sampled */
  identical: boolean | null;
  /** greedy runs whose text differed from ar's first run, e.g. "clasp run 2" (empty when identical) */
  differing: string[];
  rows: CompareRow[];
  runs: CompareRun[];
  /** the model that ran (the loaded one, which may not be the one that wrote the reply) */
  model: string;
  /** where it ran: the engine's device line, e.g. "cpu (2 threads, avx512 kernels)" */
  machine: string;
  cancelled: boolean;
}

/** What the app tells every window while a comparison runs (AppEvent). */
export type CompareEvent =
  | { type: 'compare-progress'; jobId: string; conversationId: string; messageId: string; done: number; total: number; mode: CompareMode | 'warm-up' }
  | { type: 'compare-done'; jobId: string; conversationId: string; messageId: string; result: CompareResult }
  | { type: 'compare-error'; jobId: string; conversationId: string; messageId: string; message: string };

export const COMPARE_LIMITS = { repeats: { min: 1, max: 10, default: 3 }, maxTokens: { min: 1, max: 1024, default: 64 } } as const;
