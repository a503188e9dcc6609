// The conversation's generation settings with their defaults and what each one does. Mode and skip
// also sit in the composer's toolbar; this panel holds everything.
import type { ChatSettings } from '@shared/api';
import { DEFAULT_SETTINGS } from '@shared/engineTypes';
import { Icon } from '../components/Icon';
import { useApp } from '../store';
import { MODE_HELP, ModeSelect, NumField, SkipInput } from './fields';

/** The settings a new conversation starts from (as the backend makes them): CLaSp's defaults, the model's sampling defaults. */
export function appDefaults(d: { temperature: number; topP: number; topK: number } | null): ChatSettings {
  return {
    mode: DEFAULT_SETTINGS.mode,
    skip: DEFAULT_SETTINGS.skip,
    maxDraft: DEFAULT_SETTINGS.maxDraft,
    temperature: d?.temperature ?? 0.6,
    topP: d?.topP ?? 0.9,
    topK: d?.topK ?? 0,
    seed: 0,
    maxTokens: 512,
    fixedSeed: false,
  };
}

export function SettingsPanel() {
  const conv = useApp((s) => s.conversations.find((c) => c.id === s.activeId) ?? null);
  const update = useApp((s) => s.updateSettings);
  const toggle = useApp((s) => s.toggleSettings);
  const nLayer = useApp((s) => s.current?.nLayer ?? null);
  const modelDefaults = useApp((s) => s.modelDefaults);
  if (!conv) return null;
  const D = appDefaults(modelDefaults);
  const s = conv.settings;
  const set = (patch: Partial<ChatSettings>) => void update(conv.id, patch);
  const ar = s.mode === 'ar';
  const M = s.skipRatio !== undefined && nLayer ? Math.round(s.skipRatio * nLayer) : null;

  return (
    <section className="settings-panel" data-testid="settings-panel" aria-label="Generation settings">
      <header>
        <h2>Generation settings</h2>
        <span className="settings-scope">for this conversation</span>
        <button className="btn tiny ghost" data-testid="settings-reset" onClick={() => set({ ...D })} title="Reset every setting to its default">
          Reset to defaults
        </button>
        <button className="icon-btn" aria-label="Close settings" onClick={() => toggle(false)}>
          <Icon name="close" size={14} />
        </button>
      </header>

      <div className="settings-group">
        <h3>Decoding</h3>
        <div className="settings-grid">
          <label className="field" htmlFor="settings-mode-panel">
            <span className="field-label">
              Mode <span className="field-def">default CLaSp</span>
            </span>
            <ModeSelect id="settings-mode-panel" value={s.mode} onChange={(mode) => set({ mode })} />
            <span className="field-help">{MODE_HELP[s.mode]}</span>
          </label>
          <label className={`field ${ar ? 'disabled' : ''}`}>
            <span className="field-label">
              Skip (M) <span className="field-def">default auto</span>
            </span>
            <SkipInput id="settings-skip-panel" value={s.skip} nLayer={nLayer} disabled={ar || s.skipRatio !== undefined} onCommit={(skip) => set({ skip })} />
            <span className="field-help">
              {s.skipRatio !== undefined
                ? `Set by the skip ratio below${M !== null ? `: M = ${M}` : ''}.`
                : `Layers skipped while drafting. “auto” lets the adaptive policy choose and change M; a count is honoured exactly${nLayer ? ` (0 to ${nLayer - 1})` : ''}.`}
            </span>
          </label>
          <NumField
            id="settings-skip-ratio"
            label="Skip ratio"
            help={`Optional: M = round(ratio × layers)${nLayer ? `, of ${nLayer}` : ''}. Overrides Skip when set; clear it to use Skip.`}
            value={s.skipRatio}
            optional
            placeholder="off"
            min={0}
            max={0.99}
            disabled={ar}
            onCommit={(skipRatio) => set({ skipRatio })}
          />
          <NumField
            id="settings-det"
            label="Draft-exit threshold (DET)"
            help="Drafting stops once the chain's confidence (the product of the drafts' top-1 probabilities) falls below this. Empty: chosen from the measured costs."
            value={s.det}
            optional
            placeholder="auto"
            min={0}
            max={1}
            disabled={ar}
            onCommit={(det) => set({ det })}
          />
          <NumField
            id="settings-max-draft"
            label="Max draft (K)"
            help="The most tokens drafted per verify round."
            value={s.maxDraft}
            def={D.maxDraft}
            min={1}
            max={64}
            int
            disabled={ar}
            onCommit={(maxDraft) => maxDraft !== undefined && set({ maxDraft })}
          />
          <NumField
            id="settings-loi"
            label="Layer-optimisation interval (LOI)"
            help="Verify rounds between DP runs that re-choose the skipped layers. Empty: the smallest that keeps the DP under 5% of decoding time."
            value={s.loi}
            optional
            placeholder="auto"
            min={1}
            max={100000}
            int
            disabled={ar || s.mode === 'static'}
            onCommit={(loi) => set({ loi })}
          />
        </div>
      </div>

      <div className="settings-group">
        <h3>Sampling</h3>
        <div className="settings-grid">
          <NumField
            id="settings-temperature"
            label="Temperature"
            help="0 is greedy: the same text in every mode. Higher is more varied."
            value={s.temperature}
            def={D.temperature}
            min={0}
            max={100}
            onCommit={(temperature) => temperature !== undefined && set({ temperature })}
          />
          <NumField
            id="settings-top-p"
            label="Top-p"
            help="Sample from the smallest set of tokens whose probabilities add up to p. 1 is off."
            value={s.topP}
            def={D.topP}
            min={0}
            minExclusive
            max={1}
            onCommit={(topP) => topP !== undefined && set({ topP })}
          />
          <NumField
            id="settings-top-k"
            label="Top-k"
            help="Sample from the k most likely tokens. 0 is off."
            value={s.topK}
            def={D.topK}
            min={0}
            max={1_000_000}
            int
            onCommit={(topK) => topK !== undefined && set({ topK })}
          />
          <div className="field-stack">
            <NumField
              id="settings-seed"
              label="Seed"
              help={s.fixedSeed ? 'Every reply uses this seed: the same settings give the same sampled text.' : 'Off: each reply draws a fresh seed (kept with the reply), so Regenerate gives a new sample.'}
              value={s.seed}
              def={D.seed}
              min={0}
              max={Number.MAX_SAFE_INTEGER}
              int
              disabled={!s.fixedSeed}
              onCommit={(seed) => seed !== undefined && set({ seed })}
            />
            <label className="check">
              <input type="checkbox" data-testid="settings-fixed-seed" checked={!!s.fixedSeed} onChange={(e) => set({ fixedSeed: e.target.checked })} />
              Fixed seed
            </label>
          </div>
          <NumField
            id="settings-max-tokens"
            label="Max tokens"
            help="The longest reply, in tokens. The model's context also limits it."
            value={s.maxTokens}
            def={D.maxTokens}
            min={1}
            max={100_000}
            int
            onCommit={(maxTokens) => maxTokens !== undefined && set({ maxTokens })}
          />
        </div>
      </div>
    </section>
  );
}
