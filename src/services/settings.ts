// Validation of generation settings from any front door (CLI flags, API bodies, the UI), with
// messages that name the setting and its allowed range.
import { DEFAULT_SETTINGS, type GenerateSettings, type Mode } from '../shared/engineTypes';
import type { NativeGenerateParams } from './native';

export class SettingsError extends Error {}

function num(name: string, v: unknown, lo: number, hi: number, integer = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SettingsError(`${name} must be a number`);
  if (integer && !Number.isInteger(v)) throw new SettingsError(`${name} must be an integer`);
  if (v < lo || v > hi) throw new SettingsError(`${name} must be between ${lo} and ${hi} (got ${v})`);
  return v;
}

/** Merges a partial settings object over the defaults and checks every field. */
export function validateSettings(partial: Partial<GenerateSettings>, nLayer?: number): GenerateSettings {
  const s: GenerateSettings = { ...DEFAULT_SETTINGS, ...stripUndefined(partial) };
  num('max tokens', s.maxTokens, 0, 1_000_000, true);
  num('temperature', s.temperature, 0, 100);
  num('top-k', s.topK, 0, 1_000_000, true);
  if (typeof s.topP !== 'number' || !(s.topP > 0 && s.topP <= 1)) throw new SettingsError('top-p must be in (0, 1]');
  num('seed', s.seed, 0, Number.MAX_SAFE_INTEGER, true);
  if (!['ar', 'clasp', 'static'].includes(s.mode)) {
    throw new SettingsError(`mode must be ar, clasp or static (got ${JSON.stringify(s.mode)})`);
  }
  if (s.skip !== 'auto') {
    num('skip', s.skip, 0, nLayer !== undefined ? nLayer - 1 : 4096, true);
  }
  if (s.skipRatio !== undefined) num('skip ratio', s.skipRatio, 0, 0.99);
  if (s.det !== undefined) num('det', s.det, 0, 1);
  num('max draft', s.maxDraft, 1, 64, true);
  if (s.loi !== undefined) num('loi', s.loi, 1, 100_000, true);
  if (typeof s.ignoreEos !== 'boolean') throw new SettingsError('ignoreEos must be a boolean');
  if (typeof s.dpTable !== 'boolean') throw new SettingsError('dpTable must be a boolean');
  return s;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

export function toNativeParams(s: GenerateSettings): NativeGenerateParams {
  return {
    maxTokens: s.maxTokens,
    temperature: s.temperature,
    topK: s.topK,
    topP: s.topP,
    seed: s.seed,
    ignoreEos: s.ignoreEos,
    mode: s.mode as Mode,
    skip: s.skip === 'auto' ? -1 : s.skip,
    skipRatio: s.skipRatio,
    det: s.det,
    maxDraft: s.maxDraft,
    loi: s.loi,
    dpTable: s.dpTable,
  };
}
