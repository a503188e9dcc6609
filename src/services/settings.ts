// Validation of generation settings from any front door (CLI flags, API bodies, the UI), with
// messages that name the setting and its allowed range. The ranges come from the settings table
// (src/shared/settings.ts); only the skip count is narrowed further, to the loaded model's layers.
import { DEFAULT_SETTINGS, type GenerateSettings } from '../shared/engineTypes';
import { effectiveSkip, MODE_VALUES, NUMBER_SETTINGS, type NumberSetting, type NumberSettingId } from '../shared/settings';
import { skipLayersProblem } from '../shared/skipLayers';
import type { NativeGenerateParams } from './native';

export class SettingsError extends Error {}

declare const validated: unique symbol;
/**
 * Settings that passed `validateSettings`. EngineService.generate takes only these, so a reply's
 * settings are checked once, where they come in (the app, the server, the CLI); the addon checks
 * again as the last line of defence.
 */
export type ValidSettings = GenerateSettings & { readonly [validated]: true };

function checkNumber(s: NumberSetting, v: unknown, max = s.max): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SettingsError(`${s.name} must be a number`);
  if (s.int && !Number.isInteger(v)) throw new SettingsError(`${s.name} must be an integer`);
  if ((s.minExclusive ? v <= s.min : v < s.min) || v > max) {
    const range = s.minExclusive ? `above ${s.min} and at most ${max}` : `between ${s.min} and ${max}`;
    throw new SettingsError(`${s.name} must be ${range} (got ${v})`);
  }
}

/** Merges a partial settings object over the defaults and checks every field (the skip count against `nLayer` when given). */
export function validateSettings(partial: Partial<GenerateSettings>, nLayer?: number): ValidSettings {
  const s: GenerateSettings = { ...DEFAULT_SETTINGS, ...stripUndefined(partial) };
  if (!(MODE_VALUES as readonly string[]).includes(s.mode)) {
    throw new SettingsError(`mode must be ar, clasp or static (got ${JSON.stringify(s.mode)})`);
  }
  for (const id of Object.keys(NUMBER_SETTINGS) as NumberSettingId[]) {
    const v = s[id];
    if (id === 'skip' && v === 'auto') continue;
    if ((id === 'skipRatio' || id === 'det' || id === 'loi') && v === undefined) continue; // optional: off (ratio) or automatic (det, loi) until set
    if (id === 'maxTokens' && v === 0) continue; // the prompt only: ModelManager queues one as a barrier
    checkNumber(NUMBER_SETTINGS[id], v, id === 'skip' && nLayer !== undefined ? nLayer - 1 : undefined);
  }
  if (s.skipLayers !== undefined) checkSkipLayers(s, nLayer);
  if (typeof s.ignoreEos !== 'boolean') throw new SettingsError('ignoreEos must be a boolean');
  if (typeof s.dpTable !== 'boolean') throw new SettingsError('dpTable must be a boolean');
  if (s.forceSpeculation !== undefined && typeof s.forceSpeculation !== 'boolean') throw new SettingsError('forceSpeculation must be a boolean');
  return s as ValidSettings;
}

/** A given skip set: a list of layer indices, in static mode, with neither a skip count nor a ratio beside it. */
function checkSkipLayers(s: GenerateSettings, nLayer?: number): void {
  const list: unknown = s.skipLayers;
  if (!Array.isArray(list) || list.some((l) => typeof l !== 'number')) throw new SettingsError('skip layers must be a list of layer indices');
  if (s.mode !== 'static') throw new SettingsError(`skip layers need mode static (a given skip set is kept for the whole reply), not ${s.mode}`);
  if (s.skip !== 'auto' || s.skipRatio !== undefined) throw new SettingsError('skip layers set M themselves: leave skip and skip ratio unset');
  const problem = skipLayersProblem(list as number[], nLayer);
  if (problem) throw new SettingsError(problem);
}

/** The object without its undefined fields (so a merge over defaults keeps the defaults). */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * The addon's parameters. Skip and skip ratio are resolved here, by the shared rule (effectiveSkip:
 * a ratio wins), so the engine always gets one explicit M and runs what the trace and panel say.
 */
export function toNativeParams(s: GenerateSettings, nLayer: number): NativeGenerateParams {
  const skip = effectiveSkip(s, nLayer);
  return {
    maxTokens: s.maxTokens,
    temperature: s.temperature,
    topK: s.topK,
    topP: s.topP,
    seed: s.seed,
    ignoreEos: s.ignoreEos,
    mode: s.mode,
    skip: skip === 'auto' ? -1 : skip,
    ...(s.skipLayers ? { skipLayers: [...s.skipLayers].sort((a, b) => a - b) } : {}),
    det: s.det,
    maxDraft: s.maxDraft,
    loi: s.loi,
    dpTable: s.dpTable,
    forceSpeculation: s.forceSpeculation ?? false,
  };
}
