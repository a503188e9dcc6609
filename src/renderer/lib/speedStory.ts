// What a reply's stats say about its speed, in words: which plans ran on which tokens and why (from
// the engine's own decisions: predicted speed-ups, acceptance counts, costs), the measured speed
// against plain decoding on this machine, and where the time went. Pure, so it tests in Node; the
// component (chat/SpeedExplanation.tsx) only lays it out. Every number is defined in docs/NUMBERS.md.
import type { GenerationStats, PlanStretch } from '@shared/engineTypes';
import { fmtInt, fmtMs, fmtNum } from './format';

export interface SpeedPart {
  label: 'draft' | 'verify' | 'DP' | 'plain steps' | 'other';
  ms: number;
}

export interface SpeedStory {
  /** what ran, for the mode chip: 'plain', 'clasp', 'static', or 'clasp + plain' when both did */
  label: string;
  /** the one-sentence summary */
  headline: string;
  /** one line per plan, with the token range it covered (1-based, inclusive) */
  lines: { text: string; reason: string; speculate: boolean }[];
  /** where the decoding time went, and what plain decoding would have taken on this machine */
  parts: SpeedPart[];
  plainEstimateMs: number | null;
  /** the policy kept some tokens plain: "try it anyway" can re-run the reply speculating */
  canTryAnyway: boolean;
  /** the policy's own memory shaped this reply: "forget what was learned" means something */
  canForget: boolean;
}

const MARGIN = 1.05; // policy::MARGIN in native/src/spec/policy.h

/**
 * A reply's measured speed against plain decoding on this machine: the one source of these figures
 * for the reply's explanation (speedStory) and the inspector's Summary card. Definitions in
 * docs/NUMBERS.md ("Stats"): speedup = (n_generated - 1) x c1 / decode_ms, plain = 1000 / c1.
 */
export interface MeasuredSpeed {
  /** this reply's tok/s (`tokens_per_s`) */
  tokensPerS: number;
  /** plain decoding on this machine, from the cost table (`plain_tokens_per_s`); null when not measured */
  plainTokensPerS: number | null;
  /** measured: the time plain decoding would take for these tokens over the time taken (`speedup`) */
  speedup: number | null;
  /** what plain decoding would take for these tokens here: (n_generated - 1) x c1 */
  plainEstimateMs: number | null;
  /** the policy's prediction when the reply started (`predicted_speedup`): a prediction, not a measurement */
  predicted: number | null;
}

export function measuredSpeed(s: Pick<GenerationStats, 'n_generated' | 'tokens_per_s' | 'plain_tokens_per_s' | 'speedup' | 'predicted_speedup'>): MeasuredSpeed {
  const fin = (x: number | null | undefined) => (x != null && Number.isFinite(x) && x > 0 ? x : null);
  const plain = fin(s.plain_tokens_per_s);
  return {
    tokensPerS: s.tokens_per_s,
    plainTokensPerS: plain,
    speedup: fin(s.speedup),
    plainEstimateMs: plain ? (Math.max(0, s.n_generated - 1) * 1000) / plain : null,
    predicted: fin(s.predicted_speedup),
  };
}

function range(s: PlanStretch): string {
  return s.n === 1 ? `token ${s.from + 1}` : `tokens ${s.from + 1}–${s.from + s.n}`;
}

function acceptance(s: PlanStretch): string {
  return s.alpha_drafts > 0
    ? `acceptance ${fmtNum(s.alpha, 2)} counted over ${fmtInt(s.alpha_drafts)} drafts`
    : `acceptance ${fmtNum(s.alpha, 2)} assumed at M=${s.M}, none counted there yet`;
}

