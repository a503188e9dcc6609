// Small form controls for the settings: a number field that commits on Enter or blur (and shows,
// rather than silently clamps, an out-of-range value), the skip field ('auto' or a count), and the
// mode select. Labels, ranges and help come from the settings table (src/shared/settings.ts).
import { useEffect, useState } from 'react';
import { inRange, MODES, NUMBER_SETTINGS, rangeText, type Mode, type NumberSetting } from '@shared/settings';

export const MODE_HELP = Object.fromEntries(MODES.map((m) => [m.value, m.help])) as Record<Mode, string>;

export function ModeSelect({ value, onChange, id = 'settings-mode' }: { value: Mode; onChange(v: Mode): void; id?: string }) {
  return (
    <select id={id} data-testid={id} value={value} title={MODE_HELP[value]} onChange={(e) => onChange(e.target.value as Mode)}>
      {MODES.map((m) => (
        <option key={m.value} value={m.value}>
          {m.label}
        </option>
      ))}
    </select>
  );
}

/** The skip field's text as a setting: 'auto' (or empty), a count below the layer count, or null (invalid). */
export function parseSkip(text: string, nLayer: number | null): 'auto' | number | null {
  const t = text.trim().toLowerCase();
  if (t === 'auto' || t === '') return 'auto';
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return inRange(NUMBER_SETTINGS.skip, n, nLayer !== null ? nLayer - 1 : undefined) ? n : null;
}

/** Why a skip text is not a setting, in one line. */
export const skipError = (nLayer: number | null) => `Must be auto or a whole number from 0 to ${nLayer !== null ? nLayer - 1 : 'the layer count - 1'}.`;

/**
 * The skip field. An invalid value stays in the box, marked, with a one-line reason under it (never
 * reverted silently); Escape goes back to the stored value. `shown` replaces the value while the skip
 * ratio decides M (the field is then disabled and shows the M that runs).
 */
export function SkipInput({ value, nLayer, onCommit, disabled, shown, id = 'settings-skip' }: { value: 'auto' | number; nLayer: number | null; onCommit(v: 'auto' | number): void; disabled?: boolean; shown?: string; id?: string }) {
  const [text, setText] = useState(String(value));
  const [tried, setTried] = useState(false);
  useEffect(() => {
    setText(String(value));
    setTried(false);
  }, [value]);
  const parsed = parseSkip(text, nLayer);
  const commit = () => {
    setTried(parsed === null);
    if (parsed !== null && parsed !== value) onCommit(parsed);
  };
  return (
    <span className="skip-wrap">
      <input
        id={id}
        data-testid={id}
        className={`skip-input ${parsed === null ? 'invalid' : ''}`}
        value={shown ?? text}
        disabled={disabled}
        inputMode="numeric"
        aria-label="Layers to skip while drafting"
        aria-invalid={parsed === null}
        aria-describedby={tried ? `${id}-error` : undefined}
        title={parsed === null ? skipError(nLayer) : 'auto: the adaptive policy picks M; a number is honoured exactly'}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
          if (e.key === 'Escape') {
            setText(String(value));
            setTried(false);
          }
        }}
      />
      {tried && parsed === null && (
        <span className="field-error skip-error" id={`${id}-error`} data-testid="field-error" role="alert">
          {skipError(nLayer)}
        </span>
      )}
    </span>
  );
}

export interface NumFieldProps {
  id: string;
  /** the setting's row in the table: label, range, whole number or not */
  spec: NumberSetting;
  /** the help line (the table's, or one that says more about this model) */
  help: string;
  value: number | undefined;
  def?: number;
  /** allow clearing the field (optional settings) */
  optional?: boolean;
  placeholder?: string;
  disabled?: boolean;
  /** differs from the default: marked, so a user sees what they changed */
  changed?: boolean;
  onCommit(v: number | undefined): void;
}

export function NumField(p: NumFieldProps) {
  const [text, setText] = useState(p.value === undefined ? '' : String(p.value));
  const [tried, setTried] = useState(false);
  useEffect(() => {
    setText(p.value === undefined ? '' : String(p.value));
    setTried(false);
  }, [p.value]);
  const trimmed = text.trim();
  const n = Number(trimmed);
  const empty = trimmed === '';
  const valid = empty ? !!p.optional : inRange(p.spec, n);
  // An invalid value stays, marked, with its reason; it is never sent and never silently reverted.
  const commit = () => {
    setTried(!valid);
    if (!valid) return;
    const v = empty ? undefined : n;
    if (v !== p.value) p.onCommit(v);
  };
  const reason = empty ? `${p.spec.label} needs a value (${rangeText(p.spec)}).` : `Must be ${rangeText(p.spec)}.`;
  return (
    <label className={`field ${p.disabled ? 'disabled' : ''} ${p.changed ? 'changed' : ''}`} htmlFor={p.id} data-changed={p.changed ? 'yes' : undefined}>
      <span className="field-label">
        <span>
          {p.spec.label}
          {p.changed && <span className="changed-dot" title="Changed from the default" aria-label="changed from the default" />}
        </span>
        {p.def !== undefined && <span className="field-def">default {p.def}</span>}
      </span>
      <input
        id={p.id}
        data-testid={p.id}
        className={valid ? '' : 'invalid'}
        value={text}
        inputMode="decimal"
        placeholder={p.placeholder}
        disabled={p.disabled}
        aria-invalid={!valid}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
          if (e.key === 'Escape') {
            setText(p.value === undefined ? '' : String(p.value));
            setTried(false);
          }
        }}
      />
      {valid ? (
        <span className="field-help">{p.help}</span>
      ) : (
        <span className={`field-help ${tried ? 'field-error' : ''}`} data-testid={tried ? 'field-error' : undefined} role={tried ? 'alert' : undefined}>
          {reason} {tried && 'Not saved; Esc restores the saved value.'}
        </span>
      )}
    </label>
  );
}
