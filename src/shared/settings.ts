// The generation settings a user can set, in one table: what each is called, what it does, its
// range and its default. Everything else is generated from it: the zod schemas (settingsSchema in
// api.ts, the `clasp` object in server/openaiSchemas.ts), the checks of services/settings.ts and the
// fields of the settings panel. The addon checks the ranges once more as the last line of defence
// (native/src/napi/speculative.cpp). Plain data, no runtime imports: the renderer bundles it.
import type { ChatSettings, SettingsPatch } from './api';

export type Mode = 'ar' | 'clasp' | 'static';

export interface NumberSetting {
  /** the field's name in messages ("skip must be between 0 and 31") */
  readonly name: string;
  /** the settings panel's label */
  readonly label: string;
  readonly help: string;
  readonly min: number;
  readonly max: number;
  /** the lower bound is excluded (top-p must be above 0) */
  readonly minExclusive?: boolean;
  readonly int?: boolean;
  /** what a new conversation starts with; absent for an optional setting (off or automatic until set) */
  readonly default?: number;
  /** what an optional setting does while empty: 'off' (skip ratio) or 'auto' (chosen by the policy) */
  readonly unset?: 'off' | 'auto';
  /** the modes it acts in; absent: every mode */
  readonly modes?: readonly Mode[];
  readonly group: 'decoding' | 'sampling';
}

const SPECULATIVE: readonly Mode[] = ['clasp', 'static'];

/** The numeric settings, in the settings panel's order. */
export const NUMBER_SETTINGS = {
  skip: {
    name: 'skip',
    label: 'Skip (M)',
    help: 'Layers skipped while drafting. “auto” lets the adaptive policy choose and change M; a count is honoured exactly.',
    min: 0,
    max: 1023, // the model's layer count is the real limit; each check narrows it once a model is known
    int: true,
    modes: SPECULATIVE,
    group: 'decoding',
  },
  skipRatio: {
    name: 'skip ratio',
    label: 'Skip ratio',
    help: 'Optional: M = round(ratio × layers). When set it wins over Skip; clear it to use Skip.',
    min: 0,
    max: 0.99,
    unset: 'off',
    modes: SPECULATIVE,
    group: 'decoding',
  },
  det: {
    name: 'det',
    label: 'Draft-exit threshold (DET)',
    help: "Drafting stops once the drafts' combined confidence (the product of their top-1 probabilities) falls below this. Empty: chosen from the measured costs.",
    min: 0,
    max: 1,
    unset: 'auto',
    modes: SPECULATIVE,
    group: 'decoding',
  },
  maxDraft: {
    name: 'max draft',
    label: 'Max draft (K)',
    help: 'The most tokens drafted per verify round.',
    min: 1,
    max: 64,
    int: true,
    default: 12,
    modes: SPECULATIVE,
    group: 'decoding',
  },
  loi: {
    name: 'loi',
    label: 'Layer-optimisation interval (LOI)',
    help: "Verify rounds between DP runs that re-choose the skipped layers. Empty: automatic, so the DP takes at most 5% of the time.",
    min: 1,
    max: 100_000,
    int: true,
    unset: 'auto',
    modes: ['clasp'],
    group: 'decoding',
  },
  // Sampling: the defaults are Llama 3's published ones, used until a model brings its own
  // (generation_config.json).
  temperature: {
    name: 'temperature',
    label: 'Temperature',
    help: '0 is greedy: the same text in every mode. Higher is more varied.',
    min: 0,
    max: 100,
    default: 0.6,
    group: 'sampling',
  },
  topP: {
    name: 'top-p',
    label: 'Top-p',
    help: 'Sample from the smallest set of tokens whose probabilities add up to p. 1 is off.',
    min: 0,
    minExclusive: true,
    max: 1,
    default: 0.9,
    group: 'sampling',
  },
  topK: {
    name: 'top-k',
    label: 'Top-k',
    help: 'Sample from the k most likely tokens. 0 is off.',
    min: 0,
    max: 1_000_000,
    int: true,
    default: 0,
    group: 'sampling',
  },
  seed: {
    name: 'seed',
    label: 'Seed',
    help: 'With Fixed seed, every reply uses this seed: the same settings give the same sampled text.',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    int: true,
    default: 0,
    group: 'sampling',
  },
  maxTokens: {
    name: 'max tokens',
    label: 'Max tokens',
    help: "The longest reply, in tokens. The model's context also limits it.",
    min: 1,
    max: 1_000_000, // `clasp serve --max-tokens-limit` goes as high
    int: true,
    default: 512,
    group: 'sampling',
  },
} as const satisfies Record<string, NumberSetting>;

export type NumberSettingId = keyof typeof NUMBER_SETTINGS;

/**
 * The KV cache's element type: a load-time option of the engine (`--kv` of clasp generate, bench and
 * serve; `kvType` of ModelManager, EngineService.load and the addon), not a per-conversation one.
 * f16 halves the cache's memory; f32 stays the default, as it decodes faster on the demo model
 * (docs/PERF.md). The CUDA backend reads an f32 cache only and refuses f16.
 */
