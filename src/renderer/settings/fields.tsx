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

export function SkipInput({ value, nLayer, onCommit, disabled, id = 'settings-skip' }: { value: 'auto' | number; nLayer: number | null; onCommit(v: 'auto' | number): void; disabled?: boolean; id?: string }) {
  const [text, setText] = useState(String(value));
  useEffect(() => setText(String(value)), [value]);
  const parsed = parseSkip(text, nLayer);
  const commit = () => {
    if (parsed === null) setText(String(value));
    else if (parsed !== value) onCommit(parsed);
  };
  return (
    <input
      id={id}
      data-testid={id}
      className={`skip-input ${parsed === null ? 'invalid' : ''}`}
      value={text}
      disabled={disabled}
      inputMode="numeric"
      aria-label="Layers to skip while drafting"
      aria-invalid={parsed === null}
      title={parsed === null ? `'auto' or a whole number below ${nLayer ?? 'the layer count'}` : 'auto: the adaptive policy picks M; a number is honoured exactly'}
      onChange={(e) => setText(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commit();
        if (e.key === 'Escape') setText(String(value));
      }}
    />
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
  onCommit(v: number | undefined): void;
}

export function NumField(p: NumFieldProps) {
  const [text, setText] = useState(p.value === undefined ? '' : String(p.value));
  useEffect(() => setText(p.value === undefined ? '' : String(p.value)), [p.value]);
  const trimmed = text.trim();
  const n = Number(trimmed);
  const empty = trimmed === '';
  const valid = empty ? !!p.optional : inRange(p.spec, n);
  const commit = () => {
    if (!valid) {
      setText(p.value === undefined ? '' : String(p.value));
      return;
    }
    const v = empty ? undefined : n;
    if (v !== p.value) p.onCommit(v);
  };
  return (
    <label className={`field ${p.disabled ? 'disabled' : ''}`} htmlFor={p.id}>
      <span className="field-label">
        {p.spec.label}
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
        }}
      />
      <span className="field-help">{valid ? p.help : `Must be ${rangeText(p.spec)}.`}</span>
    </label>
  );
}
