// The clasp-trace document (docs/DESIGN.md, "Trace"): its schema, checked on export and on import.
// Imports are untrusted files, so sizes are bounded and every array length is checked against L.
import { z } from 'zod';

const num = z.number().finite();
const nullableNum = num.nullable();
const id = z.number().int().min(0).max(10_000_000);
const MAX_ROUNDS = 200_000;
const MAX_LAYERS = 1024;

export const dpSchema = z.object({
  target_pos: z.number().int().min(0),
  ms: num.min(0),
  M: z.number().int().min(0).max(MAX_LAYERS).optional(),
  path_cosine: z.array(nullableNum).max(MAX_LAYERS + 1),
  layer_cosine: z.array(nullableNum).max(MAX_LAYERS + 1),
  table: z.array(z.array(nullableNum).max(MAX_LAYERS + 1)).max(MAX_LAYERS + 1).optional(),
  /** true: the path of a given skip set (config.skip_layers), evaluated, not chosen by a DP */
  given: z.boolean().optional(),
});

// A policy decision (docs/NUMBERS.md): at the start of a reply and at every change of plan.
export const decisionSchema = z.object({
  pos: z.number().int().min(0),
  speculate: z.boolean(),
  probe: z.boolean(),
  M: z.number().int().min(0).max(MAX_LAYERS),
  k: z.number().int().min(0).max(256),
  det: num.min(0).max(1),
  loi: z.number().int().min(1),
  alpha: nullableNum,
  alpha_drafts: num.min(0),
  predicted_speedup: nullableNum,
  verify_steps: nullableNum,
  draft_steps: nullableNum,
  dp_steps: nullableNum,
  reason: z.string().max(2000),
});

// Positions [pos, pos + n) decoded plainly inside a speculative reply.
export const plainSchema = z.object({ pos: z.number().int().min(0), n: z.number().int().min(0), reason: z.string().max(2000) });

export const roundSchema = z.object({
  index: z.number().int().min(0).optional(),
  pos: z.number().int().min(0),
  skip: z.array(z.number().int().min(0).max(MAX_LAYERS - 1)).max(MAX_LAYERS),
  det: num.min(0).max(1).optional(),
  stop: z.enum(['det', 'length', 'eos', 'budget']).optional(),
  dp: dpSchema.nullable(),
  draft: z.object({
    ids: z.array(id).max(256),
    q: z.array(num.min(0).max(1)).max(256),
    top1: z.array(num.min(0).max(1)).max(256),
    ms: num.min(0),
  }),
  verify: z.object({
    accepted: z.number().int().min(0).max(256),
    p: z.array(num.min(0).max(1)).max(256),
    next_id: id,
    ms: num.min(0),
  }),
  // older traces carry { M, det, reason } only
  policy: z.object({ M: z.number().int().min(0), det: num, reason: z.string().max(2000) }).passthrough().nullable(),
});

const costsSchema = z.object({
  c1_ms: num.min(0),
  verify_ms: z.array(nullableNum).max(1024),
  draft_ms: z.array(nullableNum).max(MAX_LAYERS + 1),
  dp_ms: z.array(nullableNum).max(MAX_LAYERS + 1),
});

export const statsSchema = z.object({
  mode: z.enum(['ar', 'clasp', 'static']),
  backend: z.string().max(200),
  n_prompt: z.number().int().min(0),
  n_generated: z.number().int().min(0),
  prefill_ms: num.min(0),
  decode_ms: num.min(0),
  tokens_per_s: num.min(0),
  ttft_ms: num.min(0),
  rounds: z.number().int().min(0).nullable(),
  drafted: z.number().int().min(0).nullable(),
  accepted: z.number().int().min(0).nullable(),
  mean_accepted_length: nullableNum,
  acceptance_rate: nullableNum,
  dp_runs: z.number().int().min(0).nullable(),
  dp_ms: nullableNum,
  plain_steps: z.number().int().min(0).nullable().optional(),
  calibration_ms: nullableNum.optional(),
  plain_tokens_per_s: nullableNum.optional(),
  speedup: nullableNum.optional(),
  predicted_speedup: nullableNum.optional(),
  costed_speedup: nullableNum.optional(),
  reason: z.string().max(4000).nullable().optional(),
  det: nullableNum.optional(),
  loi: nullableNum.optional(),
  costs: costsSchema.nullable().optional(),
  backend_reason: z.string().max(2000).nullable(),
  policy: z.string().max(200).nullable(),
  fallback: z.boolean(),
}).passthrough();

