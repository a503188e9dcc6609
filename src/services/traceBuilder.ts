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
      skip: effectiveSkip(settings, info.nLayer),
      det: settings.det,
      max_draft: settings.maxDraft,
      loi: settings.loi,
      sampling: { temperature: settings.temperature, top_k: settings.topK, top_p: settings.topP, seed: settings.seed },
      seed: settings.seed,
      backend: r.stats.backend,
    },
    prompt_ids: r.promptIds,
    output_ids: r.ids,
    text: r.text,
    rounds: settings.mode === 'ar' ? [] : r.rounds.map(cleanRound),
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
      const accept =
        trace.rounds.length > 0 ? trace.rounds.map((r) => r.verify.accepted + 1) : Array(trace.summary.n_generated).fill(1);
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

const CSV_HEADER = ['round', 'pos', 'n_skip', 'skip', 'drafted', 'accepted', 'next_id', 'draft_ms', 'verify_ms', 'dp', 'dp_ms', 'policy'];

function csvCell(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV row per round. */
export function toCsv(trace: Trace): string {
  const rows = [CSV_HEADER.join(',')];
  trace.rounds.forEach((r, i) => {
    rows.push(
      [i, r.pos, r.skip.length, r.skip.join(' '), r.draft.ids.length, r.verify.accepted, r.verify.next_id, r.draft.ms.toFixed(3),
        r.verify.ms.toFixed(3), r.dp ? 1 : 0, r.dp ? r.dp.ms.toFixed(3) : null, r.policy ? r.policy.reason : null]
        .map(csvCell)
        .join(','),
    );
  });
  return rows.join('\n') + '\n';
}
