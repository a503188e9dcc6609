// The numbers under a reply: what ran (plain, clasp, static, or both when the policy switched),
// speed, time to first token, and when verify rounds ran the mean accepted length, acceptance rate
// and DP share, each with its definition on hover. Speed-ups carry the demo-model note. Why the
// reply was as fast as it was is told beside it (SpeedExplanation.tsx).
import type { Message } from '@shared/api';
import { Hint } from '../components/Hint';
import { fmtInt, fmtMs, fmtNum, fmtPct } from '../lib/format';
import { speedStory } from '../lib/speedStory';

export const DEFS = {
  tps: 'Generated tokens per second of decoding.',
  ttft: 'Time to first token: from the request to the first generated token, prompt processing included.',
  mal: 'Mean accepted length: tokens produced per verify round, counting the correction or bonus token (so at least 1).',
  rate: 'Acceptance rate: accepted drafted tokens divided by drafted tokens.',
  dp: 'DP share: time spent in the dynamic program that re-chooses the skipped layers, as a share of the whole generation time.',
  speedup: "Measured speed-up: the time plain decoding would take for this reply's tokens (the cost table's single step, measured on this machine) over the time this reply took.",
  demo: 'The bundled demo model (clasp-demo-29M) was trained with layer dropout, so it has the layer redundancy that large models like Llama-3-70B have naturally. Its speed-ups are a demonstration; real Llama 3 models need no such training.',
};

export function isDemoModel(name: string | undefined): boolean {
  return !!name && /clasp-demo/i.test(name);
}

export function ReplyStats({ m, modelName }: { m: Message; modelName?: string }) {
  const s = m.stats;
  if (!s) return null;
  // Speculative numbers only mean something once a verify round ran.
  const spec = s.mode !== 'ar' && s.rounds !== null && s.rounds > 0;
  const total = s.prefill_ms + s.decode_ms;
  const dpShare = s.dp_ms !== null && total > 0 ? s.dp_ms / total : null;
  // The chip says what ran: a CLaSp reply in which nothing was speculated is plain.
  const label = speedStory(s).label;
  return (
    <div className="reply-stats" data-testid="reply-stats">
      <span className={`mode-chip mode-${spec ? s.mode : 'ar'}`} data-testid="mode-chip" title={s.mode !== 'ar' ? `mode ${s.mode}; ran: ${label}` : undefined}>
        {label}
      </span>
      <Hint text={DEFS.tps}>
        <b>{fmtNum(s.tokens_per_s, 1)}</b> tok/s
      </Hint>
      <Hint text={DEFS.ttft}>
        TTFT <b>{fmtMs(s.ttft_ms)}</b>
      </Hint>
      <span>
        <b>{fmtInt(s.n_generated)}</b> tokens
      </span>
      {spec && (
        <>
          <Hint text={DEFS.mal}>
            mean accepted length <b>{fmtNum(s.mean_accepted_length, 2)}</b>
          </Hint>
          <Hint text={DEFS.rate}>
            acceptance <b>{fmtPct(s.acceptance_rate)}</b>
          </Hint>
          <Hint text={DEFS.dp}>
            DP <b>{fmtPct(dpShare, 1)}</b>
          </Hint>
          {s.speedup != null && s.speedup > 0 && (
            <Hint text={DEFS.speedup + (isDemoModel(modelName) ? ' ' + DEFS.demo : '')}>
              <b>{fmtNum(s.speedup, 2)}×</b> plain
              {isDemoModel(modelName) && <sup className="demo-mark">demo*</sup>}
            </Hint>
          )}
          {s.final_M !== null && s.final_M !== undefined && <span className="dim">M={s.final_M}</span>}
        </>
      )}
      <span className="dim" title={m.model ? `${m.model.name} on ${m.model.device}` : undefined}>
        {m.model ? `${m.model.name} · ` : ''}
        {s.backend}
      </span>
    </div>
  );
}
