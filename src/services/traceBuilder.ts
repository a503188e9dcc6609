// Builds clasp-trace documents from a finished generation, and the exports docs/DESIGN.md names:
// Spec-Bench answer JSONL and a per-round CSV.
import type { GenerateSettings, ModelInfo, RoundEvent } from '../shared/engineTypes';
import { effectiveSkip } from '../shared/settings';
import { validateTrace, type Trace } from '../shared/trace';
import type { GenerationResult } from './EngineService';

export function buildTrace(info: ModelInfo, settings: GenerateSettings, r: GenerationResult): Trace {
  const raw = {
    format: 'clasp-trace',
    version: 1,
    model: { name: info.name, n_layer: info.nLayer, n_embd: info.nEmbd, n_head: info.nHead, n_head_kv: info.nHeadKv, file: info.path },
    config: {
      mode: settings.mode,
      skip: settings.skipLayers ? settings.skipLayers.length : effectiveSkip(settings, info.nLayer),
      ...(settings.skipLayers ? { skip_layers: [...settings.skipLayers].sort((a, b) => a - b) } : {}),
      det: settings.det ?? 'auto',
      max_draft: settings.maxDraft,
      loi: settings.loi ?? 'auto',
      sampling: { temperature: settings.temperature, top_k: settings.topK, top_p: settings.topP, seed: settings.seed },
      seed: settings.seed,
      backend: r.stats.backend,
      kv_cache: info.kvType,
    },
    prompt_ids: r.promptIds,
    output_ids: r.ids,
    text: r.text,
    rounds: settings.mode === 'ar' ? [] : r.rounds.map(cleanRound),
    plain: settings.mode === 'ar' ? [] : r.plain,
    decisions: settings.mode === 'ar' ? [] : r.decisions,
    summary: r.stats,
  };
  return validateTrace(raw, 'generated trace');
}

function cleanRound(r: RoundEvent): RoundEvent {
  // Probabilities can exceed 1 by a rounding ulp; the schema is strict, so clamp.
  const c = (x: number) => Math.min(1, Math.max(0, x));
  return { ...r, draft: { ...r.draft, q: r.draft.q.map(c), top1: r.draft.top1.map(c) }, verify: { ...r.verify, p: r.verify.p.map(c) } };
}

/** Spec-Bench answer JSONL: one line per trace (one turn each). */
export function toSpecBench(traces: { id: string; category?: string; trace: Trace }[]): string {
  return traces
    .map(({ id, category, trace }) => {
      const accept = acceptLengths(trace);
      return JSON.stringify({
        question_id: id,
        category: category ?? null,
        model_id: trace.model.name,
        mode: trace.config.mode,
        choices: [
          {
            index: 0,
            turns: [trace.text ?? ''],
            new_tokens: [trace.summary.n_generated],
            wall_time: [(trace.summary.prefill_ms + trace.summary.decode_ms) / 1000],
            accept_lengths: accept,
          },
        ],
      });
    })
    .join('\n') + '\n';
}

/**
 * Tokens per full-model pass, in order, counting every token: the first (from the prefill), each
 * verify round's accepted drafts plus its correction or bonus, and each plain step. The last round
 * may be cut short by max_tokens or an end token, so the lengths are capped at n_generated.
 */
export function acceptLengths(trace: Trace): number[] {
  const n = trace.summary.n_generated;
  if (n === 0) return [];
  const steps: { pos: number; len: number }[] = [];
  for (const r of trace.rounds) steps.push({ pos: r.pos, len: r.verify.accepted + 1 });
  for (const p of trace.plain ?? []) for (let i = 0; i < p.n; i++) steps.push({ pos: p.pos + i, len: 1 });
  steps.sort((a, b) => a.pos - b.pos);
  const out = [1];
  let left = n - 1;
  for (const s of steps) {
    if (left <= 0) break;
    const len = Math.min(s.len, left);
    out.push(len);
    left -= len;
  }
  // Older traces have no plain stretches: the tokens no round accounts for were plain steps.
  while (left-- > 0) out.push(1);
  return out;
}

const CSV_HEADER = ['kind', 'round', 'pos', 'tokens', 'n_skip', 'skip', 'drafted', 'accepted', 'next_id', 'det', 'stop', 'draft_ms', 'verify_ms', 'dp', 'dp_ms', 'policy'];

function csvCell(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One CSV row per verify round and one per plain-decoded stretch, in position order; the `tokens`
 * column (plus the first token, from the prefill) sums to every generated token.
 */
export function toCsv(trace: Trace): string {
  type Row = { pos: number; cells: (string | number | null)[] };
  const rows: Row[] = [];
  trace.rounds.forEach((r, i) => {
    rows.push({
      pos: r.pos,
      cells: ['round', i, r.pos, r.verify.accepted + 1, r.skip.length, r.skip.join(' '), r.draft.ids.length, r.verify.accepted, r.verify.next_id,
        r.det ?? null, r.stop ?? null, r.draft.ms.toFixed(3), r.verify.ms.toFixed(3), r.dp ? 1 : 0, r.dp ? r.dp.ms.toFixed(3) : null,
        r.policy ? r.policy.reason : null],
    });
  });
  for (const p of trace.plain ?? []) {
    rows.push({ pos: p.pos, cells: ['plain', null, p.pos, p.n, null, null, null, null, null, null, null, null, null, null, null, p.reason] });
  }
  rows.sort((a, b) => a.pos - b.pos);
  return [CSV_HEADER.join(','), ...rows.map((r) => r.cells.map(csvCell).join(','))].join('\n') + '\n';
}
