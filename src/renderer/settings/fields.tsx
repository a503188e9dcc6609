// Small form controls for the settings: a number field that commits on Enter or blur (and shows,
// rather than silently clamps, an out-of-range value), the skip field ('auto' or a count), and the
// mode select.
import { useEffect, useState } from 'react';
import type { ChatSettings } from '@shared/api';

export const MODE_HELP: Record<ChatSettings['mode'], string> = {
  ar: 'Plain decoding, one full forward pass per token: the baseline.',
  clasp: 'CLaSp: draft with layers skipped, verify with all of them, and re-choose the skipped layers with the DP as the text goes on.',
  static: 'One skip set, chosen once by the DP on the prompt and then kept: plain layer skipping, for comparison.',
};

export function ModeSelect({ value, onChange, id = 'settings-mode' }: { value: ChatSettings['mode']; onChange(v: ChatSettings['mode']): void; id?: string }) {
  return (
    <select id={id} data-testid={id} value={value} title={MODE_HELP[value]} onChange={(e) => onChange(e.target.value as ChatSettings['mode'])}>
      <option value="clasp">CLaSp</option>
      <option value="static">Static skip</option>
      <option value="ar">Plain (ar)</option>
    </select>
  );
}

export function parseSkip(text: string, nLayer: number | null): 'auto' | number | null {
  const t = text.trim().toLowerCase();
  if (t === 'auto' || t === '') return 'auto';
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  if (nLayer !== null && n >= nLayer) return null;
  return n;
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
  label: string;
  help: string;
  value: number | undefined;
  def?: number | string;
  min: number;
  max: number;
  step?: number;
  int?: boolean;
  /** exclusive lower bound (top-p must be above 0) */
  minExclusive?: boolean;
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
  const valid =
    (empty && !!p.optional) ||
    (!empty && Number.isFinite(n) && (p.minExclusive ? n > p.min : n >= p.min) && n <= p.max && (!p.int || Number.isInteger(n)));
  const commit = () => {
    if (!valid) {
      setText(p.value === undefined ? '' : String(p.value));
      return;
    }
    const v = empty ? undefined : n;
    if (v !== p.value) p.onCommit(v);
  };
  const range = `${p.minExclusive ? '>' : ''}${p.min} to ${p.max}${p.int ? ', whole number' : ''}`;
  return (
    <label className={`field ${p.disabled ? 'disabled' : ''}`} htmlFor={p.id}>
      <span className="field-label">
        {p.label}
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
      <span className="field-help">{valid ? p.help : `Must be ${range}.`}</span>
    </label>
  );
}
