// A small valid clasp-trace document for store, exporter and import tests.
import type { Trace } from '../../../src/shared/trace';

export function sampleTrace(nLayer = 4): Trace {
  const L = nLayer;
  const cos = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? 1 : 0.9));
  return {
    format: 'clasp-trace',
    version: 1,
    model: { name: 'tiny', n_layer: L, n_embd: 8, n_head: 2, n_head_kv: 1, file: 'tiny.gguf' },
    config: { mode: 'clasp', skip: 'auto', det: 0.7, max_draft: 4, loi: 4, sampling: { temperature: 0, top_k: 0, top_p: 1, seed: 0 }, seed: 0, backend: 'cpu' },
    prompt_ids: [1, 2, 3],
    output_ids: [5, 6, 7, 8],
    text: 'abcd',
    rounds: [
      {
        index: 0,
        pos: 3,
        skip: [2],
        dp: { target_pos: 2, ms: 0.5, M: 1, path_cosine: cos(L + 1), layer_cosine: [null, ...cos(L)] },
        draft: { ids: [6, 7, 9], q: [0.9, 0.8, 0.5], top1: [0.9, 0.8, 0.5], ms: 1 },
        verify: { accepted: 2, p: [0.9, 0.7, 0.1], next_id: 8, ms: 2 },
        det: 0.6,
        stop: 'det',
        policy: null,
      },
    ],
    plain: [],
    summary: {
      mode: 'clasp', backend: 'cpu', n_prompt: 3, n_generated: 4, prefill_ms: 1, decode_ms: 3, tokens_per_s: 1000, ttft_ms: 1,
      rounds: 1, drafted: 3, accepted: 2, mean_accepted_length: 3, acceptance_rate: 2 / 3, dp_runs: 1, dp_ms: 0.5,
      speedup: 1.2, predicted_speedup: 1.3, costed_speedup: 1.25, reason: 'speculating: predicted 1.30x', backend_reason: null, policy: 'auto', fallback: false,
    },
  };
}
