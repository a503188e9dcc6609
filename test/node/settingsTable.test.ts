// The settings table (src/shared/settings.ts) is the one place the ranges are written: every
// consumer (the app's zod schema, the OpenAI server's `clasp` object, the engine-side validation and
// the settings panel's range check) must accept exactly the table's range, at both ends.
import { describe, expect, it } from 'vitest';
import { settingsSchema } from '../../src/shared/api';
import { DEFAULT_SETTINGS } from '../../src/shared/engineTypes';
import { CLASP_DEFAULTS, defaultChatSettings, inRange, LLAMA3_SAMPLING, NUMBER_SETTINGS, rangeText, type NumberSetting, type NumberSettingId } from '../../src/shared/settings';
import { claspSchema } from '../../src/server/openaiSchemas';
import { SettingsError, validateSettings } from '../../src/services/settings';

const IDS = Object.keys(NUMBER_SETTINGS) as NumberSettingId[];
/** The OpenAI server's `clasp` fields and the settings they set. */
const CLASP_WIRE: Partial<Record<NumberSettingId, string>> = { skip: 'skip', skipRatio: 'skip_ratio', det: 'det', maxDraft: 'max_draft', loi: 'loi' };

/** Values just inside and just outside a row's range. */
function probes(id: NumberSettingId): { ok: number[]; bad: number[] } {
  const s: NumberSetting = NUMBER_SETTINGS[id];
  const step = s.int ? 1 : 0.001;
  const ok = [s.minExclusive ? s.min + step : s.min, s.max];
  const bad = [s.minExclusive ? s.min : s.min - step, s.max + (s.max >= Number.MAX_SAFE_INTEGER ? 2 : step)];
  if (s.int) bad.push(s.min + 0.5);
  return { ok, bad };
}

describe('the settings table', () => {
  it('gives every row a label, help, a sane range and a default inside it', () => {
    for (const id of IDS) {
      const s = NUMBER_SETTINGS[id];
      expect(s.label.length, id).toBeGreaterThan(0);
      expect(s.help.length, id).toBeGreaterThan(10);
      expect(s.min, id).toBeLessThan(s.max);
      if ('default' in s) expect(inRange(s, s.default), id).toBe(true);
    }
    expect(rangeText(NUMBER_SETTINGS.topP)).toBe('>0 to 1');
    expect(rangeText(NUMBER_SETTINGS.maxDraft)).toBe('1 to 64, whole number');
  });

  it('is the range of the app schema, the engine check and the panel, at both ends', () => {
    const base = defaultChatSettings();
    for (const id of IDS) {
      const { ok, bad } = probes(id);
      for (const v of ok) {
        expect(settingsSchema.safeParse({ ...base, [id]: v }).success, `${id}=${v} in the app schema`).toBe(true);
        expect(() => validateSettings({ [id]: v }), `${id}=${v} in validateSettings`).not.toThrow();
        expect(inRange(NUMBER_SETTINGS[id], v), `${id}=${v} in the panel`).toBe(true);
      }
      for (const v of bad) {
        expect(settingsSchema.safeParse({ ...base, [id]: v }).success, `${id}=${v} in the app schema`).toBe(false);
        expect(inRange(NUMBER_SETTINGS[id], v), `${id}=${v} in the panel`).toBe(false);
        // max tokens 0 is the engine's prompt-only call; every other value out of range is refused
        if (!(id === 'maxTokens' && v === 0)) expect(() => validateSettings({ [id]: v }), `${id}=${v} in validateSettings`).toThrow(SettingsError);
      }
    }
  });

  it('is the range of the OpenAI server’s clasp object', () => {
    for (const [id, wire] of Object.entries(CLASP_WIRE) as [NumberSettingId, string][]) {
      const { ok, bad } = probes(id);
      for (const v of ok) expect(claspSchema.safeParse({ [wire]: v }).success, `clasp.${wire}=${v}`).toBe(true);
      for (const v of bad) expect(claspSchema.safeParse({ [wire]: v }).success, `clasp.${wire}=${v}`).toBe(false);
    }
  });

  it('names the setting and its range when a value is refused', () => {
    expect(() => validateSettings({ maxDraft: 65 })).toThrow('max draft must be between 1 and 64 (got 65)');
    expect(() => validateSettings({ topP: 0 })).toThrow('top-p must be above 0 and at most 1 (got 0)');
    expect(() => validateSettings({ skip: 32 }, 32)).toThrow('skip must be between 0 and 31 (got 32)');
    expect(() => validateSettings({ loi: 2.5 })).toThrow('loi must be an integer');
  });

  it('holds the one copy of the defaults: CLaSp’s, Llama 3’s sampling, a new conversation’s', () => {
    // det and loi have no default: absent means the policy chooses them (docs/NUMBERS.md)
    expect(CLASP_DEFAULTS).toEqual({ mode: 'clasp', skip: 'auto', maxDraft: 12 });
    expect(LLAMA3_SAMPLING).toEqual({ temperature: 0.6, topP: 0.9, topK: 0 });
    expect(DEFAULT_SETTINGS).toMatchObject(CLASP_DEFAULTS);
    const chat = defaultChatSettings({ temperature: 1, topP: 0.5, topK: 40 });
    expect(chat).toMatchObject({ ...CLASP_DEFAULTS, temperature: 1, topP: 0.5, topK: 40, maxTokens: 512, seed: 0, fixedSeed: false });
    expect(settingsSchema.parse(chat)).toEqual(chat);
  });
});
