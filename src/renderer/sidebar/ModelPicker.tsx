// Picks the model (recently used first; in the browser also from the Open model… dialog), shows load
// progress and the device it runs on (a neutral chip; why there is no GPU sits behind a click). A
// switch that would stop a running reply asks first: the backend refuses to switch under a streaming reply.
import { useMemo, useState } from 'react';
import type { ModelListItem } from '@shared/api';
import { Icon } from '../components/Icon';
import { appShell } from '../lib/client';
import { fmtBytes } from '../lib/format';
import { useApp } from '../store';
import { OpenModelDialog } from './OpenModelDialog';

const GROUPS = [
  { source: 'models-dir', label: 'Models' },
  { source: 'lmstudio', label: 'LM Studio' },
  { source: 'ollama', label: 'Ollama' },
  { source: 'hf-cache', label: 'Hugging Face cache' },
] as const;

/** "llama3.2:1b · llama Q8_0 · 1.3 GB", and why not when the engine cannot run it. */
function optionLabel(m: ModelListItem): string {
  const about = [m.arch && m.quant ? `${m.arch} ${m.quant}` : (m.arch ?? m.quant), m.bytes > 0 ? fmtBytes(m.bytes) : null].filter(Boolean).join(' · ');
  return `${m.name}${about ? ` · ${about}` : ''}${m.supported === false ? ` (cannot load: ${m.reason})` : ''}`;
}

export function ModelPicker() {
  const models = useApp((s) => s.models);
  const current = useApp((s) => s.current);
  const load = useApp((s) => s.modelLoad);
  const loadModel = useApp((s) => s.loadModel);
  const busy = useApp((s) => !!s.activeReply || !!s.sending);
  const stop = useApp((s) => s.stop);
  const [pending, setPending] = useState<string | null>(null);
  const [browsing, setBrowsing] = useState(false);
  const pick = (path: string) => {
    if (busy) setPending(path);
    else void loadModel(path);
  };
  const pendingName = pending ? (models.find((m) => m.path === pending)?.name ?? pending.split(/[\\/]/).pop()) : null;

  // models:list holds the recent ones first, most recent first.
  const { recentItems, others } = useMemo(() => ({ recentItems: models.filter((m) => m.recent), others: models.filter((m) => !m.recent) }), [models]);

  const value = load?.path ?? current?.path ?? '';
  const known = models.some((m) => m.path === value);
  return (
    <div className="model-picker">
      <div className="model-picker-head">
        <label className="side-label" htmlFor="model-picker">
          Model
        </label>
        {/* In Electron, File › Open Model… shows the system's own dialog. */}
        {appShell === 'browser' && (
          <button className="btn tiny ghost" data-testid="open-model" disabled={!!load} onClick={() => setBrowsing(true)}>
            <Icon name="folder" size={12} /> Open model…
          </button>
        )}
      </div>
      {browsing && <OpenModelDialog onPick={pick} onClose={() => setBrowsing(false)} />}
      <select
        id="model-picker"
        data-testid="model-picker"
        value={value}
        disabled={!!load}
        onChange={(e) => pick(e.target.value)}
      >
        {!known && <option value={value}>{current?.name ?? (value ? value.split(/[\\/]/).pop() : 'No model loaded')}</option>}
        {recentItems.length > 0 && (
          <optgroup label="Recent">
            {recentItems.map((m) => (
              <option key={m.path} value={m.path}>
                {m.name}
              </option>
            ))}
          </optgroup>
        )}
        {GROUPS.map(({ source, label }) => {
          const items = others.filter((m) => (m.source ?? 'models-dir') === source || (source === 'models-dir' && !m.source));
          if (items.length === 0) return null;
          return (
            <optgroup key={source} label={source === 'models-dir' ? (recentItems.length ? 'Available' : 'Models') : label}>
              {items.map((m) => (
                <option key={m.path} value={m.path} disabled={m.supported === false} title={m.supported === false ? `Cannot load: ${m.reason}` : m.path} data-source={m.source}>
                  {optionLabel(m)}
                </option>
              ))}
            </optgroup>
          );
        })}
      </select>
      {pending && (
        <div className="model-switch-confirm" data-testid="model-switch-confirm" role="alertdialog" aria-label="Switch models">
          <span>A reply is being written. Stop it and load {pendingName}?</span>
          <span className="confirm-actions">
            <button className="btn tiny ghost" data-testid="model-switch-cancel" onClick={() => setPending(null)}>
              Keep writing
            </button>
            <button
              className="btn tiny danger"
              data-testid="model-switch-stop"
              onClick={async () => {
                const path = pending;
                setPending(null);
                await stop();
                await loadModel(path);
              }}
            >
              Stop and switch
            </button>
          </span>
        </div>
      )}
      {load && (
        <div className="model-load" data-testid="model-load-progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(load.fraction * 100)}>
          <div className="bar">
            <div className="fill" style={{ width: `${Math.max(4, load.fraction * 100)}%` }} />
          </div>
          <span className="model-load-msg">{load.message || 'loading…'}</span>
        </div>
      )}
      {current && !load && (
        <div className="model-meta" title={current.path}>
          {current.nLayer} layers · {current.nEmbd} wide · {current.weightType} · ctx {current.nCtx}
          {current.weightBytes > 0 && ` · ${fmtBytes(current.weightBytes)}`}
        </div>
      )}
      <DeviceIndicator />
    </div>
  );
}

export function DeviceIndicator() {
  const current = useApp((s) => s.current);
  const [open, setOpen] = useState(false);
  if (!current) return null;
  const cuda = /cuda/i.test(current.backend);
  const detail = (current.deviceInfo || current.backend).replace(/^(cpu|cuda)\s*/i, '').replace(/^\((.*)\)$/, '$1');
  // The CPU is an ordinary place to run: a neutral chip, with the reason there is no GPU on a click.
  return (
    <div className={`device ${cuda ? 'gpu' : 'cpu'}`} data-testid="device-indicator">
      <button className="device-chip" data-testid="device-chip" aria-expanded={open} title="Where the model runs (click for details)" onClick={() => setOpen(!open)}>
        <span className="device-dot" />
        <span className="device-text">
          <strong>{cuda ? 'CUDA' : 'CPU'}</strong> {detail && <span className="dim">· {detail}</span>}
        </span>
        <Icon name="chevronDown" size={12} />
      </button>
      {open && (
        <div className="device-details" data-testid="device-details">
          {cuda ? (
            <>Runs on the GPU{current.deviceInfo ? ` (${current.deviceInfo})` : ''}.</>
          ) : (
            <>
              Runs on the CPU{detail ? ` (${detail})` : ''}. CLaSp works here too; the speed each reply reaches is measured and shown with it.
              {current.backendReason && <span className="device-reason"> No GPU is used: {current.backendReason}</span>}
            </>
          )}
        </div>
      )}
    </div>
  );
}