/** One plan in words: what ran and the figures it was chosen on. */
export function stretchLine(s: PlanStretch, explicit: boolean): string {
  const pred = `${fmtNum(s.predicted_speedup, 2)}×`;
  if (s.speculate && s.forced) return `${range(s)}: speculated because you asked (try it anyway); the policy predicted ${pred} of plain speed (${acceptance(s)}).`;
  if (s.speculate && s.probe) return `${range(s)}: a short probe, speculating at M=${s.M} to count acceptance; predicted ${pred} (${acceptance(s)}).`;
  if (s.speculate && explicit) return `${range(s)}: speculated at M=${s.M} as set, up to ${s.k} drafts a round.`;
  if (s.speculate) return `${range(s)}: speculated at M=${s.M}, up to ${s.k} drafts a round: predicted ${pred} of plain speed (${acceptance(s)}).`;
  if (s.can_pay === false) {
    return `${range(s)}: plain decoding, because on this machine even a reply whose every draft was accepted would reach only about ${pred} at best: a ${s.k + 1}-token verify costs ${fmtNum(s.verify_steps, 2)} plain steps and a draft ${fmtNum(s.draft_steps, 2)}.`;
  }
  return `${range(s)}: plain decoding, because ${acceptance(s)} predicts ${pred} of plain speed, below the ${fmtNum(MARGIN, 2)}× it takes to speculate.`;
}

export function speedStory(s: GenerationStats): SpeedStory {
  const speed = measuredSpeed(s);
  const plainEstimateMs = speed.plainEstimateMs;
  if (s.mode === 'ar') {
    return { label: 'plain', headline: 'Plain decoding, as set (mode ar): every token from one full pass of the model.', lines: [], parts: [], plainEstimateMs: null, canTryAnyway: false, canForget: false };
  }
  const stretches = s.stretches ?? [];
  const explicit = s.policy === 'fixed';
  const specTokens = stretches.filter((x) => x.speculate).reduce((n, x) => n + x.n, 0);
  const anySpec = (s.rounds ?? 0) > 0;
  const allSpec = anySpec && specTokens === s.n_generated;
  const label = !anySpec ? 'plain' : (s.plain_steps ?? 0) > 0 ? `${s.mode} + plain` : s.mode;
  const measured = speed.speedup !== null ? `${fmtNum(speed.speedup, 2)}× of plain speed` : null;
  const earlier = s.earlier && s.earlier.tokens > 0 && s.earlier.speedup != null ? s.earlier : null;

  let headline: string;
  if (s.stretches == null) {
    // A reply stored before the engine reported its plans (or stopped before it answered).
    headline = anySpec ? `CLaSp ran ${fmtInt(s.rounds)} verify rounds${measured ? `; the reply ran at ${measured} on this machine` : ''}.` : 'No tokens were speculated in this reply.';
  } else if (!anySpec) {
    headline = 'Plain decoding for this whole reply';
    if (earlier) headline += `: on this machine CLaSp measured ${fmtNum(earlier.speedup, 2)}× of plain speed on earlier replies (${fmtInt(earlier.tokens)} tokens)`;
    else if (stretches[0]) headline += `: the policy predicted ${fmtNum(stretches[0].predicted_speedup, 2)}× of plain speed here`;
    headline += '.';
  } else if (allSpec) {
    headline = `CLaSp speculated for the whole reply${measured ? ` and ran at ${measured} on this machine` : ''}.`;
  } else {
    const off = stretches.filter((x) => !x.speculate && x.n > 0).map(range);
    headline = `Speculation was off for ${off.join(', ')}${measured ? `; the reply ran at ${measured} on this machine` : ''}.`;
  }

  const parts: SpeedPart[] = [];
  if (s.verify_ms != null && (anySpec || (s.plain_ms ?? 0) > 0)) {
    const known: SpeedPart[] = [
      { label: 'draft', ms: s.draft_ms ?? 0 },
      { label: 'verify', ms: s.verify_ms ?? 0 },
      { label: 'DP', ms: s.dp_ms ?? 0 },
      { label: 'plain steps', ms: s.plain_ms ?? 0 },
    ];
    const rest = s.decode_ms - known.reduce((a, p) => a + p.ms, 0);
    parts.push(...known.filter((p) => p.ms > 0), { label: 'other', ms: Math.max(0, rest) });
  }
  const policyPlain = stretches.some((x) => !x.speculate && x.n > 0);
  return {
    label,
    headline,
    lines: stretches.filter((x) => x.n > 0).map((x) => ({ text: stretchLine(x, explicit), reason: x.reason, speculate: x.speculate })),
    parts,
    plainEstimateMs,
    canTryAnyway: !explicit && policyPlain,
    canForget: !explicit,
  };
}

/** "draft 12 ms · verify 40 ms · …", the breakdown in one line. */
export function partsText(parts: SpeedPart[]): string {
  return parts.map((p) => `${p.label} ${fmtMs(p.ms)}`).join(' · ');
}