export const KV_CACHE = {
  name: 'kv',
  label: 'KV cache type',
  help: 'f32 or f16: f16 halves the KV cache memory (CPU backend only)',
  values: ['f32', 'f16'],
  default: 'f32',
} as const;
export type KvType = (typeof KV_CACHE.values)[number];

/** The decoding modes, in the mode menu's order, with what each does. */
export const MODES: readonly { value: Mode; label: string; help: string }[] = [
  { value: 'clasp', label: 'CLaSp', help: 'CLaSp: draft with layers skipped, verify with all of them, and re-choose the skipped layers with the DP as the text goes on.' },
  { value: 'static', label: 'Static skip', help: 'One skip set, chosen once by the DP on the prompt and then kept: plain layer skipping, for comparison.' },
  { value: 'ar', label: 'Plain (ar)', help: 'Plain decoding, one full forward pass per token: the baseline.' },
];
export const MODE_VALUES = ['ar', 'clasp', 'static'] as const satisfies readonly Mode[];

/** CLaSp's defaults: what a new conversation and a bare engine call start with. */
export const CLASP_DEFAULTS = {
  mode: 'clasp' as Mode,
  skip: 'auto' as number | 'auto',
  maxDraft: NUMBER_SETTINGS.maxDraft.default,
  // det and loi: absent means automatic (docs/NUMBERS.md)
};

/** A model's sampling defaults (its generation_config.json), or Llama 3's published ones. */
export interface SamplingDefaults {
  temperature: number;
  topP: number;
  topK: number;
}

export const LLAMA3_SAMPLING: SamplingDefaults = {
  temperature: NUMBER_SETTINGS.temperature.default,
  topP: NUMBER_SETTINGS.topP.default,
  topK: NUMBER_SETTINGS.topK.default,
};

/**
 * The one precedence rule between skip and skip ratio, used by the engine call, the trace's config
 * and the settings panel alike: a skip ratio, when set, wins over skip, giving
 * M = min(L - 1, round(ratio × L)) (the addon's own formula); otherwise skip ('auto' or a count).
 */
export function effectiveSkip(s: { skip: number | 'auto'; skipRatio?: number | null }, nLayer: number): number | 'auto' {
  if (s.skipRatio === undefined || s.skipRatio === null) return s.skip;
  return Math.min(nLayer - 1, Math.round(s.skipRatio * nLayer));
}

/** A patch applied to settings: absent keys keep their value, `skipRatio: null` removes the ratio. */
export function applySettingsPatch(cur: ChatSettings, patch: SettingsPatch): ChatSettings {
  const next: Record<string, unknown> = { ...cur };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete next[k];
    else if (v !== undefined) next[k] = v;
  }
  return next as ChatSettings;
}

/** The settings that differ from `defaults` (the panel marks them; Reset clears them all). */
export function changedSettings(s: ChatSettings, defaults: ChatSettings): string[] {
  const keys = new Set([...Object.keys(s), ...Object.keys(defaults)]);
  keys.delete('seed'); // drawn fresh per reply unless fixed: only a difference when it is used
  const out = [...keys].filter((k) => (s as Record<string, unknown>)[k] !== (defaults as Record<string, unknown>)[k] && !(k === 'fixedSeed' && !s.fixedSeed && !defaults.fixedSeed));
  if (s.fixedSeed && s.seed !== defaults.seed) out.push('seed');
  return out.sort();
}

/** Reset: every setting to its default, and the optional ones (empty means off or auto: skip ratio, DET, LOI) cleared. */
export function resetPatch(defaults: ChatSettings): SettingsPatch {
  const ids = Object.keys(NUMBER_SETTINGS) as NumberSettingId[];
  return { ...defaults, ...Object.fromEntries(ids.filter((id) => 'unset' in NUMBER_SETTINGS[id]).map((id) => [id, null])) };
}

/** Whether a number is in a setting's range ("why not" is `rangeText`). */
export function inRange(s: NumberSetting, v: number, max = s.max): boolean {
  return Number.isFinite(v) && (s.minExclusive ? v > s.min : v >= s.min) && v <= max && (!s.int || Number.isInteger(v));
}

/** "0 to 1", ">0 to 1", "1 to 64, whole number". */
export function rangeText(s: NumberSetting, max = s.max): string {
  return `${s.minExclusive ? '>' : ''}${s.min} to ${max}${s.int ? ', whole number' : ''}`;
}

/** The settings a new conversation starts from: CLaSp's defaults and the model's sampling defaults. */
export function defaultChatSettings(d: SamplingDefaults = LLAMA3_SAMPLING): ChatSettings {
  return {
    ...CLASP_DEFAULTS,
    temperature: d.temperature,
    topP: d.topP,
    topK: d.topK,
    seed: NUMBER_SETTINGS.seed.default,
    maxTokens: NUMBER_SETTINGS.maxTokens.default,
    fixedSeed: false,
  };
}
