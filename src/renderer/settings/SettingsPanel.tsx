// The conversation's generation settings with their defaults and what each one does. The fields
// are generated from the settings table (src/shared/settings.ts): its order, groups, labels, ranges,
// help and the modes each setting acts in. Mode and skip also sit in the composer's toolbar.
import type { SettingsPatch } from '@shared/api';
import { changedSettings, defaultChatSettings, effectiveSkip, MODES, NUMBER_SETTINGS, resetPatch, type NumberSettingId } from '@shared/settings';
import { Icon } from '../components/Icon';
import { useApp } from '../store';
import { MODE_HELP, ModeSelect, NumField, SkipInput } from './fields';

const IDS = Object.keys(NUMBER_SETTINGS) as NumberSettingId[];
const GROUPS = [
  { group: 'decoding', title: 'Decoding' },
  { group: 'sampling', title: 'Sampling' },
] as const;

/** settings-max-draft for maxDraft: the data-testid values of docs/UI.md. */
const testId = (id: string) => `settings-${id.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

const FRESH_SEED_HELP = 'Off: each reply draws a fresh seed (kept with the reply), so Regenerate gives a new sample.';

export function SettingsPanel() {
  const conv = useApp((s) => s.conversations.find((c) => c.id === s.activeId) ?? null);
  const update = useApp((s) => s.updateSettings);
  const toggle = useApp((s) => s.toggleSettings);
  const nLayer = useApp((s) => s.current?.nLayer ?? null);
  const modelDefaults = useApp((s) => s.modelDefaults);
  if (!conv) return null;
  const D = defaultChatSettings(modelDefaults ?? undefined);
  const s = conv.settings;
  const set = (patch: SettingsPatch) => void update(conv.id, patch);
  // The shared precedence rule (a ratio wins over skip): the same M the engine and the trace get.
  const M = s.skipRatio !== undefined && nLayer ? effectiveSkip(s, nLayer) : null;
  const changed = new Set(changedSettings(s, D));

  /** The help line: the table's, or one that says what this model or the other settings make of it. */
  const helpOf = (id: NumberSettingId): string => {
    const h = NUMBER_SETTINGS[id].help;
    if (id === 'skip') {
      if (s.skipRatio !== undefined) return `Set by the skip ratio below${M !== null ? `: M = ${M}` : ''}.`;
      return nLayer ? `${h} This model: 0 to ${nLayer - 1}.` : h;
    }
    if (id === 'skipRatio') return nLayer ? `${h} This model has ${nLayer} layers.` : h;
    if (id === 'seed') return s.fixedSeed ? h : FRESH_SEED_HELP;
    return h;
  };

  const field = (id: NumberSettingId) => {
    const spec = NUMBER_SETTINGS[id];
    const idle = 'modes' in spec && !(spec.modes as readonly string[]).includes(s.mode);
    if (id === 'skip') {
      return (
        <label key={id} className={`field ${idle ? 'disabled' : ''} ${changed.has('skip') ? 'changed' : ''}`} data-changed={changed.has('skip') ? 'yes' : undefined}>
          <span className="field-label">
            <span>
              {spec.label}
              {changed.has('skip') && <span className="changed-dot" title="Changed from the default" aria-label="changed from the default" />}
            </span>
            <span className="field-def">default {String(D.skip)}</span>
          </span>
          <SkipInput
            id="settings-skip-panel"
            value={s.skip}
            nLayer={nLayer}
            disabled={idle || s.skipRatio !== undefined}
            shown={M !== null ? String(M) : undefined}
            onCommit={(skip) => set({ skip })}
          />
          <span className="field-help">{helpOf(id)}</span>
        </label>
      );
    }
    const optional = !('default' in spec);
    const input = (
      <NumField
        key={id}
        id={testId(id)}
        spec={spec}
        help={helpOf(id)}
        value={s[id]}
        def={optional ? undefined : D[id]}
        optional={optional}
        placeholder={optional ? ('unset' in spec ? spec.unset : 'off') : undefined}
        disabled={idle || (id === 'seed' && !s.fixedSeed)}
        changed={changed.has(id)}
        onCommit={(v) => (optional ? set({ [id]: v ?? null }) : v !== undefined && set({ [id]: v }))}
      />
    );
    if (id !== 'seed') return input;
    return (
      <div key={id} className="field-stack">
        {input}
        <label className="check">
          <input type="checkbox" data-testid="settings-fixed-seed" checked={!!s.fixedSeed} onChange={(e) => set({ fixedSeed: e.target.checked })} />
          Fixed seed
        </label>
      </div>
    );
  };

  return (
    <section className="settings-panel" data-testid="settings-panel" aria-label="Generation settings">
      <header>
        <h2>Generation settings</h2>
        <span className="settings-scope">
          for this conversation
          {changed.size > 0 && (
            <span className="settings-changed" data-testid="settings-changed-count">
              {' '}
              · {changed.size} changed from the defaults
            </span>
          )}
        </span>
        <button className="btn tiny ghost" data-testid="settings-reset" onClick={() => set(resetPatch(D))} title="Reset every setting to its default, the optional ones (skip ratio, DET, LOI) included">
          Reset to defaults
        </button>
        <button className="icon-btn" aria-label="Close settings" onClick={() => toggle(false)}>
          <Icon name="close" size={14} />
        </button>
      </header>

      {GROUPS.map(({ group, title }) => (
        <div key={group} className="settings-group">
          <h3>{title}</h3>
          <div className="settings-grid">
            {group === 'decoding' && (
              <label className={`field ${changed.has('mode') ? 'changed' : ''}`} htmlFor="settings-mode-panel" data-changed={changed.has('mode') ? 'yes' : undefined}>
                <span className="field-label">
                  <span>
                    Mode
                    {changed.has('mode') && <span className="changed-dot" title="Changed from the default" aria-label="changed from the default" />}
                  </span>
                  <span className="field-def">default {MODES.find((m) => m.value === D.mode)?.label}</span>
                </span>
                <ModeSelect id="settings-mode-panel" value={s.mode} onChange={(mode) => set({ mode })} />
                <span className="field-help">{MODE_HELP[s.mode]}</span>
              </label>
            )}
            {IDS.filter((id) => NUMBER_SETTINGS[id].group === group).map(field)}
          </div>
        </div>
      ))}
    </section>
  );
}