export const traceSchema = z
  .object({
    format: z.literal('clasp-trace'),
    version: z.literal(1),
    model: z.object({
      name: z.string().max(500),
      n_layer: z.number().int().min(1).max(MAX_LAYERS),
      n_embd: z.number().int().min(1),
      n_head: z.number().int().min(1),
      n_head_kv: z.number().int().min(1),
      file: z.string().max(4096),
    }),
    config: z.object({
      mode: z.enum(['ar', 'clasp', 'static']),
      skip: z.union([z.literal('auto'), z.number().int().min(0)]),
      /** a given skip set (static mode): every round drafts without exactly these layers */
      skip_layers: z.array(z.number().int().min(0).max(MAX_LAYERS - 1)).max(MAX_LAYERS).optional(),
      det: z.union([z.literal('auto'), num]),
      max_draft: z.number().int().min(1),
      loi: z.union([z.literal('auto'), z.number().int().min(1)]),
      sampling: z.object({ temperature: num.min(0), top_k: z.number().int().min(0), top_p: num, seed: z.number().int().min(0) }),
      seed: z.number().int().min(0),
      backend: z.string().max(200),
      /** the KV cache's element type (absent in older traces: f32) */
      kv_cache: z.enum(['f32', 'f16']).optional(),
    }),
    prompt_ids: z.array(id).max(1_000_000),
    output_ids: z.array(id).max(1_000_000).optional(),
    text: z.string().max(50_000_000).optional(),
    rounds: z.array(roundSchema).max(MAX_ROUNDS),
    /** plain-decoded stretches of a speculative reply, and the policy's decisions (absent in older traces) */
    plain: z.array(plainSchema).max(MAX_ROUNDS).optional(),
    decisions: z.array(decisionSchema).max(MAX_ROUNDS).optional(),
    summary: statsSchema,
  })
  .superRefine((t, ctx) => {
    const L = t.model.n_layer;
    t.rounds.forEach((r, i) => {
      const where = ['rounds', i];
      if (r.skip.some((l) => l >= L)) ctx.addIssue({ code: 'custom', path: [...where, 'skip'], message: `layer index >= n_layer (${L})` });
      if (r.draft.q.length !== r.draft.ids.length || r.draft.top1.length !== r.draft.ids.length) {
        ctx.addIssue({ code: 'custom', path: [...where, 'draft'], message: 'q and top1 must have one entry per draft id' });
      }
      if (r.verify.p.length !== r.draft.ids.length) {
        ctx.addIssue({ code: 'custom', path: [...where, 'verify', 'p'], message: 'p must have one entry per draft id' });
      }
      if (r.verify.accepted > r.draft.ids.length) {
        ctx.addIssue({ code: 'custom', path: [...where, 'verify', 'accepted'], message: 'more accepted than drafted' });
      }
      if (r.dp) {
        if (r.dp.path_cosine.length !== L + 1 || r.dp.layer_cosine.length !== L + 1) {
          ctx.addIssue({ code: 'custom', path: [...where, 'dp'], message: `path_cosine and layer_cosine need n_layer + 1 (${L + 1}) entries` });
        }
        if (r.dp.table && r.dp.table.length !== L + 1) {
          ctx.addIssue({ code: 'custom', path: [...where, 'dp', 'table'], message: `table needs n_layer + 1 rows` });
        }
      }
    });
    if (t.config.mode === 'ar' && (t.rounds.length > 0 || (t.plain?.length ?? 0) > 0)) {
      ctx.addIssue({ code: 'custom', path: ['rounds'], message: 'ar traces have no rounds or plain stretches' });
    }
  });

export type Trace = z.infer<typeof traceSchema>;
export type TraceRound = z.infer<typeof roundSchema>;

export class TraceError extends Error {}

/** Parses and validates a trace from JSON text; throws TraceError with the first problems named. */
export function parseTrace(text: string, source = 'trace'): Trace {
  if (text.length > 200 * 1024 * 1024) throw new TraceError(`${source}: file is larger than 200 MB`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TraceError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  return validateTrace(raw, source);
}

export function validateTrace(raw: unknown, source = 'trace'): Trace {
  if (typeof raw === 'object' && raw !== null && (raw as { format?: unknown }).format !== 'clasp-trace') {
    throw new TraceError(`${source}: not a clasp-trace document (its "format" field is ${JSON.stringify((raw as { format?: unknown }).format)})`);
  }
  const r = traceSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new TraceError(`${source}: invalid clasp-trace: ${issues.join('; ')}`);
  }
  return r.data;
}
